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
