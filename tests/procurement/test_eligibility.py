"""Eligibility for an announcement, explained per agency (issue 5: approved; qualified at the
level required; covering the region; not suspended or blacklisted; not excluded)."""

from __future__ import annotations

import pytest

from agencies.models import ServiceScope
from marketplace.models import Role
from procurement import eligibility, services
from procurement.models import RegionScope
from tests.agencies.factories import AgencyFactory, CertificateFactory, add_member, qtype, region
from tests.procurement.factories import draft, make_eligible_agency

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def failing(outcome) -> dict[str, str]:
    return {c.code: c.explanation for c in outcome.checks if not c.met}


def test_an_eligible_agency_meets_every_check_with_an_explanation(world):
    outcome = eligibility.check(draft(world), world.agencies[0])
    assert outcome.eligible
    assert [c.code for c in outcome.checks] == [
        "approved",
        "sanction",
        "item",
        "qualification",
        "region",
        "conflict",
    ]
    assert all(c.explanation for c in outcome.checks)


def test_status_item_and_qualification_reasons(world):
    announcement = draft(world)
    draft_agency = AgencyFactory()
    assert "not approved" in failing(eligibility.check(announcement, draft_agency))["approved"]
    undeclared = AgencyFactory(status="approved")
    CertificateFactory(agency=undeclared, qualification_type=qtype("eia-unit"))
    reasons = failing(eligibility.check(announcement, undeclared))
    assert set(reasons) == {"item"}
    expired = make_eligible_agency(world.item)
    expired.certificates.update(status="expired")
    reasons = failing(eligibility.check(announcement, expired))
    assert "expired" in reasons["qualification"]


def test_a_raised_level_is_required(world):
    item = world.items["survey_b"]
    surveying = qtype("surveying")
    announcement = services.announcement_create(
        actor=world.owner.admin_user,
        project=world.project,
        service_item=item,
        raised_levels={surveying.pk: "甲级"},
        title="测绘",
        scope="地形测绘",
        budget_ceiling="30000",
        method="random_draw",
        registration_deadline=draft(world).registration_deadline,
    )
    b_holder = AgencyFactory(status="approved")
    CertificateFactory(agency=b_holder, qualification_type=surveying, level="乙级")
    from tests.agencies.factories import declare_items

    declare_items(b_holder, item)
    reasons = failing(eligibility.check(announcement, b_holder))
    assert "below the minimum level" in reasons["qualification"]


@pytest.mark.parametrize(
    "scope, home, eligible",
    [
        (RegionScope.PROVINCE, "530300", True),  # 曲靖市, province-wide
        (RegionScope.LOCAL, "530100", True),  # 昆明市, the project's city
        (RegionScope.LOCAL, "530300", False),
        (RegionScope.CROSS_REGION, "530100", False),
        (RegionScope.CROSS_REGION, "530300", True),
    ],
)
def test_eligible_regions(world, scope, home, eligible):
    announcement = draft(world, region_scope=scope)
    agency = make_eligible_agency(world.item, home=home)
    outcome = eligibility.check(announcement, agency)
    assert outcome.eligible is eligible, outcome.reasons


def test_a_service_area_must_cover_the_project(world):
    announcement = draft(world)
    agency = make_eligible_agency(world.item, service_scope=ServiceScope.REGIONS)
    agency.service_regions.set([region("530300")])  # 曲靖市 only; the project is in 昆明
    assert "does not cover" in failing(eligibility.check(announcement, agency))["region"]
    agency.service_regions.set([region("530100")])
    assert eligibility.check(announcement, agency).eligible


def test_credit_grade_minimum(world):
    announcement = draft(world, min_credit_grade="B")
    agency = world.agencies[0]
    assert "not rated" in failing(eligibility.check(announcement, agency))["credit"]
    agency.credit_grade = "C"
    agency.save(update_fields=["credit_grade"])
    assert "below" in failing(eligibility.check(announcement, agency))["credit"]
    agency.credit_grade = "A"
    agency.save(update_fields=["credit_grade"])
    assert eligibility.check(announcement, agency).eligible


def test_conflicts_of_interest_are_found_and_explained(world):
    announcement = draft(world)
    same_person = make_eligible_agency(world.item, legal_representative="赵 六")
    shared = make_eligible_agency(world.item)
    add_member(shared.organisation, Role.STAFF, user=world.owner.admin_user)
    declared = world.agencies[0]
    services.exclusion_add(
        actor=world.owner.admin_user,
        announcement=announcement,
        agency=declared,
        reason="该机构为本项目可行性研究报告编制单位",
    )
    outcomes = eligibility.evaluate(announcement, [same_person, shared, declared])
    assert "same legal representative" in failing(outcomes[same_person.pk])["conflict"]
    assert "also a member" in failing(outcomes[shared.pk])["conflict"]
    assert "可行性研究报告编制单位" in failing(outcomes[declared.pk])["conflict"]


def test_a_sanction_provider_bars_an_agency(world):
    announcement = draft(world)
    barred = world.agencies[1]

    def provider(ids, day):
        return {barred.pk: "市场禁入（黑名单）至 2027-12-31"} if barred.pk in ids else {}

    eligibility.register_sanction_provider(provider)
    try:
        assert "黑名单" in failing(eligibility.check(announcement, barred))["sanction"]
        assert eligibility.check(announcement, world.agencies[0]).eligible
    finally:
        eligibility._sanction_providers.remove(provider)


def test_evaluate_uses_a_fixed_number_of_queries(world, django_assert_num_queries):
    announcement = draft(world)
    few = world.agencies[:2]
    many = world.agencies + [make_eligible_agency(world.item) for _ in range(6)]
    # 1 requirement types, then per batch of agencies: the agencies with organisation and
    # region, their service regions, declared items, certificates of the required types, the
    # owner's members, the agencies' members among them, the declared exclusions, and the
    # sanctions in effect among them (the ratings app's provider, ratings/enforcement.py).
    with django_assert_num_queries(9):
        eligibility.evaluate(announcement, few)
    with django_assert_num_queries(9):
        assert all(o.eligible for o in eligibility.evaluate(announcement, many).values())
