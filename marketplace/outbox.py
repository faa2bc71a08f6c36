"""The transactional outbox. Side effects (notifications, e-mail, search indexing, websocket
events) are rows written in the business transaction; they are delivered after commit and
retried until they succeed, so a broker or worker outage delays them but never loses them and
never rolls back the business change.

    outbox.enqueue("search.index", {"model": "agency", "id": 7}, dedupe_key="index:agency:7:v3")

    @outbox.handler("search.index")
    def index(payload: dict, *, message: OutboxMessage) -> None: ...

Delivery is at-least-once, so **handlers must be idempotent**: a message can be handed over
again if the process dies between the handler and the commit. ``message.id`` (and
``message.dedupe_key`` when set) identify the message across redeliveries — key your own
writes on it. The handler runs inside the delivery transaction and in a savepoint: its database
writes commit together with "delivered" and are rolled back if it raises.

Paths to delivery:
  * ``enqueue`` registers ``transaction.on_commit`` to send the Celery task ``deliver_outbox``;
    if the broker is unreachable that kick is logged and dropped — the row stays pending;
  * the chronograph job ``outbox.sweep`` (every run of ``run_due_jobs``) delivers anything
    pending and due, so nothing depends on the kick arriving.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from marketplace import chronograph
from marketplace.models import OutboxMessage, OutboxStatus

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
BACKOFF_BASE_SECONDS = 30
BACKOFF_CAP_SECONDS = 3600
SWEEP_BATCH = 200

Handler = Callable[..., Any]
_handlers: dict[str, Handler] = {}


def handler(topic: str) -> Callable[[Handler], Handler]:
    """Registers the consumer of a topic: ``fn(payload: dict, *, message: OutboxMessage)``."""

    def register(fn: Handler) -> Handler:
        existing = _handlers.get(topic)
        # Re-registering the same function (a module reloaded) is fine; a second consumer is not.
        if existing is not None and _qualname(existing) != _qualname(fn):
            raise ValueError(f"outbox topic {topic!r} already has a handler: {existing!r}")
        _handlers[topic] = fn
        return fn

    return register


def _qualname(fn) -> str:
    return f"{fn.__module__}.{fn.__qualname__}"


def get_handler(topic: str) -> Handler | None:
    return _handlers.get(topic)


def enqueue(topic: str, payload: dict, *, dedupe_key: str | None = None) -> OutboxMessage:
    """Records a side effect in the caller's transaction. With a ``dedupe_key`` already used,
    the existing message is returned and nothing new is queued."""
    if dedupe_key is not None:
        existing = OutboxMessage.objects.filter(dedupe_key=dedupe_key).first()
        if existing is not None:
            return existing
        try:
            # A savepoint, so that losing the race does not poison the caller's transaction.
            with transaction.atomic():
                message = OutboxMessage.objects.create(
                    topic=topic, payload=payload, dedupe_key=dedupe_key
                )
        except IntegrityError:
            return OutboxMessage.objects.get(dedupe_key=dedupe_key)
    else:
        message = OutboxMessage.objects.create(topic=topic, payload=payload)
    message_id = message.pk
    transaction.on_commit(lambda: kick(message_id))
    return message


def kick(message_id: int) -> None:
    """Asks a Celery worker to deliver now. Failing here is fine: the sweep will deliver."""
    from marketplace.tasks import deliver_outbox

    try:
        # With the broker down, fail at once instead of blocking the committing request:
        # no publish retries, and a connection that does not retry connecting (the pooled
        # default one retries for seconds). The connection is lazy: in eager mode (the demo)
        # it is never opened.
        with deliver_outbox.app.connection_for_write(
            transport_options={"max_retries": 0}
        ) as connection:
            deliver_outbox.apply_async(args=[message_id], retry=False, connection=connection)
    except Exception:  # any broker failure; the row stays pending
        logger.warning(
            "outbox: could not kick delivery of message %s; the sweep will deliver it",
            message_id,
            exc_info=True,
        )


def backoff(attempts: int) -> timedelta:
    """Delay before attempt ``attempts + 1``: 30 s × 2^(attempts-1), capped at one hour, with
    "equal jitter" (half fixed, half random) so failed messages don't retry in lockstep."""
    base = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(attempts - 1, 0))
    return timedelta(seconds=base / 2 + random.uniform(0, base / 2))


def deliver(message_id: int, *, now=None) -> bool:
    """Delivers one message if it is pending and due and no one else holds it. Returns whether
    the handler ran successfully. Safe to call concurrently and repeatedly."""
    now = now or timezone.now()
    with transaction.atomic():
        message = (
            OutboxMessage.objects.select_for_update(skip_locked=True)
            .filter(pk=message_id, status=OutboxStatus.PENDING, next_attempt_at__lte=now)
            .first()
        )
        if message is None:
            return False  # delivered, dead, not due, or being delivered by another worker
        fn = _handlers.get(message.topic)
        try:
            if fn is None:
                raise LookupError(f"no outbox handler registered for topic {message.topic!r}")
            with transaction.atomic():
                fn(message.payload, message=message)
        except Exception as exc:  # noqa: BLE001 - a handler's failure is recorded, not raised
            _record_failure(message, exc, now)
            return False
        message.status = OutboxStatus.DELIVERED
        message.delivered_at = timezone.now()
        message.attempts += 1
        message.last_error = ""
        message.save(update_fields=["status", "delivered_at", "attempts", "last_error"])
        return True


def _record_failure(message: OutboxMessage, exc: Exception, now) -> None:
    message.attempts += 1
    message.last_error = f"{type(exc).__name__}: {exc}"[:4000]
    if message.attempts >= MAX_ATTEMPTS:
        message.status = OutboxStatus.DEAD
        logger.error(
            "outbox: message %s (%s) is DEAD after %s attempts; last error: %s",
            message.pk,
            message.topic,
            message.attempts,
            message.last_error,
            exc_info=exc,
        )
    else:
        message.next_attempt_at = now + backoff(message.attempts)
        logger.warning(
            "outbox: message %s (%s) failed attempt %s, retrying at %s: %s",
            message.pk,
            message.topic,
            message.attempts,
            message.next_attempt_at.isoformat(),
            message.last_error,
        )
    message.save(update_fields=["attempts", "last_error", "status", "next_attempt_at"])


def sweep(*, now=None, limit: int = SWEEP_BATCH) -> int:
    """Delivers pending, due messages (oldest due first); returns how many were delivered.
    Each message is delivered in its own transaction, so one failure doesn't hold the rest."""
    now = now or timezone.now()
    due_ids = list(
        OutboxMessage.objects.filter(status=OutboxStatus.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at", "id")
        .values_list("id", flat=True)[:limit]
    )
    return sum(1 for message_id in due_ids if deliver(message_id, now=now))


@chronograph.job("outbox.sweep", every=timedelta(seconds=0))
def sweep_job(now) -> int:
    # every=0: the sweep is cheap when there is nothing to do, so it runs on every tick.
    return sweep(now=now)
