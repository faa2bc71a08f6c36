"""Websockets: the live draw room (直播抽取, public) and a signed-in user's notifications.

Both only listen: the room's events come from ``procurement.room`` (outbox → channel layer,
after commit) and notifications from ``marketplace.notifications``. A viewer first joins the
group, then gets the snapshot, so no event committed after the snapshot is missed (one
committed just before may arrive twice; applying an event is idempotent in the page)."""

from __future__ import annotations

import json

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.core.serializers.json import DjangoJSONEncoder

from marketplace.notifications import user_group
from procurement import room
from procurement.models import PUBLIC_STATUSES, Announcement

# Application close codes (4000–4999): the page stops reconnecting on these.
CLOSE_NOT_FOUND = 4404
CLOSE_UNAUTHENTICATED = 4401


def _public_announcement_id(code: str) -> int | None:
    return (
        Announcement.objects.filter(code=code, status__in=PUBLIC_STATUSES)
        .values_list("pk", flat=True)
        .first()
    )


def _snapshot(announcement_id: int) -> dict:
    return room.snapshot(Announcement.objects.get(pk=announcement_id))


class _JsonConsumer(AsyncJsonWebsocketConsumer):
    group: str | None = None

    @classmethod
    async def encode_json(cls, content) -> str:
        return json.dumps(content, cls=DjangoJSONEncoder, ensure_ascii=False)

    async def receive_json(self, content, **kwargs) -> None:
        """Viewers only listen; anything they send is ignored."""

    async def disconnect(self, code) -> None:
        if self.group is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)


class DrawRoomConsumer(_JsonConsumer):
    """ws/procurement/<code>/room/: anyone may watch a published announcement's room."""

    async def connect(self) -> None:
        code = self.scope["url_route"]["kwargs"]["code"]
        announcement_id = await database_sync_to_async(_public_announcement_id)(code)
        if announcement_id is None:  # unknown, or a draft: nothing of it is public
            await self.close(code=CLOSE_NOT_FOUND)
            return
        self.group = room.group_name(announcement_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        # Read after joining the group: an event committed from here on is delivered too.
        state = await database_sync_to_async(_snapshot)(announcement_id)
        await self.send_json({"type": "snapshot", **state})

    async def room_event(self, message: dict) -> None:
        await self.send_json(
            {
                "type": "event",
                "event": message["event"],
                "data": message.get("data") or {},
                "id": message.get("id"),
            }
        )


class NotificationConsumer(_JsonConsumer):
    """ws/notifications/: a signed-in user's new in-site messages (站内消息), pushed as they
    are delivered. Anonymous visitors are refused."""

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.group = user_group(user.pk)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def notification_push(self, message: dict) -> None:
        await self.send_json(
            {
                "type": "notification",
                "notification": message["notification"],
                "unread": message.get("unread"),
            }
        )
