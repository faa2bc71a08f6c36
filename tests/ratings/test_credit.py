"""信用评价 (ratings.credit): the formula on known data, term by term; the recomputation in a
fixed number of queries whatever the number of agencies; the history; the recomputation
driven by the outbox after each relevant event; the grade on the profile and in search; the
published rules page stating the same formula."""

import datetime
import itertools
import re
from decimal import Decimal

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from agencies.models import Agency, EnrolmentStatus
from marketplace import chronograph, outbox
from marketplace.models import Membership, OutboxMessage, OutboxStatus, Role
from procurement import contracts as contract_services
from procurement import services
from procurement.models import Contract, ContractStatus, Registration, RegistrationStatus
from ratings import credit
from ratings.credit import Inputs, evaluate, recompute, request_recompute
from ratings.models import (
    Complaint,
    ComplaintStatus,
    CreditScore,
    Rating,
    Sanction,
    SanctionSeverity,
    SanctionStatus,
)
from ratings.rating import rating_submit
from tests.agencies.factories import AgencyFactory, make_regulator_user
from tests.payments_helpers import contract_to_pay
from tests.procurement.factories import (
    close_and_draw,
    make_announcement,
    register_all,
    text,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

_codes = itertools.count(1)


def owner_admin(contract):
    return Membership.objects.get(
        organisation_id=contract.owner.organisation_id, role=Role.ADMIN
    ).user


def admin_of(agency):
    return Membership.objects.get(organisation_id=agency.organisation_id, role=Role.ADMIN).user


def bare_contract(world, agency, **fields) -> Contract:
    """A contract row written directly (no services): for the formula's inputs."""
    n = next(_codes)
    values = {
        "code": f"HT-T-{n:06d}",
        "source": "purchase",
        "project": world.project,
        "service_item": world.item,
        "owner": world.owner,
        "agency": agency,
        "scope": "测试",
        "price_ceiling": Decimal(1000),
        "price": Decimal(1000),
        "time_limit_days": 10,
        "status": ContractStatus.ACCEPTED,
        "accepted_at": timezone.now(),
        "due_date": timezone.localdate(),
    }
    values.update(fields)
    return Contract.objects.create(**values)


def add_rating(world, agency, total_scores, *, age_days, now):
    """A rating of a contract still in progress (no on-time completion to count)."""
    rating = Rating.objects.create(
        contract=bare_contract(world, agency, status=ContractStatus.IN_PROGRESS, accepted_at=None),
        agency=agency,
        owner=world.owner,
        rated_by=world.owner.admin_user,
        quality=total_scores[0],
        timeliness=total_scores[1],
        attitude=total_scores[2],
        fees=total_scores[3],
        compliance=total_scores[4],
    )
    Rating.objects.filter(pk=rating.pk).update(created_at=now - datetime.timedelta(days=age_days))
    return rating


def add_complaint(agency, status, decided_at):
    n = next(_codes)
    return Complaint.objects.create(
        code=f"TS-T-{n:06d}",
        complainant_kind="public",
        agency=agency,
        subject="投诉",
        description="事实与理由",
        status=status,
        accept_by=timezone.now(),
        decided_at=decided_at,
    )


def add_sanction(agency, regulator_user, severity, status, *, ended_at=None, ends_on=None):
    n = next(_codes)
    today = timezone.localdate()
    return Sanction.objects.create(
        code=f"CF-T-{n:06d}",
        agency=agency,
        reason_code="R01",
        legal_basis="测试依据",
        facts="事实",
        severity=severity,
        starts_on=today - datetime.timedelta(days=800),
        ends_on=ends_on or today + datetime.timedelta(days=30),
        status=status,
        regulator=regulator_user.memberships.first().organisation,
        proposed_by=regulator_user,
        ended_at=ended_at,
    )


def add_decline(announcement, agency, responded_at):
    return Registration.objects.create(
        announcement=announcement,
        agency=agency,
        registered_by=admin_of(agency),
        status=RegistrationStatus.DECLINED,
        responded_at=responded_at,
    )


# --- the formula ------------------------------------------------------------------------


def test_the_formula_term_by_term():
    # Nothing known: the base, grade B.
    score, grade, parts = evaluate(Inputs(ratings=[]))
    assert (score, grade) == (Decimal("80.00"), "B")
    assert parts["ratings"] == {"count": 0, "weighted_average": None, "points": "0.00"}
    # Ratings: an average of 5 is +15, of 1 is −15, of 3 is 0.
    assert evaluate(Inputs(ratings=[(0, 25)]))[0] == Decimal("95.00")
    assert evaluate(Inputs(ratings=[(0, 5)]))[0] == Decimal("65.00")
    assert evaluate(Inputs(ratings=[(100, 15)]))[0] == Decimal("80.00")
    # Recency: a rating a year old weighs half as much as today's.
    _s, _g, parts = evaluate(Inputs(ratings=[(0, 25), (365, 5)]))
    assert parts["ratings"]["weighted_average"] == "3.67"  # (5×1 + 1×0.5) ÷ 1.5
    assert parts["ratings"]["points"] == "5.03"  # (3.67 − 3) × 7.5 = 5.025
    # Deductions, each per event.
    assert evaluate(Inputs(ratings=[], complaints=2))[0] == Decimal("64.00")
    assert evaluate(Inputs(ratings=[], overdue=3))[0] == Decimal("71.00")
    assert evaluate(Inputs(ratings=[], declines=1))[0] == Decimal("78.00")
    assert evaluate(Inputs(ratings=[], warnings=1))[0] == Decimal("75.00")
    assert evaluate(Inputs(ratings=[], suspensions=1))[0] == Decimal("65.00")
    # The bonus, capped at +10.
    assert evaluate(Inputs(ratings=[], on_time=4))[0] == Decimal("84.00")
    assert evaluate(Inputs(ratings=[], on_time=40))[:2] == (Decimal("90.00"), "A")
    # Clamped to 0 … 100.
    score, grade, parts = evaluate(Inputs(ratings=[], complaints=20))
    assert (score, grade, parts["raw"]) == (Decimal("0.00"), "D", "-80.00")
    assert evaluate(Inputs(ratings=[(0, 25)], on_time=10))[0] == Decimal("100.00")
    # A ban: grade D whatever the score.
    score, grade, parts = evaluate(Inputs(ratings=[(0, 25)], bans=1))
    assert (score, grade, parts["bans"]["forced_grade"]) == (Decimal("95.00"), "D", "D")


@pytest.mark.parametrize(
    ("score", "grade"),
    [
        ("100", "A"),
        ("90", "A"),
        ("89.99", "B"),
        ("75", "B"),
        ("74.99", "C"),
        ("60", "C"),
        ("59.99", "D"),
        ("0", "D"),
    ],
)
def test_grades(score, grade):
    assert credit.grade_of(Decimal(score)) == grade


def test_recompute_reads_each_term_from_the_data(world):
    now = timezone.now()
    agency, banned, clean = world.agencies[0], world.agencies[1], world.agencies[2]
    # Ratings: 5 today (weight 1), 1 a year ago (weight ½), one outside the 24 months.
    add_rating(world, agency, (5, 5, 5, 5, 5), age_days=0, now=now)
    add_rating(world, agency, (1, 1, 1, 1, 1), age_days=365, now=now)
    add_rating(world, agency, (1, 1, 1, 1, 1), age_days=800, now=now)
    # Complaints: one upheld in the window; one upheld too long ago; one dismissed.
    add_complaint(agency, ComplaintStatus.UPHELD, now - datetime.timedelta(days=10))
    add_complaint(agency, ComplaintStatus.UPHELD, now - datetime.timedelta(days=800))
    add_complaint(agency, ComplaintStatus.DISMISSED, now - datetime.timedelta(days=10))
    # Overdue: two in the window (−6), one older.
    today = timezone.localdate()
    for due in (today - datetime.timedelta(days=30), today - datetime.timedelta(days=60)):
        bare_contract(
            world,
            agency,
            status=ContractStatus.IN_PROGRESS,
            accepted_at=None,
            due_date=due,
            was_overdue=True,
            overdue_since=due,
        )
    bare_contract(
        world,
        agency,
        status=ContractStatus.COMPLETED,
        accepted_at=now - datetime.timedelta(days=1000),
        due_date=today - datetime.timedelta(days=1100),
        was_overdue=True,
    )
    # On time: 12 accepted on time in the window; one accepted late does not count.
    for _n in range(12):
        bare_contract(world, agency)
    bare_contract(world, agency, due_date=today - datetime.timedelta(days=3))
    # A declined selection (−2), and one too old.
    announcement = make_announcement(world)
    add_decline(announcement, agency, now - datetime.timedelta(days=5))
    other = make_announcement(world, title="另一个公告")
    add_decline(other, agency, now - datetime.timedelta(days=900))
    # Sanctions: a warning in effect (−5); a suspension lifted 2 months ago (−15); a
    # suspension expired 13 months ago and a revoked warning (nothing).
    regulator = make_regulator_user(role=Role.SUPERVISOR, all_industries=True)
    add_sanction(agency, regulator, SanctionSeverity.WARNING, SanctionStatus.IN_EFFECT)
    add_sanction(
        agency,
        regulator,
        SanctionSeverity.SUSPENSION,
        SanctionStatus.LIFTED,
        ended_at=now - datetime.timedelta(days=60),
    )
    add_sanction(
        agency,
        regulator,
        SanctionSeverity.SUSPENSION,
        SanctionStatus.EXPIRED,
        ended_at=now - datetime.timedelta(days=400),
        ends_on=today - datetime.timedelta(days=400),
    )
    add_sanction(agency, regulator, SanctionSeverity.WARNING, SanctionStatus.REVOKED)
    # Another agency under a ban: grade D; a third with nothing: the base.
    add_sanction(banned, regulator, SanctionSeverity.BAN, SanctionStatus.APPEALED)

    report = recompute([agency.pk, banned.pk, clean.pk, 99999999], "test", now=now)
    assert (report.agencies, report.changed, report.batches) == (3, 3, 1)

    row = CreditScore.objects.get(agency=agency)
    parts = row.components
    assert parts["ratings"] == {"count": 2, "weighted_average": "3.67", "points": "5.03"}
    assert parts["complaints"] == {"count": 1, "points": "-8.00"}
    assert parts["overdue"] == {"count": 2, "points": "-6.00"}
    assert parts["declines"] == {"count": 1, "points": "-2.00"}
    assert parts["warnings"] == {"count": 1, "points": "-5.00"}
    assert parts["suspensions"] == {"count": 1, "points": "-15.00"}
    assert parts["on_time"] == {"count": 12, "points": "10.00"}  # capped at +10
    assert parts["bans"] == {"count": 0, "forced_grade": ""}
    # 80 + 5.03 − 8 − 6 − 2 − 5 − 15 + 10
    assert (row.score, row.grade, row.formula_version) == (Decimal("59.03"), "D", 1)
    assert row.trigger == "test" and parts["previous"] == {"score": None, "grade": ""}
    agency.refresh_from_db()
    assert (agency.credit_score, agency.credit_grade) == (Decimal("59.03"), "D")

    banned.refresh_from_db()
    assert (banned.credit_score, banned.credit_grade) == (Decimal("80.00"), "D")
    clean.refresh_from_db()
    assert (clean.credit_score, clean.credit_grade) == (Decimal("80.00"), "B")


def test_history_is_kept_and_written_only_on_change(world):
    agency = world.agencies[0]
    now = timezone.now()
    recompute([agency.pk], "first", now=now)
    recompute([agency.pk], "again", now=now)  # nothing changed: no new row
    assert list(CreditScore.objects.values_list("trigger", flat=True)) == ["first"]
    add_rating(world, agency, (5, 5, 5, 5, 5), age_days=0, now=now)
    recompute([agency.pk], "rating.submit", now=now)
    history = list(CreditScore.objects.filter(agency=agency).order_by("pk"))
    assert [(h.score, h.grade, h.trigger) for h in history] == [
        (Decimal("80.00"), "B", "first"),
        (Decimal("95.00"), "A", "rating.submit"),
    ]
    assert history[1].components["previous"] == {"score": "80.00", "grade": "B"}
    # A year later the rating weighs less but its average is the same: unchanged. Two
    # years later it has left the window: back to the base.
    recompute([agency.pk], "nightly", now=now + datetime.timedelta(days=365))
    assert CreditScore.objects.filter(agency=agency).count() == 2
    recompute([agency.pk], "nightly", now=now + datetime.timedelta(days=800))
    assert CreditScore.objects.filter(agency=agency).latest("pk").score == Decimal("80.00")


def _agencies(n):
    return [AgencyFactory(status=EnrolmentStatus.APPROVED).pk for _ in range(n)]


def test_recompute_costs_a_fixed_number_of_queries(world, django_assert_num_queries):
    """10 agencies or 200, all changing: the same queries — a savepoint and its release, the
    agencies locked, the six inputs (ratings, complaints, overdue, on-time, declines,
    sanctions), one INSERT of the history, one UPDATE of the agencies, and the search sync
    (one outbox message per index backend: the database one in tests)."""
    few, many = _agencies(10), _agencies(200)
    now = timezone.now()
    for agency_id in many[:20]:
        agency = Agency.objects.get(pk=agency_id)
        add_rating(world, agency, (4, 4, 4, 4, 4), age_days=3, now=now)
    deliver_all()  # the agencies' own index syncs, queued once per transaction
    with django_assert_num_queries(12):
        assert recompute(few, "t", now=now).changed == 10
    with django_assert_num_queries(12):
        assert recompute(many, "t", now=now).changed == 200
    # Nothing changed: no writes.
    with django_assert_num_queries(9):
        assert recompute(many, "t", now=now).changed == 0


# --- through the outbox ---------------------------------------------------------------------


def deliver_all():
    while outbox.sweep():
        pass


def credit_messages(trigger=None):
    messages = OutboxMessage.objects.filter(topic=credit.TOPIC)
    if trigger:
        messages = messages.filter(payload__trigger=trigger)
    return messages


def test_request_recompute_queues_an_agency_once_per_transaction(world):
    a, b = world.agencies[0].pk, world.agencies[1].pk
    with transaction.atomic():
        request_recompute(a, "complaint.upheld")
        request_recompute([a, b], "sanction.take_effect")
        request_recompute(a, "sanction.take_effect")
    payloads = [m.payload for m in credit_messages().order_by("pk")]
    assert payloads == [
        {"agency_ids": [a], "trigger": "complaint.upheld"},
        {"agency_ids": [b], "trigger": "sanction.take_effect"},
    ]
    deliver_all()
    assert set(CreditScore.objects.values_list("agency_id", "trigger")) == {
        (a, "complaint.upheld"),
        (b, "sanction.take_effect"),
    }


def test_a_rating_recomputes_the_credit_through_the_outbox(world):
    contract = contract_to_pay(world)
    # The acceptance queued a recomputation (credit_signals): 80 + 1 on-time completion.
    assert credit_messages("contract.accept").exists()
    deliver_all()
    agency = Agency.objects.get(pk=contract.agency_id)
    assert (agency.credit_score, agency.credit_grade) == (Decimal("81.00"), "B")

    rating_submit(
        actor=owner_admin(contract),
        contract=contract,
        quality=5,
        timeliness=5,
        attitude=5,
        fees=5,
        compliance=5,
        comment="",
    )
    message = credit_messages("rating.submit").get()
    agency.refresh_from_db()
    assert agency.credit_grade == "B"  # not before delivery
    deliver_all()
    message.refresh_from_db()
    assert message.status == OutboxStatus.DELIVERED
    agency.refresh_from_db()
    assert (agency.credit_score, agency.credit_grade) == (Decimal("96.00"), "A")
    latest = CreditScore.objects.filter(agency=agency).latest("pk")
    assert latest.trigger == "rating.submit" and latest.components["on_time"]["count"] == 1


def test_contract_and_registration_events_queue_a_recomputation(world):
    # A declined selection.
    announcement = make_announcement(world)
    register_all(announcement, world.agencies)
    close_and_draw(announcement)
    selected = announcement.registrations.get(status=RegistrationStatus.SELECTED)
    services.registration_decline(actor=admin_of(selected.agency), registration=selected)
    deliver_all()
    assert credit_messages("registration.decline").get().payload["agency_ids"] == [
        selected.agency_id
    ]
    # A contract flagged overdue; then completed (accept is covered above).
    contract = contract_to_pay(world, accept=0)
    Contract.objects.filter(pk=contract.pk).update(
        due_date=timezone.localdate() - datetime.timedelta(days=2)
    )
    assert contract_services.flag_overdue() == 1
    assert credit_messages("contract.overdue").get().payload["agency_ids"] == [contract.agency_id]
    # Other saves of a contract queue nothing.
    before = credit_messages().count()
    Contract.objects.get(pk=contract.pk).save(update_fields=["scope"])
    assert credit_messages().count() == before


def test_completion_queues_a_recomputation(world):
    contract = contract_to_pay(world)
    deliver_all()  # the acceptance's recomputation
    with transaction.atomic():
        locked = Contract.objects.select_for_update().get(pk=contract.pk)
        locked.milestones.update(status="paid")
        assert contract_services.complete_if_paid(locked)
    assert credit_messages("contract.complete").exists()


def test_the_nightly_job_recomputes_everyone(world):
    job = chronograph.default.jobs["ratings.credit_refresh"]
    assert job.every == datetime.timedelta(hours=24)
    result = credit.credit_refresh(timezone.now())
    approved = Agency.objects.filter(approved_at__isnull=False).count()
    assert result["agencies"] == approved >= 4 and result["changed"] == approved
    assert credit.credit_refresh(timezone.now())["changed"] == 0


# --- where the grade shows --------------------------------------------------------------------


def test_a_grade_change_shows_on_the_profile_and_in_search(client, world, settings):
    from search.api import primary_backend
    from tests.search.builders import build_index, find, pk
    from tests.search.conftest import configure_search

    configure_search(settings, backend="database")
    backend = primary_backend()
    contract = contract_to_pay(world)
    agency = contract.agency
    deliver_all()
    build_index(backend, "agency")
    assert pk(agency) in {h.id for h in find(backend, {"credit": "B"}).hits}
    profile = reverse("agencies:profile", args=[agency.pk])
    assert 'id="profile-credit-grade">B</a>' in text(client.get(profile))

    rating_submit(
        actor=owner_admin(contract),
        contract=contract,
        quality=5,
        timeliness=5,
        attitude=5,
        fees=5,
        compliance=4,
        comment="",
    )
    deliver_all()
    agency.refresh_from_db()
    assert agency.credit_grade == "A"
    html = text(client.get(profile))
    assert 'id="profile-credit-grade">A</a>' in html and "4.80 out of 5 (1 rating)" in html
    hits = {h.id: h for h in find(backend, {"credit": "A"}).hits}
    assert pk(agency) in hits
    assert pk(agency) not in {h.id for h in find(backend, {"credit": "B"}).hits}
    data = hits[pk(agency)].data
    assert (data["credit_grade"], data["rating_count"], data["rating_average"]) == ("A", 1, 4.8)
    directory = text(client.get(reverse("agencies:directory"), {"credit": "A"}))
    assert "4.80 out of 5 (1 rating)" in directory


def test_the_credit_record_explains_each_term(client, world):
    agency = world.agencies[0]
    now = timezone.now()
    recompute([agency.pk], "first", now=now)
    add_rating(world, agency, (5, 5, 5, 5, 5), age_days=0, now=now)
    recompute([agency.pk], "rating.submit", now=now)
    html = text(client.get(reverse("ratings:credit_history", args=[agency.pk])))
    assert 'id="credit-grade">A<' in html and 'id="credit-score">95.00<' in html
    assert html.count('data-term="ratings"') == 2 and "weighted average 5.00" in html
    assert "rating.submit" in html and "before: grade B, 80.00 points" in html
    # Only the public directory's agencies have a public credit record.
    draft = AgencyFactory()
    url = reverse("ratings:credit_history", args=[draft.pk])
    assert client.get(url).status_code == 404


def test_the_published_rules_state_the_formula(client, world):
    from cms.demo import CREDIT_POLICY, ensure_credit_policy, ensure_home, ensure_sections

    assert CREDIT_POLICY["slug"] == credit.POLICY_SLUG
    body = re.sub(r"<[^>]+>", "", CREDIT_POLICY["body"])
    assert "第1版" in body and credit.FORMULA_VERSION == 1
    for phrase in (
        "基础分80分",
        "前24个月",
        "每过12个月（365天）权重减半",
        "（加权平均分 − 3）× 7.5",
        "每件扣8分",
        "每份扣3分",
        "每次扣2分",
        "警示每次扣5分",
        "暂停选取资格每次扣15分",
        "解除后12个月内",
        "每份加1分，最多加10分",
        "低于0分的按0分计，高于100分的按100分计",
        "A级：90分及以上",
        "B级：75分及以上",
        "C级：60分及以上",
        "D级：不足60分",
        "信用等级一律为D级",
    ):
        assert phrase in body, phrase
    assert (credit.BASE, credit.WINDOW_MONTHS, credit.HALF_LIFE_DAYS) == (80, 24, 365)
    assert (credit.COMPLAINT_POINTS, credit.OVERDUE_POINTS, credit.DECLINE_POINTS) == (-8, -3, -2)
    assert (credit.WARNING_POINTS, credit.SUSPENSION_POINTS, credit.ON_TIME_CAP) == (-5, -15, 10)
    assert [floor for floor, _grade in credit.GRADES] == [90, 75, 60]

    page = ensure_credit_policy(ensure_sections(ensure_home()))
    assert page.illustrative and page.live
    assert ensure_credit_policy(ensure_sections(ensure_home())).pk == page.pk
    response = client.get(page.url)
    assert response.status_code == 200 and "中介机构信用评价办法（示例）" in text(response)
    profile = text(client.get(reverse("agencies:profile", args=[world.agencies[0].pk])))
    assert f'href="{page.url}" id="credit-policy-link"' in profile
