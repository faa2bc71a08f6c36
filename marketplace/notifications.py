"""Notifications to users: an in-site message (``Notification``) and, on request, an e-mail.
Both go through the outbox, so they are sent only if the business change commits, and are
retried if delivery fails."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction

from marketplace import outbox
from marketplace.models import Notification, OutboxMessage, User

logger = logging.getLogger(__name__)

NOTIFY_TOPIC = "notify"
EMAIL_TOPIC = "email.send"


def user_group(user_id: int) -> str:
    """The channel-layer group of one user's open pages (procurement.consumers)."""
    return f"user-{user_id}"


def notify(
    *,
    recipient: User,
    title: str,
    body: str = "",
    verb: str = "",
    url: str = "",
    organisation=None,
    email: bool = False,
    dedupe_key: str | None = None,
) -> OutboxMessage:
    """Queues a notification in the caller's transaction. Pass already-translated text (the
    recipient's language is not known at delivery time). ``email=True`` also sends it by
    e-mail to the recipient's address."""
    return outbox.enqueue(
        NOTIFY_TOPIC,
        {
            "recipient_id": recipient.pk,
            "organisation_id": getattr(organisation, "pk", None),
            "verb": verb,
            "title": str(title),
            "body": str(body),
            "url": url,
            "email": bool(email),
        },
        dedupe_key=dedupe_key,
    )


@outbox.handler(NOTIFY_TOPIC)
def deliver_notification(payload: dict, *, message: OutboxMessage) -> None:
    # Keyed on the message id: a redelivery finds the row it created the first time.
    notification, created = Notification.objects.get_or_create(
        source_message_id=message.pk,
        defaults={
            "recipient_id": payload["recipient_id"],
            "organisation_id": payload.get("organisation_id"),
            "verb": payload.get("verb", ""),
            "title": payload["title"][:200],
            "body": payload.get("body", ""),
            "url": payload.get("url", ""),
        },
    )
    if created:
        # Pushed only once the row is committed (and never if this delivery rolls back).
        transaction.on_commit(lambda: push_notification(notification))
    if payload.get("email"):
        address = notification.recipient.email
        if address:
            body = payload.get("body", "")
            if payload.get("url"):
                body = f"{body}\n\n{payload['url']}".strip()
            outbox.enqueue(
                EMAIL_TOPIC,
                {"to": [address], "subject": payload["title"], "body": body},
                dedupe_key=f"notify-email:{message.pk}",
            )


def push_notification(notification: Notification) -> bool:
    """Sends a committed notification to its recipient's open pages over the channel layer.
    Best effort: the row is durable and is listed on the next page, so a layer that is down
    is logged, not retried. Returns whether it was handed to the layer."""
    try:
        from asgiref.sync import async_to_sync
        from channels.layers import get_channel_layer

        layer = get_channel_layer()
        if layer is None:
            return False
        unread = Notification.objects.filter(
            recipient_id=notification.recipient_id, read_at__isnull=True
        ).count()
        async_to_sync(layer.group_send)(
            user_group(notification.recipient_id),
            {
                "type": "notification.push",
                "notification": {
                    "id": notification.pk,
                    "verb": notification.verb,
                    "title": notification.title,
                    "body": notification.body,
                    "url": notification.url,
                    "created_at": notification.created_at.isoformat(),
                },
                "unread": unread,
            },
        )
    except Exception:  # best effort: the notification itself is saved
        logger.warning(
            "notifications: could not push notification %s to user %s",
            notification.pk,
            notification.recipient_id,
            exc_info=True,
        )
        return False
    return True


@outbox.handler(EMAIL_TOPIC)
def deliver_email(payload: dict, *, message: OutboxMessage) -> None:
    """Sends one e-mail. At-least-once: if the process dies after the SMTP server accepted
    the mail but before the commit, the mail is sent again — the usual outbox trade-off."""
    send_mail(
        subject=payload["subject"],
        message=payload.get("body", ""),
        from_email=payload.get("from") or settings.DEFAULT_FROM_EMAIL,
        recipient_list=payload["to"],
        fail_silently=False,
    )


def notification_mark_read(*, notification: Notification, user: User) -> Notification:
    from django.utils import timezone

    from marketplace.permissions import require_perm

    require_perm(user, "mark_read", notification)
    if notification.read_at is None:
        Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(
            read_at=timezone.now()
        )
        notification.refresh_from_db(fields=["read_at"])
    return notification
