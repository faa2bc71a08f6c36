import copy

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from . import engine


class FeeRule(models.Model):
    """A published fee standard (收费标准) as structured data. ``definition`` is the engine's
    rule format (see cms/fees/engine.py); it is validated on clean() and on save() so that a
    rule the engine cannot price never reaches the public calculator."""

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

    # -- the engine -----------------------------------------------------------------------
    @staticmethod
    def _invalid(exc: engine.InvalidRule) -> ValidationError:
        return ValidationError({"definition": f"{exc.message} / {exc.message_en}"},
                               code=exc.code)

    def clean(self) -> None:
        super().clean()
        try:
            engine.validate_definition(self.definition)
        except engine.InvalidRule as exc:
            raise self._invalid(exc) from exc

    def save(self, *args, **kwargs) -> None:
        try:
            compiled = engine.compile_rule(self.definition)
        except engine.InvalidRule as exc:
            raise self._invalid(exc) from exc
        super().save(*args, **kwargs)
        self.__dict__["_compiled"] = (copy.deepcopy(self.definition), compiled)

    @property
    def compiled(self) -> engine.Rule:
        """The validated engine ``Rule`` (compiled once per instance and definition)."""
        cached = self.__dict__.get("_compiled")
        if cached is not None and cached[0] == self.definition:
            return cached[1]
        rule = engine.compile_rule(self.definition)
        self.__dict__["_compiled"] = (copy.deepcopy(self.definition), rule)
        return rule

    # convenient read-only views for templates
    @property
    def method(self) -> str:
        return self.compiled.method

    @property
    def categories(self):
        return self.compiled.categories

    @property
    def coefficients(self):
        return self.compiled.coefficients
