"""The live draw room (直播抽取): events for the public watching an announcement's draw.

Services call ``emit`` inside their transaction; the event is an outbox message, so it reaches
the websocket group only after the transaction commits (and is retried, never lost). Viewers
joining late get ``snapshot`` (the current state, from the database) before any event.

Events, in order: ``published`` (the commitment), ``pool_frozen`` (pool size and hash),
``secret_revealed`` (secret, beacon, seed), ``ranking`` (each agency's rank), ``result``
(selected and alternates), then ``promoted``, ``publicity``, ``awarded``, ``failed``,
``suspended`` as they happen.
"""

from __future__ import annotations

import logging

from marketplace import outbox

logger = logging.getLogger(__name__)

ROOM_TOPIC = "procurement.room"


def group_name(announcement_id: int) -> str:
    return f"draw-room-{announcement_id}"


def emit(announcement, event: str, data: dict | None = None) -> None:
    outbox.enqueue(
        ROOM_TOPIC,
        {"announcement": announcement.pk, "event": event, "data": data or {}},
    )


@outbox.handler(ROOM_TOPIC)
def deliver_room_event(payload: dict, *, message) -> None:
    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    if layer is None:
        return
    async_to_sync(layer.group_send)(
        group_name(payload["announcement"]),
        {
            "type": "room.event",
            "event": payload["event"],
            "data": payload.get("data") or {},
            "id": message.pk,
        },
    )


# --- the state of the room, for a viewer who joins late or reconnects --------------------

RANKING_SHOWN = 50


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def _entry(registration) -> dict:
    return {
        "id": registration.agency_id,
        "name": registration.agency.organisation.name,
        "uscc": registration.agency.organisation.uscc,
        "position": registration.position,
        "status": registration.status,
    }


def _promotions(registrations: dict) -> list[dict]:
    """候补递补 so far, in order: each promotion is the alternate's ``select`` transition with
    ``data.replaces`` (see services._promote_next), read back from the audit trail."""
    from django.contrib.contenttypes.models import ContentType

    from marketplace.models import AuditEvent
    from procurement.models import Registration

    by_pk = {r.pk: r for r in registrations.values()}
    if not by_pk:
        return []
    events = (
        AuditEvent.objects.filter(
            content_type=ContentType.objects.get_for_model(Registration),
            object_id__in=[str(pk) for pk in by_pk],
            action="select",
            data__has_key="replaces",
        )
        .order_by("created_at", "id")
        .values_list("object_id", "data")
    )
    promotions = []
    for object_id, data in events:
        promoted = by_pk.get(int(object_id))
        declined = registrations.get(data.get("replaces"))
        if promoted is None:
            continue
        promotions.append(
            {
                "declined": {
                    "id": data.get("replaces"),
                    "name": declined.agency.organisation.name if declined else "",
                },
                "promoted": {
                    "id": promoted.agency_id,
                    "name": promoted.agency.organisation.name,
                    "position": promoted.position,
                },
            }
        )
    return promotions


def snapshot(announcement) -> dict:
    """The room's current state, read from the database, JSON-ready (ISO datetimes): what a
    viewer joining late (or reconnecting) is sent before any event, and what the room page
    renders server-side. The secret appears only once the draw is made (from the Draw row's
    record, never from the announcement); nothing of a draft is public, so callers refuse
    drafts before asking."""
    from procurement.models import (
        AnnouncementStatus,
        Draw,
        Registration,
        RegistrationStatus,
    )

    status = announcement.status
    draw_row = Draw.objects.filter(announcement_id=announcement.pk).first()
    record = draw_row.record if draw_row is not None else None

    # Only the placed registrations shown (the top of the ranking, the selected and the
    # alternates): a fixed number of rows, however large the pool.
    shown = max(RANKING_SHOWN, announcement.selected_count + announcement.alternate_count)
    registrations = {
        r.agency_id: r
        for r in Registration.objects.filter(
            announcement_id=announcement.pk, position__isnull=False, position__lte=shown
        )
        .select_related("agency__organisation")
        .order_by("position", "id")
    }
    pool = None
    if announcement.pool_hash and status not in (
        AnnouncementStatus.DRAFT,
        AnnouncementStatus.PUBLISHED,
    ):
        if draw_row is not None:
            size = draw_row.pool_size
        else:
            size = (
                Registration.objects.filter(announcement_id=announcement.pk)
                .exclude(status__in=(RegistrationStatus.SUBMITTED, RegistrationStatus.INELIGIBLE))
                .count()
            )
        pool = {
            "size": size,
            "hash": announcement.pool_hash,
            "registrants": Registration.objects.filter(announcement_id=announcement.pk).count(),
            "closed_at": _iso(announcement.closed_at),
        }

    drawn = None
    ranking: list[dict] = []
    result = None
    if record is not None:
        drawn = {
            "secret": record["secret"],
            "commitment": record["commitment"],
            "seed": record["seed"],
            "beacon": record.get("beacon") or {},
            "drawn_at": record.get("draw_time") or _iso(draw_row.created_at),
        }
        for position, item in enumerate(record["ranking"][:RANKING_SHOWN], start=1):
            registration = registrations.get(item["id"])
            ranking.append(
                {
                    "position": position,
                    "id": item["id"],
                    "uscc": item["uscc"],
                    "rank": item["rank"],
                    "name": registration.agency.organisation.name if registration else "",
                }
            )
        selected_ids, alternate_ids = record["selected"], record["alternates"]
    else:
        # 直接选取 (no draw): the one agency the owner named, at position 1.
        placed = list(registrations.values())
        selected_ids = [r.agency_id for r in placed if r.position <= announcement.selected_count]
        alternate_ids = [
            r.agency_id
            for r in placed
            if announcement.selected_count
            < r.position
            <= announcement.selected_count + announcement.alternate_count
        ]
    if selected_ids:
        result = {
            "selected": [_entry(registrations[i]) for i in selected_ids if i in registrations],
            "alternates": [_entry(registrations[i]) for i in alternate_ids if i in registrations],
        }

    reason = ""
    if status in (AnnouncementStatus.FAILED, AnnouncementStatus.CANCELLED):
        reason = announcement.status_reason
    return {
        "code": announcement.code,
        "title": announcement.title,
        "method": announcement.method,
        "status": status,
        "status_label": str(AnnouncementStatus(status).label),
        "reason": reason,
        "commitment": announcement.commitment,
        "draw_at": _iso(announcement.registration_deadline),
        "beacon": {"source": announcement.beacon_source, "round": announcement.beacon_round},
        "published_at": _iso(announcement.published_at),
        "selected_count": announcement.selected_count,
        "alternate_count": announcement.alternate_count,
        "pool": pool,
        "draw": drawn,
        "ranking": ranking,
        "result": result,
        "promotions": _promotions(registrations) if result else [],
        "publicity_ends_at": _iso(announcement.publicity_ends_at),
        "awarded_at": _iso(announcement.awarded_at),
    }
