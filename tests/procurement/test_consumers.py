"""The websockets (procurement.consumers) through the whole ASGI stack of marketplace.asgi
(origin check, sessions, routing) with the test settings' Redis channel layer: the live draw
room and the push of in-site notifications.

Transactional tests: the consumers read the database from other threads
(database_sync_to_async), which would not see a test transaction's uncommitted rows. The
events go the production way: a service's transaction writes outbox rows, and
``outbox.sweep()`` (what the scheduler runs) delivers them to the channel layer."""

from __future__ import annotations

import logging

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.db import transaction

from marketplace import notifications, outbox
from marketplace.asgi import application
from marketplace.models import Notification, OutboxMessage, OutboxStatus
from procurement import room, services
from procurement.models import AnnouncementStatus
from tests.marketplace.factories import UserFactory
from tests.procurement.factories import (
    close_and_draw,
    draft,
    make_announcement,
    make_world,
    pass_deadline,
    register_all,
)

ORIGIN = [(b"origin", b"http://127.0.0.1")]
TIMEOUT = 5

transactional = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture(autouse=True)
def _empty_channel_layer():
    async_to_sync(get_channel_layer().flush)()
    yield
    async_to_sync(get_channel_layer().flush)()


def room_socket(code: str, headers=ORIGIN) -> WebsocketCommunicator:
    return WebsocketCommunicator(application, f"/ws/procurement/{code}/room/", headers=headers)


def notification_socket(cookies: str = "") -> WebsocketCommunicator:
    headers = list(ORIGIN)
    if cookies:
        headers.append((b"cookie", cookies.encode()))
    return WebsocketCommunicator(application, "/ws/notifications/", headers=headers)


def session_cookie(user) -> str:
    from django.test import Client

    client = Client()
    client.force_login(user)
    return "; ".join(f"{name}={morsel.value}" for name, morsel in client.cookies.items())


@pytest.fixture
def world():
    return make_world(agencies=4)


@pytest.fixture
def announcement(world):
    a = make_announcement(world)
    register_all(a, world.agencies)
    while outbox.sweep():  # what publication queued (and what that queued) is delivered
        pass
    return a


# --- the draw room -------------------------------------------------------------------------


@transactional
def test_a_late_joiner_gets_the_whole_draw_as_a_snapshot(world, announcement):
    close_and_draw(announcement)
    record = announcement.draw.record

    async def scenario():
        socket = room_socket(announcement.code)
        connected, _ = await socket.connect(timeout=TIMEOUT)
        assert connected
        state = await socket.receive_json_from(timeout=TIMEOUT)
        await socket.disconnect()
        return state

    state = async_to_sync(scenario)()
    assert state["type"] == "snapshot"
    assert state["status"] == AnnouncementStatus.SELECTED
    assert state["commitment"] == record["commitment"]
    assert state["pool"]["hash"] == record["pool_hash"]
    assert state["pool"]["size"] == 4
    assert state["draw"]["secret"] == record["secret"]
    assert [r["id"] for r in state["ranking"]] == [r["id"] for r in record["ranking"]]
    assert {r["name"] for r in state["ranking"]} == {a.organisation.name for a in world.agencies}
    assert [a["id"] for a in state["result"]["selected"]] == record["selected"]
    assert [a["id"] for a in state["result"]["alternates"]] == record["alternates"]


@transactional
def test_events_reach_the_room_only_after_their_transaction_commits(announcement):
    async def scenario():
        socket = room_socket(announcement.code)
        assert (await socket.connect(timeout=TIMEOUT))[0]
        state = await socket.receive_json_from(timeout=TIMEOUT)
        assert state["status"] == AnnouncementStatus.PUBLISHED
        assert state["pool"] is None and state["draw"] is None

        # An event of a transaction that rolls back is never delivered.
        def rolled_back():
            with pytest.raises(RuntimeError), transaction.atomic():
                room.emit(announcement, "suspended", {"reason": "never"})
                raise RuntimeError("the business change fails")
            return outbox.sweep()

        assert await sync_to_async(rolled_back)() == 0
        assert await socket.receive_nothing(timeout=0.5)

        # The freeze commits; its event waits in the outbox (no worker in tests) …
        now = await sync_to_async(pass_deadline)(announcement)
        assert await sync_to_async(services.close_registration)(announcement.pk, now=now)
        assert await socket.receive_nothing(timeout=0.5)
        # … until the sweep delivers it.
        assert await sync_to_async(outbox.sweep)() >= 1
        message = await socket.receive_json_from(timeout=TIMEOUT)
        await socket.disconnect()
        return message

    message = async_to_sync(scenario)()
    announcement.refresh_from_db()
    assert message["type"] == "event"
    assert message["event"] == "pool_frozen"
    assert message["data"]["pool_hash"] == announcement.pool_hash
    assert message["data"]["pool_size"] == 4
    assert OutboxMessage.objects.get(pk=message["id"]).status == OutboxStatus.DELIVERED


@transactional
def test_the_draw_arrives_stage_by_stage(announcement):
    async def scenario():
        socket = room_socket(announcement.code)
        assert (await socket.connect(timeout=TIMEOUT))[0]
        await socket.receive_json_from(timeout=TIMEOUT)
        await sync_to_async(close_and_draw)(announcement)
        await sync_to_async(outbox.sweep)()
        events = []
        while not await socket.receive_nothing(timeout=0.5):
            events.append(await socket.receive_json_from(timeout=TIMEOUT))
        await socket.disconnect()
        return events

    events = async_to_sync(scenario)()
    names = [e["event"] for e in events]
    assert names == ["pool_frozen", "secret_revealed", "ranking", "result"]
    by_name = {e["event"]: e["data"] for e in events}
    record = announcement.draw.record
    assert by_name["secret_revealed"]["secret"] == record["secret"]
    assert [r["id"] for r in by_name["ranking"]["ranking"]] == [r["id"] for r in record["ranking"]]
    assert [a["id"] for a in by_name["result"]["selected"]] == record["selected"]
    ids = [e["id"] for e in events]
    assert ids == sorted(ids)


@transactional
def test_a_reconnecting_viewer_gets_the_current_state(announcement):
    async def scenario():
        first = room_socket(announcement.code)
        assert (await first.connect(timeout=TIMEOUT))[0]
        before = await first.receive_json_from(timeout=TIMEOUT)
        await first.disconnect()  # the viewer's network drops …
        await sync_to_async(close_and_draw)(announcement)  # … the draw runs meanwhile …
        await sync_to_async(outbox.sweep)()
        again = room_socket(announcement.code)  # … and the page reconnects
        assert (await again.connect(timeout=TIMEOUT))[0]
        after = await again.receive_json_from(timeout=TIMEOUT)
        assert await again.receive_nothing(timeout=0.5)  # delivered before it joined
        await again.disconnect()
        return before, after

    before, after = async_to_sync(scenario)()
    assert before["draw"] is None
    assert after["type"] == "snapshot"
    assert after["status"] == AnnouncementStatus.SELECTED
    assert after["draw"]["secret"] == announcement.draw.record["secret"]
    assert len(after["result"]["selected"]) == 1


@transactional
def test_a_draft_or_unknown_announcement_has_no_room(world):
    a = draft(world)

    async def scenario():
        results = []
        for code in (a.code, "ZJCS-1999-999999"):
            socket = room_socket(code)
            results.append(await socket.connect(timeout=TIMEOUT))
        return results

    assert async_to_sync(scenario)() == [(False, 4404), (False, 4404)]


@transactional
def test_a_socket_from_another_site_is_refused(announcement):
    async def scenario():
        socket = room_socket(announcement.code, headers=[(b"origin", b"http://evil.example")])
        return await socket.connect(timeout=TIMEOUT)

    connected, _ = async_to_sync(scenario)()
    assert not connected


# --- notifications -------------------------------------------------------------------------


@transactional
def test_a_notification_reaches_its_recipient_and_no_one_else():
    alice, bob = UserFactory(), UserFactory()
    alice_cookie, bob_cookie = session_cookie(alice), session_cookie(bob)

    async def scenario():
        mine, theirs = notification_socket(alice_cookie), notification_socket(bob_cookie)
        assert (await mine.connect(timeout=TIMEOUT))[0]
        assert (await theirs.connect(timeout=TIMEOUT))[0]

        def queue():
            with transaction.atomic():
                notifications.notify(
                    recipient=alice, title="您的机构已中选", body="请在48小时内确认", url="/x/"
                )

        await sync_to_async(queue)()
        assert await mine.receive_nothing(timeout=0.5)  # queued, not yet delivered
        assert await sync_to_async(outbox.sweep)() == 1
        pushed = await mine.receive_json_from(timeout=TIMEOUT)
        assert await theirs.receive_nothing(timeout=0.5)
        await mine.disconnect()
        await theirs.disconnect()
        return pushed

    pushed = async_to_sync(scenario)()
    row = Notification.objects.get(recipient=alice)
    assert pushed == {
        "type": "notification",
        "notification": {
            "id": row.pk,
            "verb": "",
            "title": "您的机构已中选",
            "body": "请在48小时内确认",
            "url": "/x/",
            "created_at": row.created_at.isoformat(),
        },
        "unread": 1,
    }


@transactional
def test_an_anonymous_notification_socket_is_closed():
    async def scenario():
        return await notification_socket().connect(timeout=TIMEOUT)

    assert async_to_sync(scenario)() == (False, 4401)


@pytest.mark.django_db
def test_a_failing_channel_layer_does_not_lose_the_notification(
    monkeypatch, caplog, django_capture_on_commit_callbacks
):
    user = UserFactory()

    class BrokenLayer:
        async def group_send(self, group, message):
            raise ConnectionError("redis is down")

    monkeypatch.setattr("channels.layers.get_channel_layer", lambda *a, **k: BrokenLayer())
    message = notifications.notify(recipient=user, title="t")
    with (
        caplog.at_level(logging.WARNING, logger="marketplace.notifications"),
        django_capture_on_commit_callbacks(execute=True) as callbacks,
    ):
        assert outbox.deliver(message.pk) is True
    assert callbacks, "the push waits for the delivery to commit"
    assert Notification.objects.filter(recipient=user, title="t").exists()
    message.refresh_from_db()
    assert message.status == OutboxStatus.DELIVERED
    assert "could not push notification" in caplog.text


@pytest.mark.django_db
def test_no_push_when_the_delivery_rolls_back(monkeypatch, django_capture_on_commit_callbacks):
    user = UserFactory()
    pushed = []
    monkeypatch.setattr(notifications, "push_notification", pushed.append)
    message = notifications.notify(recipient=user, title="t", email=True)
    monkeypatch.setattr(
        notifications.outbox, "enqueue", lambda *a, **k: (_ for _ in ()).throw(OSError("db"))
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert outbox.deliver(message.pk) is False  # the e-mail step fails: all rolled back
    assert pushed == []
    assert not Notification.objects.filter(recipient=user).exists()
