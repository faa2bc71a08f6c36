"""procurement.timeline.announcement_timeline: every audit event of an announcement, its
registrations, draw, objections and contracts, oldest first, in one query."""

from __future__ import annotations

import datetime

import pytest
from django.utils import translation

from marketplace import audit
from procurement import services
from procurement.models import Contract
from procurement.timeline import ACTIONS, announcement_timeline
from tests.procurement import public_scene
from tests.procurement.factories import make_announcement
from tests.procurement.public_scene import (
    DISMISSAL,
    EXCLUSION_REASON,
    SUSPENSION,
)

pytestmark = pytest.mark.django_db

# The module's scene (built once, see public_scene).
scene = public_scene.scene


def steps(timeline, model=None) -> list[str]:
    return [e.action for e in timeline if model is None or e.model == model]


def test_the_whole_story_in_order(scene):
    timeline = announcement_timeline(scene.done)
    times = [e.at for e in timeline]
    assert times == sorted(times)
    assert steps(timeline, "announcement") == [
        "announcement.create",
        "publish",
        "announcement.exclude",
        "close_registration",
        "start_selection",
        "select",
        "start_publicity",
        "suspend",
        "start_publicity",
    ]
    registration_actions = steps(timeline, "registration")
    assert registration_actions.count("registration.submit") == 5
    assert registration_actions.count("admit") == 4
    assert registration_actions.count("refuse") == 1
    assert registration_actions.count("select") == 1
    assert registration_actions.count("make_alternate") == 2
    assert registration_actions.count("not_select") == 1
    assert registration_actions.count("confirm") == 1
    assert steps(timeline, "objection") == ["objection.file", "dismiss"]


def test_entries_say_who_what_and_why_without_people(scene):
    timeline = announcement_timeline(scene.done)
    exclusion = next(e for e in timeline if e.action == "announcement.exclude")
    assert exclusion.reason == EXCLUSION_REASON
    assert exclusion.organisation == scene.world.owner.name
    assert not exclusion.by_system
    refused = next(e for e in timeline if e.action == "refuse")
    assert SUSPENSION in refused.reason
    assert refused.organisation == scene.ineligible.organisation.name
    assert refused.by_system  # the scheduler froze the pool
    assert (refused.from_state, refused.to_state) == ("submitted", "ineligible")
    dismissed = next(e for e in timeline if e.action == "dismiss")
    assert dismissed.reason == DISMISSAL
    closed = next(e for e in timeline if e.action == "close_registration")
    assert {k: v for k, _, v in closed.data}["pool_hash"] == scene.done.pool_hash
    published = next(e for e in timeline if e.action == "publish")
    assert {k: v for k, _, v in published.data}["commitment"] == scene.done.commitment
    # No field of an entry names the acting person.
    fields = set(type(published).__dataclass_fields__)
    assert not fields & {"actor", "user", "actor_name", "email"}


def test_other_announcements_events_are_not_included(scene):
    timeline = announcement_timeline(scene.open)
    assert steps(timeline) == ["announcement.create", "publish"]
    # An event of another object with the same id is not mixed in (ids are per table).
    audit.record(actor=None, action="unrelated", obj=scene.world.owner.organisation)
    assert steps(announcement_timeline(scene.open)) == ["announcement.create", "publish"]


def test_contracts_after_the_award_are_on_the_timeline(scene):
    now = scene.done.publicity_ends_at + datetime.timedelta(seconds=1)
    assert services.award_due(scene.done.pk, now=now) == "awarded"
    contract = Contract.objects.get(announcement=scene.done)
    timeline = announcement_timeline(scene.done)
    assert steps(timeline)[-2:] == ["award", "contract.create"]
    entry = timeline[-1]
    with translation.override("en"):
        assert str(ACTIONS[(entry.model, entry.action)]) == "Contract draft created"
    assert entry.organisation == scene.world.owner.name
    assert entry.model == "contract" and entry.to_state == contract.status


def test_one_query_whatever_the_number_of_events(scene, django_assert_num_queries):
    with django_assert_num_queries(1):
        small = announcement_timeline(scene.open)
    with django_assert_num_queries(1):
        large = announcement_timeline(scene.done)
    assert len(small) == 2 and len(large) > 20


def test_a_fresh_announcement_has_its_creation_and_publication(scene):
    announcement = make_announcement(scene.world, title="时间轴测试公告")
    timeline = announcement_timeline(announcement)
    assert [e.to_state for e in timeline] == ["draft", "published"]
    assert [e.from_state for e in timeline] == ["", "draft"]
