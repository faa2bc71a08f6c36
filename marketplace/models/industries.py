from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _


class Industry(models.Model):
    """An industry (行业) of the intermediary service catalog. Catalog category pages and
    regulators' scopes both point here, so "the same industry" is one row, not two spellings."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=40, unique=True)
    name_en = models.CharField(_("English name"), max_length=80, blank=True)
    sort_order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        ordering = ("sort_order", "code")
        verbose_name = _("industry")
        verbose_name_plural = _("industries")

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        if self.name_en and (get_language() or "").startswith("en"):
            return self.name_en
        return self.name
