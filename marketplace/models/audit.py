from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils.translation import gettext_lazy as _


class AppendOnlyError(Exception):
    """Raised on any attempt to change or remove an audit event."""


class AuditEventQuerySet(models.QuerySet):
    # Bulk paths bypass Model.save()/delete(), so they are closed here too. The database
    # trigger (migration 0004) closes raw SQL on PostgreSQL.
    def update(self, **kwargs):
        raise AppendOnlyError("audit events are append-only: update() is not allowed")

    def delete(self):
        raise AppendOnlyError("audit events are append-only: delete() is not allowed")

    _raw_delete = delete

    def bulk_update(self, objs, fields, batch_size=None):
        raise AppendOnlyError("audit events are append-only: bulk_update() is not allowed")

    def update_or_create(self, *args, **kwargs):
        raise AppendOnlyError("audit events are append-only: update_or_create() is not allowed")


class AuditEvent(models.Model):
    """One traceable step (全程留痕): who did what to which object, from which state to which,
    why, and from where. Written only through ``marketplace.audit.record``; never changed."""

    created_at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)
    # PROTECT: a user or organisation with a trail cannot be deleted (deactivate it instead),
    # and SET_NULL would be an UPDATE, which the trigger rejects anyway.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    organisation = models.ForeignKey(
        "marketplace.Organisation",
        verbose_name=_("organisation"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    content_type = models.ForeignKey(
        ContentType,
        verbose_name=_("object type"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    object_id = models.CharField(_("object id"), max_length=64, blank=True)
    object_repr = models.CharField(_("object"), max_length=200, blank=True)
    action = models.CharField(_("action"), max_length=64)
    from_state = models.CharField(_("from state"), max_length=64, blank=True)
    to_state = models.CharField(_("to state"), max_length=64, blank=True)
    reason = models.TextField(_("reason"), blank=True)
    data = models.JSONField(_("data"), default=dict, blank=True, encoder=DjangoJSONEncoder)
    request_id = models.CharField(_("request id"), max_length=64, blank=True)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ("-created_at", "-id")
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        indexes = (models.Index(fields=["content_type", "object_id", "created_at"]),)
        default_permissions = ("view",)

    def __str__(self) -> str:
        if self.to_state:
            return f"{self.object_repr}: {self.from_state} → {self.to_state}"
        return f"{self.object_repr}: {self.action}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError("audit events are append-only: an event cannot be changed")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("audit events are append-only: an event cannot be deleted")
