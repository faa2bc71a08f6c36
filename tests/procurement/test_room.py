"""The live draw room's state (procurement.room.snapshot), its outbox events and the public
page that renders it server-side (/procurement/<code>/room/)."""

from __future__ import annotations

import hashlib
import json
import re

import pytest
from django.db import transaction
from django.urls import reverse

from marketplace.models import OutboxMessage, OutboxStatus
from procurement import room, services
from procurement.models import AnnouncementStatus, Registration, RegistrationStatus
from tests.procurement.factories import (
    close_and_draw,
    draft,
    make_announcement,
    make_world,
    pass_deadline,
    register_all,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(base):
    return make_world(agencies=4, base=base)


@pytest.fixture
def announcement(world):
    a = make_announcement(world)
    register_all(a, world.agencies)
    return a


def room_messages(announcement) -> list[dict]:
    return [
        m.payload
        for m in OutboxMessage.objects.filter(topic=room.ROOM_TOPIC).order_by("id")
        if m.payload["announcement"] == announcement.pk
    ]


def test_before_the_deadline_only_the_commitment_is_public(announcement):
    state = room.snapshot(announcement)
    assert state["status"] == AnnouncementStatus.PUBLISHED
    assert len(state["commitment"]) == 64
    assert state["draw_at"] == announcement.registration_deadline.isoformat()
    assert state["pool"] is None
    assert state["draw"] is None
    assert state["ranking"] == [] and state["result"] is None
    # The secret exists from publication, but must not leak before the draw.
    assert announcement.secret and announcement.secret not in json.dumps(state)


def test_once_frozen_the_pool_size_and_hash_are_shown_but_not_the_secret(announcement):
    outcome = services.close_registration(announcement.pk, now=pass_deadline(announcement))
    assert outcome == "closed"
    announcement.refresh_from_db()
    state = room.snapshot(announcement)
    assert state["status"] == AnnouncementStatus.SELECTING
    assert state["pool"]["size"] == 4
    assert state["pool"]["registrants"] == 4
    assert state["pool"]["hash"] == announcement.pool_hash
    assert state["draw"] is None
    assert announcement.secret not in json.dumps(state)


def test_after_the_draw_the_snapshot_has_everything_to_follow_it(world, announcement):
    assert close_and_draw(announcement) == "selected"
    state = room.snapshot(announcement)
    record = announcement.draw.record

    assert state["draw"]["secret"] == record["secret"] == announcement.secret
    assert hashlib.sha256(bytes.fromhex(state["draw"]["secret"])).hexdigest() == state["commitment"]
    assert state["draw"]["seed"] == record["seed"]
    assert [r["id"] for r in state["ranking"]] == [r["id"] for r in record["ranking"]]
    assert [r["position"] for r in state["ranking"]] == [1, 2, 3, 4]
    names = {a.pk: a.organisation.name for a in world.agencies}
    assert all(r["name"] == names[r["id"]] for r in state["ranking"])
    assert [a["id"] for a in state["result"]["selected"]] == record["selected"]
    assert [a["id"] for a in state["result"]["alternates"]] == record["alternates"]
    assert state["result"]["selected"][0]["status"] == RegistrationStatus.SELECTED
    assert state["promotions"] == []
    json.dumps(state)  # JSON-ready as it is (it goes straight to the websocket)


def test_the_ranking_is_cut_at_fifty(monkeypatch, announcement):
    monkeypatch.setattr(room, "RANKING_SHOWN", 2)
    close_and_draw(announcement)
    state = room.snapshot(announcement)
    assert [r["position"] for r in state["ranking"]] == [1, 2]
    assert state["pool"]["size"] == 4


def test_a_promotion_shows_with_both_agencies(world, announcement):
    close_and_draw(announcement)
    first = Registration.objects.get(announcement=announcement, position=1)
    admin = next(a.admin_user for a in world.agencies if a.pk == first.agency_id)
    services.registration_decline(actor=admin, registration=first, reason="人手不足")
    state = room.snapshot(announcement)
    second = Registration.objects.get(announcement=announcement, position=2)
    assert state["promotions"] == [
        {
            "declined": {"id": first.agency_id, "name": first.agency.organisation.name},
            "promoted": {
                "id": second.agency_id,
                "name": second.agency.organisation.name,
                "position": 2,
            },
        }
    ]
    by_id = {a["id"]: a for a in state["result"]["selected"] + state["result"]["alternates"]}
    assert by_id[first.agency_id]["status"] == RegistrationStatus.DECLINED
    assert by_id[second.agency_id]["status"] == RegistrationStatus.SELECTED


def test_a_failed_announcement_states_why(world):
    a = make_announcement(world)
    register_all(a, world.agencies[:1])
    assert close_and_draw(a) == "failed"
    state = room.snapshot(a)
    assert state["status"] == AnnouncementStatus.FAILED
    assert "流标" in state["reason"]
    assert state["pool"]["size"] == 1
    assert state["draw"] is None and state["result"] is None


def test_the_draw_emits_the_stages_in_order(announcement):
    close_and_draw(announcement)
    events = [p["event"] for p in room_messages(announcement)]
    assert events == ["published", "pool_frozen", "secret_revealed", "ranking", "result"]
    ranking = room_messages(announcement)[3]["data"]["ranking"]
    assert ranking[0]["name"] and ranking[0]["position"] == 1


def test_an_event_of_a_rolled_back_transaction_is_never_queued(announcement):
    before = OutboxMessage.objects.filter(topic=room.ROOM_TOPIC).count()
    with pytest.raises(RuntimeError), transaction.atomic():
        room.emit(announcement, "suspended", {"reason": "x"})
        raise RuntimeError("the business change fails")
    assert OutboxMessage.objects.filter(topic=room.ROOM_TOPIC).count() == before


def test_delivery_without_a_channel_layer_is_a_no_op(settings, announcement):
    settings.CHANNEL_LAYERS = {}
    message = room.emit(announcement, "suspended", {}) or OutboxMessage.objects.last()
    from marketplace import outbox

    assert outbox.deliver(message.pk) is True
    message.refresh_from_db()
    assert message.status == OutboxStatus.DELIVERED


# --- the page ------------------------------------------------------------------------------


def test_the_page_renders_the_draw_without_javascript(client, world, announcement):
    close_and_draw(announcement)
    response = client.get(reverse("procurement:room", args=[announcement.code]))
    assert response.status_code == 200
    html = response.content.decode()
    record = announcement.draw.record
    assert announcement.pool_hash in html
    assert record["secret"] in html and record["seed"] in html
    for agency in world.agencies:
        assert agency.organisation.name in html
    assert f'data-ws-path="/ws/procurement/{announcement.code}/room/"' in html
    # The state for the script is data, not code: the CSP (script-src 'self') allows no inline
    # script, so every <script> either loads a file or is application/json.
    for tag in re.findall(r"<script\b[^>]*>", html):
        assert "src=" in tag or 'type="application/json"' in tag, tag
    assert "procurement/room.js" in html
    assert " on" not in "".join(re.findall(r"<[a-z]+\s[^>]*\bon[a-z]+=", html))


def test_the_page_before_the_draw_keeps_the_secret(client, announcement):
    response = client.get(reverse("procurement:room", args=[announcement.code]))
    assert response.status_code == 200
    html = response.content.decode()
    assert announcement.commitment in html
    assert announcement.secret not in html


def test_a_draft_has_no_room(client, world):
    a = draft(world)
    assert client.get(reverse("procurement:room", args=[a.code])).status_code == 404
    assert client.get(reverse("procurement:room", args=["ZJCS-1999-999999"])).status_code == 404
