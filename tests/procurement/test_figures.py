"""procurement/figures.py: on-time rate, cycle times and fee reduction rate, on contracts built
directly with the ORM (known dates, known prices) and checked against figures worked out by
hand; and the number of queries each selector costs whatever the data."""

from __future__ import annotations

import datetime
import itertools
from decimal import Decimal

import pytest

from procurement import figures
from procurement.figures import CycleTimes, Durations, FeeReductionSummary, OnTimeRate
from procurement.models import Announcement, Contract, ContractSource, ContractStatus

pytestmark = pytest.mark.django_db

SHANGHAI = figures.SHANGHAI
S = ContractStatus
_serial = itertools.count(1)


def at(year, month, day, hour=10, minute=0) -> datetime.datetime:
    """An aware Asia/Shanghai moment."""
    return datetime.datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def announcement(world, published: datetime.datetime) -> Announcement:
    n = next(_serial)
    return Announcement.objects.create(
        code=f"FIG-GG-{n:05d}",
        project=world.project,
        service_item=world.item,
        title=f"指标测试公告 {n}",
        scope="编制环境影响报告表",
        budget_ceiling=Decimal(10000),
        method="random_draw",
        service_time_limit_days=10,
        published_at=published,
    )


def contract(
    world,
    *,
    status=S.COMPLETED,
    agency=None,
    item=None,
    ann=None,
    signed=None,
    due=None,
    accepted=None,
    completed=None,
    terminated=None,
    was_overdue=False,
    overdue_since=None,
    price="8000",
    standard_fee=None,
) -> Contract:
    price = Decimal(price)
    standard_fee = None if standard_fee is None else Decimal(standard_fee)
    made = Contract.objects.create(
        code=f"FIG-HT-{next(_serial):05d}",
        source=ContractSource.AWARD if ann else ContractSource.DIRECT_PURCHASE,
        announcement=ann,
        project=world.project,
        service_item=item or world.item,
        owner=world.owner,
        agency=agency or world.agencies[0],
        scope="编制环境影响报告表",
        price=price,
        price_ceiling=max(price, standard_fee or price),
        standard_fee=standard_fee,
        time_limit_days=10,
        signed_at=signed,
        due_date=due,
        accepted_at=accepted,
        completed_at=completed,
        terminated_at=terminated,
        was_overdue=was_overdue,
        overdue_since=overdue_since,
    )
    # The status is a protected FSM field: set it behind the state machine's back.
    Contract.objects.filter(pk=made.pk).update(status=status)
    return made


def finished(world, *, accepted, due, status=S.COMPLETED, **kwargs) -> Contract:
    """A contract signed a week before its acceptance, finished (accepted or completed)."""
    return contract(
        world,
        status=status,
        signed=accepted - datetime.timedelta(days=7),
        due=due,
        accepted=accepted,
        completed=accepted if status == S.COMPLETED else None,
        **kwargs,
    )


# --- on-time rate ---------------------------------------------------------------------------


@pytest.fixture
def punctuality(world):
    """Agency 0: on time (accepted on the due day), late (two days after). Agency 1: flagged
    overdue then extended and accepted before the new due date (late), on time (accepted
    before midnight, Asia/Shanghai, of the due day), late (accepted 00:30 the next day,
    which is still the due day in UTC). Agency 2: a terminated and an in-progress contract
    only (not finished: left out)."""
    a0, a1, a2, _ = world.agencies
    finished(world, agency=a0, accepted=at(2025, 3, 10, 16), due=datetime.date(2025, 3, 10))
    finished(
        world,
        agency=a0,
        accepted=at(2025, 3, 12),
        due=datetime.date(2025, 3, 10),
        status=S.ACCEPTED,
        was_overdue=True,
    )
    finished(
        world,
        agency=a1,
        accepted=at(2025, 3, 15),
        due=datetime.date(2025, 3, 20),  # after the extension
        was_overdue=True,
    )
    finished(world, agency=a1, accepted=at(2025, 4, 1, 23, 30), due=datetime.date(2025, 4, 1))
    finished(world, agency=a1, accepted=at(2025, 4, 2, 0, 30), due=datetime.date(2025, 4, 1))
    contract(
        world,
        agency=a2,
        status=S.TERMINATED,
        signed=at(2025, 3, 1),
        due=datetime.date(2025, 3, 20),
        terminated=at(2025, 3, 5),
    )
    contract(
        world,
        agency=a2,
        status=S.IN_PROGRESS,
        signed=at(2025, 3, 1),
        due=datetime.date(2025, 3, 20),
    )
    return world


def test_on_time_rate_counts_finished_contracts_only(punctuality, django_assert_num_queries):
    # One aggregate query (COUNT and COUNT … FILTER) whatever the number of contracts.
    with django_assert_num_queries(1):
        rate = figures.on_time_rate()
    assert rate == OnTimeRate(finished=5, on_time=2, rate=Decimal("0.4000"))
    assert rate.late == 3


def test_on_time_rate_per_agency(punctuality, django_assert_num_queries):
    a0, a1, a2, _ = punctuality.agencies
    # One query, GROUP BY agency.
    with django_assert_num_queries(1):
        rates = figures.on_time_rates_by_agency()
    assert rates == {
        a0.pk: OnTimeRate(2, 1, Decimal("0.5000")),
        a1.pk: OnTimeRate(3, 1, Decimal("0.3333")),
    }
    assert list(rates) == sorted(rates)  # agency id order; no row for a2 (nothing finished)
    assert figures.on_time_rate(agency=a1) == rates[a1.pk]
    assert figures.on_time_rate(agency=a2.pk) == OnTimeRate(0, 0, None)


def test_on_time_rate_filters(punctuality):
    world = punctuality
    other = finished(
        world,
        agency=world.agencies[3],
        item=world.items["free"],
        accepted=at(2025, 3, 11),
        due=datetime.date(2025, 3, 31),
    )
    assert figures.on_time_rate(service_item=other.service_item) == OnTimeRate(
        1, 1, Decimal("1.0000")
    )
    assert figures.on_time_rate(service_item=world.item.pk).finished == 5
    # The period is on the acceptance day (Asia/Shanghai), both ends inclusive: March.
    march = figures.on_time_rate(since=datetime.date(2025, 3, 10), until=datetime.date(2025, 3, 31))
    assert march == OnTimeRate(4, 2, Decimal("0.5000"))
    assert figures.on_time_rate(since=datetime.date(2025, 4, 2)) == OnTimeRate(1, 0, Decimal(0))
    assert figures.on_time_rate(until=datetime.date(2025, 3, 9)) == OnTimeRate(0, 0, None)
    # The base queryset narrows everything (e.g. a regulator's scope).
    assert figures.on_time_rate(
        contracts=Contract.objects.filter(agency=world.agencies[0])
    ) == OnTimeRate(2, 1, Decimal("0.5000"))


# --- cycle times ----------------------------------------------------------------------------


@pytest.fixture
def cycles(world):
    """Announcement → contract: published Monday 2025-03-03 10:00, signed 1, 2, 3, 4 and 10
    days later (working days 1, 2, 3, 4, 8), one of them since terminated; a draft from an
    announcement (not signed) and direct purchases are not in this leg.

    Contract → completion (direct purchases): 2.0 days (Mon → Wed, 2 working days), 5.0 days
    (Mon → Sat, 4) and 11.5 days across May Day 2025 (Fri 04-25 → Tue 05-06: working days
    Sun 04-27 (调休), 04-28, 04-29, 04-30 and 05-06 = 5); an in-progress one is not."""
    published = at(2025, 3, 3, 10)
    for days in (1, 2, 3, 4, 10):
        contract(
            world,
            ann=announcement(world, published),
            status=S.TERMINATED if days == 3 else S.IN_PROGRESS,
            signed=published + datetime.timedelta(days=days),
            due=datetime.date(2025, 4, 30),
        )
    contract(world, ann=announcement(world, published), status=S.DRAFT)
    for signed, done in (
        (at(2025, 3, 3, 9), at(2025, 3, 5, 9)),
        (at(2025, 3, 10, 9), at(2025, 3, 15, 9)),
        (at(2025, 4, 25, 9), at(2025, 5, 6, 21)),
    ):
        contract(world, signed=signed, due=done.date(), accepted=done, completed=done)
    contract(world, status=S.IN_PROGRESS, signed=at(2025, 3, 3), due=datetime.date(2025, 3, 20))
    return world


def D(value: str) -> Decimal:
    return Decimal(value)


TO_CONTRACT = Durations(
    count=5,
    mean_days=D("4.0"),  # (1 + 2 + 3 + 4 + 10) / 5
    p50_days=D("3.0"),
    p90_days=D("7.6"),  # rank 0.9 × 4 = 3.6: 4 + 0.6 × (10 − 4)
    mean_working_days=D("3.6"),  # (1 + 2 + 3 + 4 + 8) / 5
    p50_working_days=D("3.0"),
    p90_working_days=D("6.4"),  # 4 + 0.6 × (8 − 4)
)
TO_COMPLETION = Durations(
    count=3,
    mean_days=D("6.2"),  # (2 + 5 + 11.5) / 3 = 6.17
    p50_days=D("5.0"),
    p90_days=D("10.2"),  # rank 1.8: 5 + 0.8 × 6.5
    mean_working_days=D("3.7"),  # (2 + 4 + 5) / 3
    p50_working_days=D("4.0"),
    p90_working_days=D("4.8"),  # 4 + 0.8 × 1
)


def test_cycle_times(cycles, django_assert_num_queries):
    # Two queries: the count and date span of the data (the working-day calendar's extent),
    # then every figure of both legs in one aggregate (AVG, percentile_cont … FILTER).
    with django_assert_num_queries(2):
        times = figures.cycle_times()
    assert times == CycleTimes(TO_CONTRACT, TO_COMPLETION)


def test_cycle_times_python_fallback_gives_the_same_figures(cycles):
    """The SQLite path computes from the timestamps in Python: same definitions, same figures."""
    qs = Contract.objects.order_by()
    to_contract, to_completion = figures._legs(None, None)
    assert (
        figures._durations_in_python(qs.filter(to_contract).values_list(*figures._TO_CONTRACT))
        == TO_CONTRACT
    )
    assert (
        figures._durations_in_python(qs.filter(to_completion).values_list(*figures._TO_COMPLETION))
        == TO_COMPLETION
    )


def test_cycle_times_filters(cycles):
    # Signed (first leg) or completed (second leg) within 2025-03-04 … 2025-03-06.
    times = figures.cycle_times(since=datetime.date(2025, 3, 4), until=datetime.date(2025, 3, 6))
    assert times.announcement_to_contract == Durations(
        3, D("2.0"), D("2.0"), D("2.8"), D("2.0"), D("2.0"), D("2.8")
    )
    assert times.contract_to_completion == Durations(
        1, D("2.0"), D("2.0"), D("2.0"), D("2.0"), D("2.0"), D("2.0")
    )
    assert figures.cycle_times(agency=cycles.agencies[1]) == CycleTimes(Durations(0), Durations(0))
    only_b = figures.cycle_times(since=datetime.date(2025, 5, 1))
    assert only_b == CycleTimes(
        Durations(0), Durations(1, D("11.5"), D("11.5"), D("11.5"), D("5.0"), D("5.0"), D("5.0"))
    )


def test_working_day_index_matches_workdays():
    from marketplace import workdays

    first, last = datetime.date(2024, 12, 25), datetime.date(2025, 2, 15)  # across 春节 2025
    index = figures._working_day_index(first, last)
    assert len(index) == (last - first).days + 1
    for a, b in ((first, last), (datetime.date(2025, 1, 27), datetime.date(2025, 2, 5))):
        assert index[(b - first).days] - index[(a - first).days] == (
            workdays.working_days_between(a, b)
        )


# --- fee reduction --------------------------------------------------------------------------


@pytest.fixture
def fees(world):
    signed = at(2025, 3, 3)
    made = {
        "20%": contract(world, signed=signed, price="8000", standard_fee="10000"),
        "10%": contract(world, signed=signed, price="4500", standard_fee="5000", status=S.SIGNED),
        "third": contract(world, signed=at(2025, 4, 1), price="2000", standard_fee="3000"),
    }
    contract(world, signed=signed, price="3000")  # no fee rule for the item: no standard fee
    contract(
        world, signed=signed, price="1000", standard_fee="2000", status=S.TERMINATED
    )  # terminated
    contract(world, price="1000", standard_fee="2000", status=S.DRAFT)  # not signed
    return made


def test_fee_reduction_rates(fees, django_assert_num_queries):
    # One query: the contracts with the rate computed by the database.
    with django_assert_num_queries(1):
        rates = {c.pk: c.fee_reduction_rate for c in figures.fee_reduction_rates()}
    assert rates == {
        fees["20%"].pk: Decimal("0.2000"),
        fees["10%"].pk: Decimal("0.1000"),
        fees["third"].pk: Decimal("0.3333"),
    }


def test_fee_reduction_summary(fees, django_assert_num_queries):
    # One aggregate query: COUNT, AVG of the rate, SUMs.
    with django_assert_num_queries(1):
        summary = figures.fee_reduction_summary()
    assert summary == FeeReductionSummary(
        count=3,
        mean_rate=Decimal("0.2111"),  # (0.2 + 0.1 + 0.3333…) / 3
        overall_rate=Decimal("0.1944"),  # 1 − 14,500 / 18,000
        total_standard_fee=Decimal("18000.00"),
        total_price=Decimal("14500.00"),
        total_saved=Decimal("3500.00"),
    )
    march = figures.fee_reduction_summary(until=datetime.date(2025, 3, 31))
    assert (march.count, march.mean_rate, march.total_saved) == (
        2,
        Decimal("0.1500"),
        Decimal("2500.00"),
    )


# --- no data --------------------------------------------------------------------------------


def test_no_data_gives_none_not_errors(world, django_assert_num_queries):
    contract(world, status=S.IN_PROGRESS, signed=at(2025, 3, 3), price="100")
    with django_assert_num_queries(1):
        assert figures.on_time_rate() == OnTimeRate(0, 0, None)
    with django_assert_num_queries(1):
        assert figures.on_time_rates_by_agency() == {}
    # One query: the span query finds nothing to measure, so the figures query is not run.
    with django_assert_num_queries(1):
        assert figures.cycle_times() == CycleTimes(Durations(0), Durations(0))
    with django_assert_num_queries(1):
        assert list(figures.fee_reduction_rates()) == []
    with django_assert_num_queries(1):
        assert figures.fee_reduction_summary() == FeeReductionSummary(
            0, None, None, Decimal("0.00"), Decimal("0.00"), Decimal("0.00")
        )
