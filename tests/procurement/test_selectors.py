"""procurement/selectors.py: the agency's matching announcements (the mirror of
notices.matching_agency_ids) and feed_eligibility, which must explain exactly what
eligibility.check explains, for every kind of check."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from agencies.models import Agency, ServiceScope
from marketplace.models import Organisation
from procurement import eligibility, notices, selectors, services
from procurement.models import Announcement, RegionScope
from tests.agencies.factories import AgencyFactory, add_member, declare_items, region
from tests.procurement.factories import draft, make_announcement, make_eligible_agency, make_world

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def reload(agency) -> Agency:
    return Agency.objects.select_related("organisation__region").get(pk=agency.pk)


def test_matching_announcements_mirror_the_notices(base):
    world = make_world(agencies=1, base=base)
    agency = world.agencies[0]
    wanted = make_announcement(world)
    other_item = make_announcement(world, service_item=world.items["free"], budget_ceiling=5000)
    draft(world)  # not published
    past = make_announcement(world)
    Announcement.objects.filter(pk=past.pk).update(
        registration_deadline=timezone.now() - datetime.timedelta(minutes=1)
    )
    assert list(selectors.matching_announcements(agency)) == [wanted]
    assert agency.pk in notices.matching_agency_ids(wanted)
    assert agency.pk not in notices.matching_agency_ids(other_item)


@pytest.mark.parametrize(
    ("codes", "covered"),
    [(["530100"], True), (["530102"], True), (["530000"], True), (["530300"], False), ([], False)],
)
def test_matching_by_service_regions(base, codes, covered):
    world = make_world(agencies=0, base=base)
    agency = make_eligible_agency(world.item)
    Agency.objects.filter(pk=agency.pk).update(service_scope=ServiceScope.REGIONS)
    agency = reload(agency)
    agency.service_regions.set([region(c) for c in codes])
    announcement = make_announcement(world)
    assert (announcement in selectors.matching_announcements(agency)) is covered
    assert (agency.pk in notices.matching_agency_ids(announcement)) is covered


def test_province_wide_agency_without_a_home_region_is_not_matched(base):
    world = make_world(agencies=1, base=base)
    agency = world.agencies[0]
    announcement = make_announcement(world)
    assert list(selectors.matching_announcements(reload(agency))) == [announcement]
    Organisation.objects.filter(pk=agency.organisation_id).update(region=None)
    assert list(selectors.matching_announcements(reload(agency))) == []
    assert agency.pk not in notices.matching_agency_ids(announcement)


def test_feed_eligibility_agrees_with_eligibility_check(base):
    world = make_world(agencies=1, base=base)
    agency = world.agencies[0]
    announcements = [
        make_announcement(world),
        make_announcement(world, min_credit_grade="B"),
        make_announcement(world, region_scope=RegionScope.CROSS_REGION),
        make_announcement(world, region_scope=RegionScope.LOCAL),
        make_announcement(world, service_item=world.items["survey_b"], budget_ceiling=5000),
        make_announcement(world, service_item=world.items["free"], budget_ceiling=5000),
    ]
    excluded = make_announcement(world)
    services.exclusion_add(
        actor=world.owner.admin_user, announcement=excluded, agency=agency, reason="关联"
    )
    announcements.append(excluded)
    shared = make_announcement(world)
    announcements.append(shared)
    # Members in common with the owner, and the same legal representative: 回避.
    add_member(world.owner.organisation, user=agency.admin_user)
    same_person = AgencyFactory(status="approved", legal_representative="赵六")
    declare_items(same_person, world.item)
    for subject in (agency, same_person):
        subject = reload(subject)
        batch = selectors.feed_eligibility(subject, announcements)
        for announcement in announcements:
            expected = eligibility.check(announcement, subject)
            got = batch[announcement.pk]
            assert got.as_list() == expected.as_list(), announcement.title
    # The cases really differ (the test could fail).
    reasons = {
        tuple(r)
        for r in (
            selectors.feed_eligibility(reload(agency), announcements)[a.pk].reasons
            for a in announcements
        )
    }
    assert len(reasons) > 3


def test_feed_eligibility_of_nothing_costs_nothing(base, django_assert_num_queries):
    world = make_world(agencies=1, base=base)
    agency = reload(world.agencies[0])
    with django_assert_num_queries(0):
        assert selectors.feed_eligibility(agency, []) == {}
