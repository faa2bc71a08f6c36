"""The agency's pages (procurement/views/agency.py) through the Django test client: the feed
with eligibility explained, registering (and every refusal), the registration page,
confirming and declining, objections, who may do what, and the feed's query count."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from procurement import services
from procurement.models import (
    Announcement,
    AnnouncementStatus,
    Objection,
    Registration,
    RegistrationStatus,
)
from tests.agencies.factories import AgencyFactory, make_regulator_user
from tests.marketplace.factories import UserFactory
from tests.procurement.factories import (
    close_and_draw,
    login,
    make_announcement,
    make_eligible_agency,
    make_world,
    register_all,
    text,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def admin_of(world, registration):
    return next(a for a in world.agencies if a.pk == registration.agency_id).admin_user


def drawn(world):
    """A random draw with the world's four agencies registered and drawn: one selected."""
    announcement = make_announcement(world)
    register_all(announcement, world.agencies)
    assert close_and_draw(announcement) == "selected"
    selected = announcement.registrations.get(status=RegistrationStatus.SELECTED)
    return announcement, selected


def in_publicity(world):
    announcement, selected = drawn(world)
    services.registration_confirm(actor=admin_of(world, selected), registration=selected)
    announcement.refresh_from_db()
    assert announcement.status == AnnouncementStatus.PUBLICITY
    loser = announcement.registrations.exclude(pk=selected.pk).first()
    return announcement, selected, loser


# --- the feed --------------------------------------------------------------------------------


def test_feed_shows_matching_announcements_with_eligibility(base, client):
    world = make_world(agencies=1, base=base)
    open_one = make_announcement(world)
    graded = make_announcement(world, title="要求信用等级的公告", min_credit_grade="B")
    other_item = make_announcement(
        world, service_item=world.items["free"], title="其他事项公告", budget_ceiling=5000
    )
    login(client, world.agencies[0].admin_user)
    html = text(client.get(reverse("procurement:feed")))
    assert open_one.title in html and graded.title in html
    assert other_item.title not in html  # an item the agency did not declare
    assert "Your agency is eligible." in html
    assert "the agency is not rated yet" in html  # why the graded one is not open to it
    assert reverse("procurement:register", args=[open_one.code]) in html


def test_feed_is_only_for_agency_members(base, client):
    world = make_world(agencies=0, base=base)
    for user in (world.owner.admin_user, UserFactory(), make_regulator_user()):
        login(client, user)
        assert client.get(reverse("procurement:feed")).status_code == 404


def test_feed_query_count(base, client, django_assert_num_queries):
    world = make_world(agencies=1, base=base)
    agency = world.agencies[0]
    first = make_announcement(world)
    services.registration_submit(actor=agency.admin_user, announcement=first, agency=agency)
    login(client, agency.admin_user)
    client.get(reverse("procurement:feed"))
    # 1 session, 2 user, 3 memberships, 4 the user's agency with organisation and region,
    # 5 its service regions, 6 count and 7 page of matching announcements; feed_eligibility:
    # 8 declared items, 9 certificates, 10 qualification types, 11 owners' members, 12 the
    # agency's members, 13 exclusions, 14 the sanctions in effect (ratings/enforcement.py);
    # 15 registrations for the page, 16 my registrations, 17 the header's unread-notification
    # count.
    with django_assert_num_queries(17):
        client.get(reverse("procurement:feed"))
    for n in range(3):
        make_announcement(world, title=f"更多公告{n}")
    with django_assert_num_queries(17):  # the same, whatever the number of announcements
        response = client.get(reverse("procurement:feed"))
    assert text(response).count("更多公告") == 3


# --- registering ---------------------------------------------------------------------------


def test_register_creates_the_registration(base, client):
    world = make_world(agencies=1, base=base)
    agency = world.agencies[0]
    announcement = make_announcement(world)
    login(client, agency.admin_user)
    response = client.post(reverse("procurement:register", args=[announcement.code]))
    registration = Registration.objects.get(announcement=announcement, agency=agency)
    assert response.url == reverse("procurement:registration", args=[registration.pk])
    html = text(client.get(response.url))
    assert "Registered. The draw follows when registration closes." in html
    assert "The agency offers" in html  # the eligibility checks table


def test_registering_twice_is_refused(base, client):
    world = make_world(agencies=1, base=base)
    agency = world.agencies[0]
    announcement = make_announcement(world)
    register_all(announcement, [agency])
    login(client, agency.admin_user)
    response = client.post(reverse("procurement:register", args=[announcement.code]), follow=True)
    assert "Your agency has already registered for this announcement." in text(response)
    assert Registration.objects.filter(announcement=announcement).count() == 1


def test_registering_after_the_deadline_is_refused(base, client):
    world = make_world(agencies=1, base=base)
    announcement = make_announcement(world)
    Announcement.objects.filter(pk=announcement.pk).update(
        registration_deadline=timezone.now() - datetime.timedelta(minutes=1)
    )
    login(client, world.agencies[0].admin_user)
    response = client.post(reverse("procurement:register", args=[announcement.code]), follow=True)
    assert "Registration closed at" in text(response)
    assert not Registration.objects.exists()


def test_registering_while_ineligible_shows_the_reason(base, client):
    world = make_world(agencies=1, base=base)
    agency = world.agencies[0]
    announcement = make_announcement(world)
    services.exclusion_add(
        actor=world.owner.admin_user, announcement=announcement, agency=agency, reason="股权关联"
    )
    login(client, agency.admin_user)
    response = client.post(reverse("procurement:register", args=[announcement.code]), follow=True)
    html = text(response)
    assert "Your agency is not eligible:" in html
    assert "Excluded by the project owner (回避): 股权关联" in html
    assert not Registration.objects.exists()


def test_register_needs_post_an_agency_and_a_public_announcement(base, client):
    world = make_world(agencies=1, base=base)
    announcement = make_announcement(world)
    url = reverse("procurement:register", args=[announcement.code])
    login(client, world.agencies[0].admin_user)
    assert client.get(url).status_code == 405
    assert client.post(reverse("procurement:register", args=["NO-SUCH"])).status_code == 404
    login(client, world.owner.admin_user)
    assert client.post(url).status_code == 404
    assert not Registration.objects.exists()


# --- the registration page, confirm and decline ----------------------------------------------


def test_registration_page_for_members_only(base, client):
    world = make_world(agencies=4, base=base)
    _announcement, selected = drawn(world)
    url = reverse("procurement:registration", args=[selected.pk])
    login(client, admin_of(world, selected))
    html = text(client.get(url))
    assert "selected, to confirm" in html
    assert reverse("procurement:confirm", args=[selected.pk]) in html
    assert reverse("procurement:decline", args=[selected.pk]) in html
    assert "Confirm by" in html
    other = next(a for a in world.agencies if a.pk != selected.agency_id)
    for user in (other.admin_user, UserFactory(), make_regulator_user()):
        login(client, user)
        assert client.get(url).status_code == 404


def test_confirm_starts_publicity(base, client):
    world = make_world(agencies=4, base=base)
    announcement, selected = drawn(world)
    login(client, admin_of(world, selected))
    response = client.post(reverse("procurement:confirm", args=[selected.pk]))
    assert response.status_code == 302
    selected.refresh_from_db()
    announcement.refresh_from_db()
    assert selected.status == RegistrationStatus.CONFIRMED
    assert announcement.status == AnnouncementStatus.PUBLICITY


def test_decline_promotes_the_alternate(base, client):
    world = make_world(agencies=4, base=base)
    announcement, selected = drawn(world)
    login(client, admin_of(world, selected))
    response = client.post(
        reverse("procurement:decline", args=[selected.pk]), {"reason": "人手不足"}
    )
    assert response.status_code == 302
    selected.refresh_from_db()
    assert selected.status == RegistrationStatus.DECLINED
    assert selected.status_reason == "人手不足"
    assert announcement.registrations.filter(status=RegistrationStatus.SELECTED).count() == 1


def test_confirm_or_decline_by_another_agency_is_refused(base, client):
    world = make_world(agencies=4, base=base)
    _announcement, selected = drawn(world)
    other = next(a for a in world.agencies if a.pk != selected.agency_id)
    login(client, other.admin_user)
    assert client.post(reverse("procurement:confirm", args=[selected.pk])).status_code == 404
    assert client.post(reverse("procurement:decline", args=[selected.pk])).status_code == 404
    login(client, world.owner.admin_user)  # the owner sees it, but may not answer for it
    assert client.post(reverse("procurement:confirm", args=[selected.pk])).status_code == 404
    selected.refresh_from_db()
    assert selected.status == RegistrationStatus.SELECTED
    assert client.get(reverse("procurement:confirm", args=[selected.pk])).status_code == 405


def test_confirm_when_not_selected_shows_why(base, client):
    world = make_world(agencies=4, base=base)
    announcement, _selected = drawn(world)
    alternate = announcement.registrations.filter(status=RegistrationStatus.ALTERNATE).first()
    login(client, admin_of(world, alternate))
    html = text(client.post(reverse("procurement:confirm", args=[alternate.pk]), follow=True))
    assert "Only a selected agency waiting to confirm can confirm." in html
    alternate.refresh_from_db()
    assert alternate.status == RegistrationStatus.ALTERNATE


# --- objections ------------------------------------------------------------------------------


def test_objection_during_publicity_suspends_the_award(base, client):
    world = make_world(agencies=4, base=base)
    announcement, _selected, loser = in_publicity(world)
    login(client, admin_of(world, loser))
    page = text(client.get(reverse("procurement:registration", args=[loser.pk])))
    assert reverse("procurement:objection_new", args=[loser.pk]) in page
    url = reverse("procurement:objection_new", args=[loser.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, {"reason": "太短"})
    assert response.status_code == 200
    assert "at least 10 characters" in text(response)
    assert not Objection.objects.exists()
    response = client.post(url, {"reason": "中选机构的资质证书在报名时已过期，请核查。"})
    assert response.status_code == 302
    objection = Objection.objects.get()
    assert objection.registration == loser
    announcement.refresh_from_db()
    assert announcement.status == AnnouncementStatus.SUSPENDED


def test_objection_after_the_window_is_refused(base, client):
    world = make_world(agencies=4, base=base)
    announcement, _selected, loser = in_publicity(world)
    Announcement.objects.filter(pk=announcement.pk).update(
        publicity_ends_at=timezone.now() - datetime.timedelta(minutes=1)
    )
    login(client, admin_of(world, loser))
    url = reverse("procurement:objection_new", args=[loser.pk])
    html = text(client.get(url))
    assert "Objections can be filed only during the publicity period." in html
    response = client.post(url, {"reason": "中选机构的资质证书在报名时已过期，请核查。"})
    assert "Objections can be filed only during the publicity period." in text(response)
    assert not Objection.objects.exists()
    page = text(client.get(reverse("procurement:registration", args=[loser.pk])))
    assert url not in page


def test_objection_by_a_non_registrant_is_refused(base, client):
    world = make_world(agencies=4, base=base)
    _announcement, _selected, loser = in_publicity(world)
    outsider = make_eligible_agency(world.item)
    url = reverse("procurement:objection_new", args=[loser.pk])
    for user in (outsider.admin_user, world.owner.admin_user, AgencyFactory().admin_user):
        login(client, user)
        assert client.get(url).status_code == 404
        assert client.post(url, {"reason": "中选机构的资质证书在报名时已过期。"}).status_code == 404
    assert not Objection.objects.exists()
