"""What every privately stored upload keeps beside its file: the name it came with, its size
and its SHA-256, so the file can be proven unchanged later (deliverables, complaint
evidence). Each concrete model declares its own ``file`` field: the upload path, the
validators and the size cap differ."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class StoredUpload(models.Model):
    original_name = models.CharField(_("file name"), max_length=200)
    size = models.PositiveBigIntegerField(_("size (bytes)"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)

    class Meta:
        abstract = True

    @staticmethod
    def facts_of(upload, default_name: str = "file") -> dict:
        """``original_name``, ``size`` and ``sha256`` of an uploaded file, for ``create``."""
        from marketplace.uploads import sha256_of

        return {
            "original_name": (getattr(upload, "name", "") or default_name)[-200:],
            "size": upload.size,
            "sha256": sha256_of(upload),
        }
