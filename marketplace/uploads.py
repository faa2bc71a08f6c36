"""Upload checks and private storage.

Files are judged by their content, not their name: the first bytes must be those of an allowed
format (a renamed executable is refused whatever its extension), the extension must agree with
the content, and the size is capped. Regulatory scans (licences, certificates, ID-related
proofs) are stored outside MEDIA_ROOT and served only through views that check permissions.
"""

from __future__ import annotations

import os

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import FileSystemStorage
from django.utils.deconstruct import deconstructible
from django.utils.translation import gettext_lazy as _

# format -> (magic prefixes, allowed extensions, content type)
FORMATS: dict[str, tuple[tuple[bytes, ...], tuple[str, ...], str]] = {
    "pdf": ((b"%PDF-",), (".pdf",), "application/pdf"),
    "png": ((b"\x89PNG\r\n\x1a\n",), (".png",), "image/png"),
    "jpeg": ((b"\xff\xd8\xff",), (".jpg", ".jpeg"), "image/jpeg"),
    # OFD (the Chinese fixed-layout standard, GB/T 33190) is a ZIP container.
    "ofd": ((b"PK\x03\x04",), (".ofd",), "application/ofd"),
}
SCAN_FORMATS = ("pdf", "png", "jpeg", "ofd")
DEFAULT_MAX_BYTES = 10 * 1024 * 1024


def sniff(head: bytes) -> str | None:
    for name, (magics, _exts, _ctype) in FORMATS.items():
        if any(head.startswith(m) for m in magics):
            return name
    return None


@deconstructible
class FileContentValidator:
    """Validates an uploaded file's real format (magic bytes), its extension and its size."""

    def __init__(self, formats=SCAN_FORMATS, max_bytes: int = DEFAULT_MAX_BYTES):
        self.formats = tuple(formats)
        self.max_bytes = max_bytes

    def __call__(self, file) -> None:
        size = getattr(file, "size", None)
        if size is not None and size > self.max_bytes:
            raise ValidationError(
                _("The file is too large (%(size)s MB); the limit is %(limit)s MB."),
                code="file_too_large",
                params={
                    "size": f"{size / 1024 / 1024:.1f}",
                    "limit": f"{self.max_bytes / 1024 / 1024:.0f}",
                },
            )
        if size == 0:
            raise ValidationError(_("The file is empty."), code="file_empty")
        position = file.tell() if hasattr(file, "tell") else None
        try:
            file.seek(0)
            head = file.read(16)
        finally:
            if position is not None:
                file.seek(position)
        if isinstance(head, str):
            head = head.encode("latin-1", "replace")
        kind = sniff(head)
        allowed = ", ".join(self.formats).upper()
        if kind is None or kind not in self.formats:
            raise ValidationError(
                _("This file is not an accepted format (%(allowed)s); its content was checked."),
                code="file_type",
                params={"allowed": allowed},
            )
        ext = os.path.splitext(getattr(file, "name", "") or "")[1].lower()
        if ext and ext not in FORMATS[kind][1]:
            raise ValidationError(
                _("The file's extension %(ext)s does not match its content (%(kind)s)."),
                code="file_extension_mismatch",
                params={"ext": ext, "kind": kind.upper()},
            )

    def __eq__(self, other):
        return (
            isinstance(other, FileContentValidator)
            and self.formats == other.formats
            and self.max_bytes == other.max_bytes
        )


validate_scan = FileContentValidator()


def private_storage():
    """Storage for confidential uploads, outside MEDIA_ROOT (never served by the web server).
    A callable, so tests and deployments can point PRIVATE_MEDIA_ROOT elsewhere."""
    return FileSystemStorage(location=settings.PRIVATE_MEDIA_ROOT, base_url=None)
