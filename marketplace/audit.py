"""The audit trail (电子监察：全程留痕、可追溯). Every write that matters calls ``record`` once, in
the same transaction as the change, so the trail and the change commit or roll back together.

State machines need no explicit call: ``on_fsm_transition`` (connected to django-fsm's
``post_transition`` in ``MarketplaceConfig.ready``) records exactly one event per transition.
Pass the actor, reason and data as keyword arguments of the transition method::

    @transition(field=state, source=State.SUBMITTED, target=State.APPROVED)
    def approve(self, *, by, reason="", data=None): ...

    enrolment.approve(by=request.user, reason="材料齐全")   # inside the service's atomic()
    enrolment.save()

A model can say which organisation its events belong to by defining
``get_audit_organisation()``.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models

from marketplace.middleware import current_request_context
from marketplace.models import AuditEvent

logger = logging.getLogger(__name__)
_buffer = threading.local()
BULK_BATCH = 2000


@contextlib.contextmanager
def bulk():
    """Buffers the events recorded inside the block and inserts them in batches at its end:
    for the transitions of thousands of rows at once (freezing a draw's pool). Same events,
    same transaction; one INSERT per 2,000 instead of one each. Nested blocks join the
    outer one."""
    if getattr(_buffer, "events", None) is not None:
        yield
        return
    _buffer.events = []
    try:
        yield
        events = _buffer.events
    finally:
        _buffer.events = None
    AuditEvent.objects.bulk_create(events, batch_size=BULK_BATCH)


def _real_user(user):
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return user


def record(
    *,
    actor,
    action: str,
    obj: models.Model | None = None,
    organisation=None,
    from_state: str = "",
    to_state: str = "",
    reason: str = "",
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """Appends one audit event. ``actor`` is the acting user, or None for the system (the
    chronograph, a management command). Request id and client IP come from the current request
    context, when there is one."""
    context = current_request_context()
    if organisation is None and obj is not None:
        getter = getattr(obj, "get_audit_organisation", None)
        if callable(getter):
            organisation = getter()
    content_type = None
    object_id = ""
    object_repr = ""
    if obj is not None:
        content_type = ContentType.objects.get_for_model(obj, for_concrete_model=False)
        object_id = "" if obj.pk is None else str(obj.pk)
        object_repr = str(obj)[:200]
    event = AuditEvent(
        actor=_real_user(actor),
        organisation=organisation,
        content_type=content_type,
        object_id=object_id,
        object_repr=object_repr,
        action=action[:64],
        from_state="" if from_state is None else str(from_state)[:64],
        to_state="" if to_state is None else str(to_state)[:64],
        reason=reason or "",
        data=data or {},
        request_id=context.get("request_id") or "",
        ip=context.get("ip") or None,
    )
    buffered = getattr(_buffer, "events", None)
    if buffered is not None:
        buffered.append(event)
        return event
    event.save()
    return event


def record_transition(
    instance: models.Model,
    *,
    actor,
    transition_name: str,
    from_state,
    to_state,
    reason: str = "",
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """The event of one state-machine transition; ``action`` is the transition's name."""
    return record(
        actor=actor,
        action=transition_name,
        obj=instance,
        from_state=from_state,
        to_state=to_state,
        reason=reason,
        data={"transition": transition_name, **(data or {})},
    )


def on_fsm_transition(sender, instance, name, source, target, **kwargs) -> None:
    """django-fsm ``post_transition`` receiver: one audit event per transition, actor and
    reason taken from the transition call's ``by=``/``reason=``/``data=`` keyword arguments.
    A transition that failed into its ``on_error`` state is recorded with the exception."""
    method_kwargs = kwargs.get("method_kwargs") or {}
    data = dict(method_kwargs.get("data") or {})
    exception = kwargs.get("exception")
    if exception is not None:
        data["exception"] = f"{type(exception).__name__}: {exception}"
    if instance.pk is None:
        # The event would point at no object; services must save before transitioning.
        logger.warning("audit: transition %s on an unsaved %s", name, sender.__name__)
    record_transition(
        instance,
        actor=method_kwargs.get("by"),
        transition_name=name,
        from_state=source,
        to_state=target,
        reason=method_kwargs.get("reason") or "",
        data=data,
    )
