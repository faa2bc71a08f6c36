"""Sanctions, the blacklist and appeals (ratings/sanctions.py, ratings/enforcement.py,
ratings/views/sanctions.py): every transition allowed and refused per role, enforcement the
moment a ban takes effect, the scheduler's expiry and start, the public blacklist."""

from __future__ import annotations

import csv
import datetime
import io
import re
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from agencies import shelf
from marketplace import chronograph, outbox
from marketplace.models import AuditEvent, Role
from marketplace.permissions import has_perm
from procurement import eligibility, purchase, services
from procurement.models import RegistrationStatus
from procurement.selectors import feed_eligibility
from ratings import sanctions
from ratings.enforcement import is_barred
from ratings.models import AppealStatus, Sanction, SanctionSeverity, SanctionStatus
from search.api import search
from search.kinds.agencies import AGENCIES
from tests.agencies.factories import add_member, make_regulator_user, region
from tests.marketplace.factories import UserFactory
from tests.procurement.factories import (
    close_and_draw,
    login,
    make_announcement,
    make_awarded_contract,
    register_all,
    text,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

TODAY = timezone.localdate


def days(n: int) -> datetime.date:
    return TODAY() + datetime.timedelta(days=n)


def codes(exc: ValidationError) -> set[str]:
    found = set()
    if hasattr(exc, "error_dict"):
        for errors in exc.error_dict.values():
            found.update(e.code for e in errors)
    else:
        found.update(e.code for e in exc.error_list)
    return found


@pytest.fixture
def regs():
    """One regulator covering Kunming's ecology items (the world's agencies) with a proposer,
    a second reviewer and a supervisor; another covering ecology across Yunnan; two out of
    scope (another city, another industry)."""
    proposer = make_regulator_user(region=region("530100"), industries=["ecology"])
    org = proposer.memberships.get().organisation
    return type(
        "Regs",
        (),
        {
            "proposer": proposer,
            "second": add_member(org, Role.REVIEWER),
            "supervisor": add_member(org, Role.SUPERVISOR),
            "province": make_regulator_user(region=region("530000"), industries=["ecology"]),
            "other_city": make_regulator_user(region=region("530300"), industries=["ecology"]),
            "other_industry": make_regulator_user(
                region=region("530100"), industries=["development"]
            ),
        },
    )


def propose(regs, agency, *, severity=SanctionSeverity.BAN, start=0, end=365, **kw):
    actor = kw.pop("actor", regs.proposer)
    values = {
        "reason_code": "FALSE_RESULT",
        "facts": "出具的环境影响报告表数据严重失实。",
        "severity": severity,
        "starts_on": days(start),
        "ends_on": days(end),
    }
    values.update(kw)
    return sanctions.sanction_propose(actor=actor, agency=agency, **values)


def ban(regs, agency, **kw):
    sanction = propose(regs, agency, **kw)
    return sanctions.sanction_approve(actor=regs.second, sanction=sanction)


def transitions(sanction) -> list[str]:
    return list(
        AuditEvent.objects.filter(object_id=str(sanction.pk), data__has_key="transition")
        .filter(content_type__model="sanction")
        .order_by("pk")
        .values_list("action", flat=True)
    )


def list_offering(agency, item):
    return shelf.offering_save(
        actor=agency.admin_user,
        agency=agency,
        service_item=item,
        pricing_mode="price",
        price=Decimal(8000),
        reference_amount=Decimal(1000000),
        turnaround_days=10,
    )


def public(offering) -> bool:
    offering.product.refresh_from_db()
    return offering.product.is_public


# --- propose ----------------------------------------------------------------------------------


def test_out_of_scope_regulators_cannot_propose(world, regs):
    agency = world.agencies[0]
    for user in (regs.other_city, regs.other_industry, world.agencies[1].admin_user):
        with pytest.raises(PermissionDenied, match="outside your regulator's scope"):
            propose(regs, agency, actor=user)
    # Staff of a covering regulator without a reviewing role neither.
    staff = add_member(regs.proposer.memberships.get().organisation, Role.STAFF)
    with pytest.raises(PermissionDenied):
        propose(regs, agency, actor=staff)
    assert not Sanction.objects.exists()


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"start": 5, "end": 4}, "ends_before_start"),
        ({"start": -1, "end": 30}, "starts_in_past"),
        ({"reason_code": "NO_SUCH"}, "unknown_reason"),
        ({"severity": "fine"}, "invalid_severity"),
        ({"facts": "  "}, "required"),
        ({"start": 0, "end": 4000}, "too_long"),
    ],
)
def test_bad_proposals_are_refused_with_a_code(world, regs, changes, code):
    with pytest.raises(ValidationError) as caught:
        propose(regs, world.agencies[0], **changes)
    assert code in codes(caught.value)
    assert not Sanction.objects.exists()


def test_the_database_backs_the_period_and_four_eyes(world, regs):
    sanction = propose(regs, world.agencies[0])
    with pytest.raises(IntegrityError), transaction.atomic():
        Sanction.objects.filter(pk=sanction.pk).update(ends_on=days(-10))
    with pytest.raises(IntegrityError), transaction.atomic():
        Sanction.objects.filter(pk=sanction.pk).update(approved_by=regs.proposer)


def test_a_warning_takes_effect_at_once_and_bars_nothing(world, regs):
    agency = world.agencies[0]
    warning = propose(regs, agency, severity=SanctionSeverity.WARNING, reason_code="SERIOUS_DELAY")
    assert warning.status == SanctionStatus.IN_EFFECT
    assert re.fullmatch(rf"CF-{TODAY().year}-\d{{6}}", warning.code)
    assert warning.effective_at is not None and warning.appeal_by > warning.effective_at
    assert not is_barred(agency.pk)
    assert transitions(warning) == ["take_effect"]


def test_a_suspension_bars_at_once(world, regs):
    agency = world.agencies[0]
    suspension = propose(
        regs, agency, severity=SanctionSeverity.SUSPENSION, reason_code="OVERCHARGE"
    )
    assert suspension.status == SanctionStatus.IN_EFFECT
    assert "suspended from selection" in eligibility.sanctions([agency.pk], TODAY())[agency.pk]


def test_the_appeal_deadline_counts_working_days(world, regs, settings):
    from marketplace import workdays

    settings.RATINGS = {**getattr(settings, "RATINGS", {}), "APPEAL_WORKING_DAYS": 3}
    warning = propose(regs, world.agencies[0], severity=SanctionSeverity.WARNING)
    assert warning.appeal_by == workdays.deadline_at(warning.effective_at, 3)


# --- approve, withdraw ---------------------------------------------------------------------------


def test_a_ban_waits_for_a_second_regulator(world, regs):
    agency = world.agencies[0]
    sanction = propose(regs, agency)
    assert sanction.status == SanctionStatus.PROPOSED
    assert not is_barred(agency.pk)

    with pytest.raises(ValidationError, match="another regulator must approve") as caught:
        sanctions.sanction_approve(actor=regs.proposer, sanction=sanction)
    assert codes(caught.value) == {"own_proposal"}
    for outsider in (regs.other_city, regs.other_industry, agency.admin_user):
        with pytest.raises(PermissionDenied):
            sanctions.sanction_approve(actor=outsider, sanction=sanction)
    sanction.refresh_from_db()
    assert sanction.status == SanctionStatus.PROPOSED

    # Another covering regulator (here the provincial one) may approve too.
    approved = sanctions.sanction_approve(actor=regs.province, sanction=sanction)
    assert approved.status == SanctionStatus.IN_EFFECT
    assert approved.approved_by == regs.province and approved.effective_at is not None
    assert is_barred(agency.pk)
    assert transitions(approved) == ["take_effect"]
    with pytest.raises(ValidationError) as caught:
        sanctions.sanction_approve(actor=regs.second, sanction=approved)
    assert codes(caught.value) == {"invalid_state"}


def test_only_the_proposer_withdraws_and_only_before_approval(world, regs):
    sanction = propose(regs, world.agencies[0])
    with pytest.raises(PermissionDenied):
        sanctions.sanction_withdraw(actor=regs.second, sanction=sanction)
    withdrawn = sanctions.sanction_withdraw(
        actor=regs.proposer, sanction=sanction, reason="证据不足"
    )
    assert withdrawn.status == SanctionStatus.WITHDRAWN
    with pytest.raises(ValidationError):
        sanctions.sanction_approve(actor=regs.second, sanction=withdrawn)

    approved = ban(regs, world.agencies[1])
    with pytest.raises(ValidationError) as caught:
        sanctions.sanction_withdraw(actor=regs.proposer, sanction=approved)
    assert codes(caught.value) == {"invalid_state"}


# --- enforcement the moment a ban takes effect --------------------------------------------------


def test_a_ban_bars_registration_pools_feed_shelf_purchase_and_search(world, regs):
    banned, *others = world.agencies
    offering = list_offering(banned, world.item)
    announcement = make_announcement(world)
    register_all(announcement, [banned, *others])  # registered while still eligible
    outbox.sweep()
    assert public(offering)

    sanction = ban(regs, banned)
    reason = eligibility.sanctions([banned.pk], TODAY())[banned.pk]
    assert sanction.code in reason and "黑名单" in reason and sanction.ends_on.isoformat() in reason

    # Registration for a new announcement: refused with the decision in the reasons.
    second = make_announcement(world, title="另一个项目环境影响评价")
    with pytest.raises(ValidationError) as caught:
        services.registration_submit(actor=banned.admin_user, announcement=second, agency=banned)
    assert any(sanction.code in m for m in caught.value.messages)

    # The agency's feed shows it ineligible, with the reason.
    outcome = feed_eligibility(banned, [second])[second.pk]
    assert not outcome.eligible and sanction.code in " ".join(outcome.reasons)

    # The shelf: its offering is off at once; the direct purchase is refused.
    assert not public(offering)
    assert not shelf.public_offerings(agency=banned).exists()
    with pytest.raises(ValidationError) as caught:
        purchase.purchase_check(owner=world.owner, offering=offering, project=world.project)
    assert any(sanction.code in m for m in caught.value.messages)

    # Search: the document shows the sanction and is not eligible.
    doc = AGENCIES.documents([str(banned.pk)])[str(banned.pk)]
    assert doc.data["sanction"]["code"] == sanction.code and doc.data["eligible"] is False
    assert doc.facets["eligible"] == ["no"]
    # Its hidden offering no longer makes a price range.
    assert doc.data["offerings"] == 0 and doc.data["price_min"] is None
    outbox.sweep()
    found = search("agency", {"q": banned.organisation.uscc, "eligible": "yes"})
    assert found.total == 0
    shown = search("agency", {"q": banned.organisation.uscc})
    assert [h.data["sanction"]["code"] for h in shown.hits] == [sanction.code]

    # The pool frozen at closing leaves it out.
    close_and_draw(announcement)
    registration = announcement.registrations.get(agency=banned)
    assert registration.status == RegistrationStatus.INELIGIBLE


def test_running_contracts_continue(world, regs):
    from tests.procurement.test_contracts import set_terms, sign_both

    contract = make_awarded_contract(world)
    ban(regs, contract.agency)
    contract.refresh_from_db()
    set_terms(contract, world.owner.admin_user)
    assert sign_both(contract, world.owner.admin_user).status == "signed"


# --- appeals ---------------------------------------------------------------------------------


def test_appeal_by_the_agency_within_the_deadline(world, regs):
    agency = world.agencies[0]
    sanction = ban(regs, agency)
    for outsider in (world.agencies[1].admin_user, world.owner.admin_user, regs.second):
        with pytest.raises(PermissionDenied):
            sanctions.appeal_file(actor=outsider, sanction=sanction, grounds="不服")
    with pytest.raises(ValidationError):
        sanctions.appeal_file(actor=agency.admin_user, sanction=sanction, grounds=" ")

    Sanction.objects.filter(pk=sanction.pk).update(appeal_by=timezone.now() - datetime.timedelta(1))
    with pytest.raises(ValidationError, match="time to appeal") as caught:
        sanctions.appeal_file(actor=agency.admin_user, sanction=sanction, grounds="不服")
    assert codes(caught.value) == {"too_late"}

    Sanction.objects.filter(pk=sanction.pk).update(appeal_by=timezone.now() + datetime.timedelta(1))
    appeal = sanctions.appeal_file(actor=agency.admin_user, sanction=sanction, grounds="数据有出处")
    sanction.refresh_from_db()
    assert sanction.status == SanctionStatus.APPEALED and appeal.status == AppealStatus.SUBMITTED
    assert is_barred(agency.pk)  # an appeal does not suspend the ban
    with pytest.raises(ValidationError) as caught:
        sanctions.appeal_file(actor=agency.admin_user, sanction=sanction, grounds="再次")
    assert codes(caught.value) == {"already_appealed"}


def test_the_proposer_does_not_decide_the_appeal_and_revoked_ends_the_bar(world, regs):
    agency = world.agencies[0]
    offering = list_offering(agency, world.item)
    sanction = ban(regs, agency)
    sanctions.appeal_file(actor=agency.admin_user, sanction=sanction, grounds="数据有出处")

    with pytest.raises(ValidationError, match="another regulator must decide") as caught:
        sanctions.appeal_decide(actor=regs.proposer, sanction=sanction, uphold=True, decision="x")
    assert codes(caught.value) == {"proposer_decides"}
    with pytest.raises(ValidationError, match="You approved this sanction") as caught:
        sanctions.appeal_decide(actor=regs.second, sanction=sanction, uphold=True, decision="x")
    assert codes(caught.value) == {"approver_decides"}
    with pytest.raises(PermissionDenied):
        sanctions.appeal_decide(actor=regs.other_city, sanction=sanction, uphold=True, decision="x")
    assert not public(offering)

    appeal = sanctions.appeal_decide(
        actor=regs.supervisor, sanction=sanction, uphold=False, decision="复核认定数据有出处。"
    )
    sanction.refresh_from_db()
    assert sanction.status == SanctionStatus.REVOKED and appeal.status == AppealStatus.REVOKED
    assert not is_barred(agency.pk) and public(offering)
    assert AGENCIES.documents([str(agency.pk)])[str(agency.pk)].data["sanction"] is None
    assert transitions(sanction) == ["take_effect", "appeal", "revoke"]


def test_an_upheld_appeal_keeps_the_bar(world, regs):
    agency = world.agencies[0]
    sanction = ban(regs, agency)
    sanctions.appeal_file(actor=agency.admin_user, sanction=sanction, grounds="不服")
    sanctions.appeal_decide(
        actor=regs.supervisor, sanction=sanction, uphold=True, decision="维持。"
    )
    sanction.refresh_from_db()
    assert sanction.status == SanctionStatus.UPHELD and is_barred(agency.pk)
    with pytest.raises(ValidationError):
        sanctions.appeal_decide(
            actor=regs.supervisor, sanction=sanction, uphold=False, decision="x"
        )


# --- lift, expiry, future start ------------------------------------------------------------------


def test_only_a_supervisor_lifts_early_with_a_reason(world, regs):
    agency = world.agencies[0]
    offering = list_offering(agency, world.item)
    sanction = ban(regs, agency)
    for user in (regs.second, regs.proposer, regs.other_city):
        with pytest.raises(PermissionDenied):
            sanctions.sanction_lift(actor=user, sanction=sanction, reason="整改到位")
    with pytest.raises(ValidationError):
        sanctions.sanction_lift(actor=regs.supervisor, sanction=sanction, reason="")
    lifted = sanctions.sanction_lift(actor=regs.supervisor, sanction=sanction, reason="整改到位")
    assert lifted.status == SanctionStatus.LIFTED and lifted.end_reason == "整改到位"
    assert not is_barred(agency.pk) and public(offering)
    with pytest.raises(ValidationError):
        sanctions.sanction_lift(actor=regs.supervisor, sanction=lifted, reason="again")


def test_ending_one_sanction_keeps_another_bar(world, regs):
    agency = world.agencies[0]
    offering = list_offering(agency, world.item)
    first = ban(regs, agency)
    propose(regs, agency, severity=SanctionSeverity.SUSPENSION, reason_code="OVERCHARGE")
    sanctions.sanction_lift(actor=regs.supervisor, sanction=first, reason="整改到位")
    assert is_barred(agency.pk) and not public(offering)


def test_the_job_expires_sanctions_and_re_enables(world, regs):
    agency = world.agencies[0]
    offering = list_offering(agency, world.item)
    sanction = ban(regs, agency, start=0, end=0)
    assert not public(offering)
    assert sanctions.expire_due(today=TODAY()) == {"expired": 0, "started": 0}

    tomorrow = timezone.now() + datetime.timedelta(days=1)
    results = chronograph.run_due_jobs(now=tomorrow, names=["ratings.sanctions"])
    assert results[0].status == "ok" and results[0].result["expired"] == 1
    sanction.refresh_from_db()
    assert sanction.status == SanctionStatus.EXPIRED and sanction.ended_at is not None
    assert public(offering) and not is_barred(agency.pk)
    assert sanctions.expire_due(today=days(1))["expired"] == 0  # idempotent


@pytest.mark.parametrize("uphold", [True, False])
def test_an_appeal_outliving_the_period_expires_and_is_still_decided(world, regs, uphold):
    agency = world.agencies[0]
    offering = list_offering(agency, world.item)
    sanction = ban(regs, agency, start=0, end=0)
    sanctions.appeal_file(actor=agency.admin_user, sanction=sanction, grounds="期限过长，不服")
    # The period ends while the appeal waits: the clock is not stopped by it.
    assert sanctions.expire_due(today=days(1))["expired"] == 1
    sanction.refresh_from_db()
    assert sanction.status == SanctionStatus.EXPIRED
    assert public(offering) and not is_barred(agency.pk)
    # Still owed a decision: in the queue, and decided by someone not involved.
    assert has_perm(regs.supervisor, "decide_appeal", sanction)
    assert not has_perm(regs.proposer, "decide_appeal", sanction)
    with pytest.raises(ValidationError) as caught:
        sanctions.appeal_decide(actor=regs.proposer, sanction=sanction, uphold=True, decision="x")
    assert codes(caught.value) == {"proposer_decides"}
    appeal = sanctions.appeal_decide(
        actor=regs.supervisor, sanction=sanction, uphold=uphold, decision="复核后作出决定。"
    )
    sanction.refresh_from_db()
    if uphold:
        assert appeal.status == AppealStatus.UPHELD and sanction.status == SanctionStatus.EXPIRED
        assert AuditEvent.objects.filter(
            object_id=str(sanction.pk), action="sanction.appeal_upheld"
        ).exists()
        assert transitions(sanction) == ["take_effect", "appeal", "expire"]
    else:
        assert appeal.status == AppealStatus.REVOKED and sanction.status == SanctionStatus.REVOKED
        assert transitions(sanction) == ["take_effect", "appeal", "expire", "revoke"]
    assert not is_barred(agency.pk) and public(offering)
    # Decided once only.
    with pytest.raises(ValidationError):
        sanctions.appeal_decide(
            actor=regs.supervisor, sanction=sanction, uphold=True, decision="再议"
        )
    assert not has_perm(regs.supervisor, "decide_appeal", sanction)


def test_a_future_start_bars_from_its_day(world, regs):
    agency = world.agencies[0]
    offering = list_offering(agency, world.item)
    ban(regs, agency, start=2, end=30)
    assert not is_barred(agency.pk) and public(offering)
    assert is_barred(agency.pk, days(2))
    assert sanctions.expire_due(today=days(1)) == {"expired": 0, "started": 0}
    assert sanctions.expire_due(today=days(2)) == {"expired": 0, "started": 1}
    assert sanctions.expire_due(today=days(2)) == {"expired": 0, "started": 0}  # once


# --- pages -----------------------------------------------------------------------------------


def test_regulator_pages_propose_approve_and_agency_appeals(client, world, regs):
    agency = world.agencies[0]
    login(client, regs.proposer)
    url = reverse("ratings:sanction_propose") + f"?agency={agency.pk}"
    assert client.get(url).status_code == 200
    response = client.post(
        url,
        {
            "agency": agency.pk,
            "reason_code": "COLLUSION",
            "severity": "ban",
            "starts_on": TODAY().isoformat(),
            "ends_on": days(-1).isoformat(),
            "facts": "串通报名",
        },
    )
    assert response.status_code == 200 and "ends before it starts" in text(response)
    response = client.post(
        url,
        {
            "agency": agency.pk,
            "reason_code": "COLLUSION",
            "severity": "ban",
            "starts_on": TODAY().isoformat(),
            "ends_on": days(180).isoformat(),
            "facts": "串通报名",
        },
    )
    sanction = Sanction.objects.get()
    assert response.status_code == 302 and sanction.status == SanctionStatus.PROPOSED
    detail = reverse("ratings:sanction_detail", args=[sanction.pk])
    client.post(detail, {"action": "approve"})
    sanction.refresh_from_db()
    assert sanction.status == SanctionStatus.PROPOSED  # not by the proposer

    login(client, regs.second)
    queue = client.get(reverse("ratings:sanction_approvals"))
    assert sanction.code in text(queue)
    assert client.post(detail, {"action": "approve"}).status_code == 302
    sanction.refresh_from_db()
    assert sanction.status == SanctionStatus.IN_EFFECT

    login(client, regs.other_city)
    assert client.get(detail).status_code == 404

    login(client, agency.admin_user)
    page = client.get(reverse("ratings:agency_sanctions"))
    assert sanction.code in text(page) and "Grounds of the appeal" in text(page)
    client.post(reverse("ratings:sanction_appeal", args=[sanction.pk]), {"grounds": "不服"})
    sanction.refresh_from_db()
    assert sanction.status == SanctionStatus.APPEALED

    login(client, regs.second)  # the approver: not the one to hear the appeal
    assert sanction.code not in text(client.get(reverse("ratings:sanction_appeals")))
    login(client, regs.supervisor)
    assert sanction.code in text(client.get(reverse("ratings:sanction_appeals")))
    client.post(detail, {"action": "decide", "outcome": "uphold", "decision": "维持原决定"})
    sanction.refresh_from_db()
    assert sanction.status == SanctionStatus.UPHELD


@pytest.fixture
def published(world, regs):
    """Three decisions: a ban upheld on appeal, a suspension in effect, a revoked warning; and
    a ban proposal (not published)."""
    a, b, c, d = world.agencies
    upheld = ban(regs, a)
    sanctions.appeal_file(actor=a.admin_user, sanction=upheld, grounds="不服")
    sanctions.appeal_decide(
        actor=regs.supervisor, sanction=upheld, uphold=True, decision="维持原决定"
    )
    suspended = propose(regs, b, severity=SanctionSeverity.SUSPENSION, reason_code="OVERCHARGE")
    revoked = propose(regs, c, severity=SanctionSeverity.WARNING, reason_code="SERIOUS_DELAY")
    sanctions.appeal_file(actor=c.admin_user, sanction=revoked, grounds="已按期履约")
    sanctions.appeal_decide(actor=regs.supervisor, sanction=revoked, uphold=False, decision="撤销")
    proposal = propose(regs, d)
    return type(
        "P",
        (),
        {
            "upheld": upheld,
            "suspended": suspended,
            "revoked": revoked,
            "proposal": proposal,
            "agencies": world.agencies,
        },
    )


def shown(response) -> set[str]:
    return set(re.findall(r"CF-\d{4}-\d{6}", text(response)))


def test_blacklist_shows_decisions_and_filters(client, published):
    url = reverse("ratings:blacklist")
    p = published
    everything = client.get(url)
    assert everything.status_code == 200
    assert shown(everything) == {p.upheld.code, p.suspended.code, p.revoked.code}
    body = text(everything)
    assert p.agencies[0].organisation.uscc in body and "国办发〔2015〕31号" in body
    assert "维持原决定" in body  # the appeal decision is published

    a = p.agencies[0].organisation
    assert shown(client.get(url, {"q": a.uscc})) == {p.upheld.code}
    assert shown(client.get(url, {"q": a.name[-3:]})) >= {p.upheld.code}
    assert shown(client.get(url, {"reason": "OVERCHARGE"})) == {p.suspended.code}
    assert shown(client.get(url, {"status": "revoked"})) == {p.revoked.code}
    assert shown(client.get(url, {"severity": "ban"})) == {p.upheld.code}
    assert len(shown(client.get(url, {"region": "530100"}))) == 3
    assert shown(client.get(url, {"region": "530300"})) == set()

    for param, value, message in (
        ("reason", "NOPE", "Unknown reason"),
        ("status", "proposed", "Unknown status"),
        ("severity", "fine", "Unknown measure"),
        ("region", "abc", "Unknown region"),
    ):
        response = client.get(url, {param: value})
        assert response.status_code == 400 and message in text(response)
        assert client.get(url, {param: value, "format": "csv"}).status_code == 400


def test_blacklist_csv(client, published):
    client.cookies["django_language"] = "en"
    response = client.get(reverse("ratings:blacklist"), {"format": "csv", "severity": "ban"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    raw = b"".join(response.streaming_content).decode("utf-8")
    assert raw.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(raw[1:])))
    assert rows[0][:3] == ["Decision number", "Agency", "Unified social credit code"]
    assert [r[0] for r in rows[1:]] == [published.upheld.code]
    assert rows[1][2] == published.agencies[0].organisation.uscc
    assert rows[1][9] == "upheld on appeal" and rows[1][10] == "sanction upheld"

    client.cookies["django_language"] = "zh-hans"
    response = client.get(reverse("ratings:blacklist"), {"format": "csv", "severity": "ban"})
    raw = b"".join(response.streaming_content).decode("utf-8")
    assert "统一社会信用代码" in raw.splitlines()[0]


def test_blacklist_query_count_is_fixed(client, world, regs, django_assert_num_queries):
    """2 queries whatever the page size: the COUNT of the paginator and the page's rows (with
    agency, organisation, region, appeal and regulator joined). An anonymous visitor: no
    session or membership query."""
    url = reverse("ratings:blacklist")
    propose(regs, world.agencies[0], severity=SanctionSeverity.WARNING)
    with django_assert_num_queries(2):
        client.get(url)
    for agency in world.agencies[1:]:
        ban(regs, agency)
    with CaptureQueriesContext(transaction.get_connection()) as ctx:
        response = client.get(url)
    assert len(shown(response)) == 4
    assert len(ctx.captured_queries) == 2


def test_outsiders_get_404_on_regulator_pages(client, world):
    login(client, UserFactory())
    for name in ("sanction_list", "sanction_approvals", "sanction_appeals", "sanction_propose"):
        assert client.get(reverse(f"ratings:{name}")).status_code == 404
    assert client.get(reverse("ratings:agency_sanctions")).status_code == 404


def test_the_profile_and_the_search_card_show_the_sanction(client, world, regs):
    agency = world.agencies[0]
    profile = reverse("agencies:profile", args=[agency.pk])
    assert 'id="sanctions"' not in client.get(profile).content.decode()
    sanction = ban(regs, agency, start=0, end=0)
    html = client.get(profile).content.decode()
    assert 'id="sanctions"' in html and sanction.code in html
    assert "Barred from the market" in html and "?q=" + agency.organisation.uscc in html
    outbox.sweep()
    card = client.get(reverse("agencies:directory") + "?q=" + agency.organisation.uscc)
    assert sanction.code in card.content.decode()
    # Ended, it stays on the profile as history, no longer as a bar.
    sanctions.expire_due(today=days(1))
    html = client.get(profile).content.decode()
    assert sanction.code in html and "Barred from the market" not in html
    assert "expired" in html
    outbox.sweep()
    card = client.get(reverse("agencies:directory") + "?q=" + agency.organisation.uscc)
    assert sanction.code not in card.content.decode()
