from django.db import models
from django.utils.translation import gettext_lazy as _


class JobState(models.Model):
    """The chronograph's bookkeeping for one registered job, and its database lease: a worker
    runs the job only after atomically moving ``lease_until`` into the future, so several
    beats or workers never run the same job at once (no in-process lock)."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    last_run_at = models.DateTimeField(_("last run at"), null=True, blank=True)
    last_success_at = models.DateTimeField(_("last success at"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    lease_until = models.DateTimeField(_("leased until"), null=True, blank=True)
    run_count = models.PositiveIntegerField(_("runs"), default=0)
    failure_count = models.PositiveIntegerField(_("failures"), default=0)

    class Meta:
        ordering = ("name",)
        verbose_name = _("scheduled job")
        verbose_name_plural = _("scheduled jobs")

    def __str__(self) -> str:
        return self.name
