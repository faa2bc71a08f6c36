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


class QualificationType(models.Model):
    """A kind of qualification (资质) an agency can hold, from the maintained list per industry.
    ``levels`` is ordered from the highest to the lowest (e.g. ["甲级", "乙级"]); an empty list
    means the type has no grades (a registration or filing: holding it is enough)."""

    code = models.SlugField(_("code"), max_length=60, unique=True)
    name = models.CharField(_("name"), max_length=120, unique=True)
    industry = models.ForeignKey(
        Industry, verbose_name=_("industry"), on_delete=models.PROTECT, related_name="+"
    )
    levels = models.JSONField(_("levels, highest first"), default=list, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ("industry__sort_order", "code")
        verbose_name = _("qualification type")
        verbose_name_plural = _("qualification types")

    def __str__(self) -> str:
        return self.name

    def meets(self, level: str, minimum: str) -> bool:
        """Whether a certificate of ``level`` satisfies a requirement of ``minimum``. An
        ungraded type, or no minimum, is met by any certificate of the type."""
        if not self.levels or not minimum:
            return True
        if level not in self.levels or minimum not in self.levels:
            return False
        return self.levels.index(level) <= self.levels.index(minimum)
