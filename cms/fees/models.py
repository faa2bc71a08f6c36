from django.db import models
from django.utils.translation import gettext_lazy as _


class FeeRule(models.Model):
    """A published fee standard (收费标准) as structured data. ``definition`` is the engine's
    rule format (see cms/fees/engine.py); it is validated on save so that a rule the engine
    cannot price never reaches the public calculator."""

    code = models.SlugField(_("code"), max_length=60, unique=True)
    name = models.CharField(_("name"), max_length=200)
    basis = models.CharField(
        _("fee basis (收费依据)"),
        max_length=300,
        help_text=_("The document that sets the standard, with its number."),
    )
    source_note = models.TextField(_("source note"), blank=True)
    illustrative = models.BooleanField(
        _("illustrative"),
        default=False,
        help_text=_("Demo data made up for illustration, not a published standard."),
    )
    definition = models.JSONField(_("rule definition"))
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ("code",)
        verbose_name = _("fee rule")
        verbose_name_plural = _("fee rules")

    def __str__(self) -> str:
        return self.name
