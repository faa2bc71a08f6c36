"""Contract figures (履约指标) computed from the data, for the regulators' dashboards: the
on-time rate (按期完成率), the cycle times (采购周期、履约周期) and the fee reduction rate (降费率).

Pure reads. Each selector runs a fixed, small number of queries whatever the number of
contracts (the docstrings say how many); the counting, averaging and percentiles happen in the
database, never in a Python loop over the contracts — with one documented exception: the SQLite
demo backend has no ``percentile_cont``, so there ``cycle_times`` fetches the two timestamps of
each measured contract and computes the figures in Python.

Common keyword arguments (all optional):

``agency``, ``service_item``
    an instance or a primary key: only that agency's contracts, only that service item's.
``since``, ``until``
    an inclusive range of dates (Asia/Shanghai days) on the event that ends what is measured:
    acceptance (验收) for the on-time rate, signing (签订) for the announcement → contract
    leg and the fee reduction, completion (完成) for the contract → completion leg.
``contracts``
    the base queryset (default: every contract), e.g. the contracts within a regulator's region
    and industry scope, or without the demo's illustrative rows.

Rates are ``Decimal`` fractions with four places (``Decimal("0.7500")`` is 75 %), ``None`` when
nothing was measured; durations are ``Decimal`` days with one place.
"""

from __future__ import annotations

import datetime
import functools
import math
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db import connections
from django.db.models import (
    Avg,
    Count,
    DecimalField,
    Expression,
    F,
    FloatField,
    IntegerField,
    Max,
    Min,
    Q,
    QuerySet,
    Sum,
    Value,
)
from django.db.models.aggregates import Aggregate
from django.db.models.functions import TruncDate
from django.db.models.lookups import LessThanOrEqual
from django.utils import timezone

from marketplace import workdays
from procurement.models import Contract, ContractStatus

SHANGHAI = workdays.SHANGHAI
SECONDS_PER_DAY = 86400
RATE = Decimal("0.0001")
TENTH = Decimal("0.1")
CENT = Decimal("0.01")

# Finished work: the service was accepted (验收), whether or not every milestone is paid yet.
FINISHED_STATES = (ContractStatus.ACCEPTED, ContractStatus.COMPLETED)


# --- results ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class OnTimeRate:
    """按期完成率: of the ``finished`` contracts (accepted or completed), ``on_time`` were
    accepted on or before their due date and never flagged overdue. ``rate`` = on_time ÷
    finished, four places; None when nothing finished."""

    finished: int
    on_time: int
    rate: Decimal | None

    @property
    def late(self) -> int:
        return self.finished - self.on_time


@dataclass(frozen=True)
class Durations:
    """One leg of the cycle: how many contracts were measured, and the mean, median (p50) and
    90th percentile (linear interpolation, as PostgreSQL's ``percentile_cont``) in calendar days
    (exact elapsed time ÷ 24 h) and in working days (Chinese official calendar with its swapped
    days: the working days in (start day, end day], as ``marketplace.workdays``). One decimal
    place; None when ``count`` is 0."""

    count: int
    mean_days: Decimal | None = None
    p50_days: Decimal | None = None
    p90_days: Decimal | None = None
    mean_working_days: Decimal | None = None
    p50_working_days: Decimal | None = None
    p90_working_days: Decimal | None = None


@dataclass(frozen=True)
class CycleTimes:
    """采购周期 (announcement published → contract signed; contracts from an announcement only,
    direct purchases have none) and 履约周期 (contract signed → completed)."""

    announcement_to_contract: Durations
    contract_to_completion: Durations


@dataclass(frozen=True)
class FeeReductionSummary:
    """降费率 over the contracts with a standard fee. ``mean_rate``: the plain mean of the
    contracts' rates; ``overall_rate``: 1 − Σ price ÷ Σ standard fee (the rate weighted by the
    standard fee); ``total_saved`` = Σ (standard fee − price). Rates None when ``count`` is 0,
    sums 0.00. A price above the standard fee gives a negative rate (it is kept, not clipped)."""

    count: int
    mean_rate: Decimal | None
    overall_rate: Decimal | None
    total_standard_fee: Decimal
    total_price: Decimal
    total_saved: Decimal


# --- database expressions ------------------------------------------------------------------


class _Between(Expression):
    """Something computed from a start and an end expression (PostgreSQL SQL)."""

    def __init__(self, start, end, output_field=None):
        super().__init__(output_field=output_field)
        self.start = _expr(start)
        self.end = _expr(end)

    def get_source_expressions(self):
        return [self.start, self.end]

    def set_source_expressions(self, exprs):
        self.start, self.end = exprs


class _ElapsedSeconds(_Between):
    """Seconds from start to end (timestamps), as double precision."""

    output_field = FloatField()

    def as_sql(self, compiler, connection):
        start_sql, start_params = compiler.compile(self.start)
        end_sql, end_params = compiler.compile(self.end)
        sql = f"(EXTRACT(EPOCH FROM {end_sql}) - EXTRACT(EPOCH FROM {start_sql}))::double precision"
        return sql, (*end_params, *start_params)


class _WorkingDays(_Between):
    """Working days in (start day, end day] by lookup in a cumulative calendar passed as an
    integer array: ``index[k]`` = working days in (first, first + k days]. One array access per
    row, no per-row loop; the array has one entry per day of the data's span (a few thousand
    at most), built once in Python (``_working_day_index``)."""

    output_field = IntegerField()

    def __init__(self, start, end, *, first: datetime.date, index: tuple[int, ...]):
        super().__init__(TruncDate(start, tzinfo=SHANGHAI), TruncDate(end, tzinfo=SHANGHAI))
        self.first = first
        self.index = list(index)

    def as_sql(self, compiler, connection):
        start_sql, start_params = compiler.compile(self.start)
        end_sql, end_params = compiler.compile(self.end)
        # PostgreSQL arrays are 1-based; an index out of the array gives NULL (never an error).
        sql = (
            f"((%s::integer[])[({end_sql} - %s::date) + 1]"
            f" - (%s::integer[])[({start_sql} - %s::date) + 1])"
        )
        params = (self.index, *end_params, self.first, self.index, *start_params, self.first)
        return sql, params


class _PercentileCont(Aggregate):
    """PostgreSQL's ``percentile_cont(ARRAY[fractions]) WITHIN GROUP (ORDER BY expression)``:
    several percentiles from one sort, as a list of floats."""

    function = "PERCENTILE_CONT"
    name = "PercentileCont"
    template = "%(function)s(ARRAY[%(fractions)s]) WITHIN GROUP (ORDER BY %(expressions)s)"
    arity = 1

    def __init__(self, expression, fractions: tuple[float, ...], **extra):
        from django.contrib.postgres.fields import ArrayField

        if not fractions or not all(0 <= f <= 1 for f in fractions):
            raise ValueError("fractions must be within 0..1")
        literal = ", ".join(f"{float(f)!r}::double precision" for f in fractions)
        super().__init__(
            expression, fractions=literal, output_field=ArrayField(FloatField()), **extra
        )


def _expr(value):
    return F(value) if isinstance(value, str) else value


# --- filters -------------------------------------------------------------------------------


def _base(contracts: QuerySet | None, agency, service_item) -> QuerySet:
    qs = Contract.objects.all() if contracts is None else contracts
    if agency is not None:
        qs = qs.filter(agency=agency)
    if service_item is not None:
        qs = qs.filter(service_item=service_item)
    return qs.order_by()  # the default ordering would join the GROUP BY


def _start_of(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=SHANGHAI)


def _period(field: str, since: datetime.date | None, until: datetime.date | None) -> Q:
    """``field`` (a timestamp) within the Asia/Shanghai days since … until, both inclusive."""
    q = Q()
    if since is not None:
        q &= Q(**{f"{field}__gte": _start_of(since)})
    if until is not None:
        q &= Q(**{f"{field}__lt": _start_of(until + datetime.timedelta(days=1))})
    return q


# --- 1. on-time rate -------------------------------------------------------------------------


def _finished(since, until) -> Q:
    return Q(status__in=FINISHED_STATES) & _period("accepted_at", since, until)


def _on_time() -> Q:
    """Accepted (Asia/Shanghai day) on or before the due date, and never flagged overdue: an
    extension agreed after the flag does not make the contract on time."""
    return Q(
        LessThanOrEqual(TruncDate("accepted_at", tzinfo=SHANGHAI), F("due_date")),
        was_overdue=False,
        overdue_since__isnull=True,
    )


def _rate(part: int, whole: int) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(part) / Decimal(whole)).quantize(RATE, rounding=ROUND_HALF_UP)


def on_time_rate(
    *,
    agency=None,
    service_item=None,
    since: datetime.date | None = None,
    until: datetime.date | None = None,
    contracts: QuerySet | None = None,
) -> OnTimeRate:
    """按期完成率 over the contracts accepted (``accepted_at``) within since … until whose work
    is finished (status accepted or completed; terminated and open contracts are left out).
    One query."""
    row = (
        _base(contracts, agency, service_item)
        .filter(_finished(since, until))
        .aggregate(finished=Count("pk"), on_time=Count("pk", filter=_on_time()))
    )
    return OnTimeRate(row["finished"], row["on_time"], _rate(row["on_time"], row["finished"]))


def on_time_rates_by_agency(
    *,
    service_item=None,
    since: datetime.date | None = None,
    until: datetime.date | None = None,
    contracts: QuerySet | None = None,
) -> dict[int, OnTimeRate]:
    """``on_time_rate`` per agency: {agency id: OnTimeRate}, in agency id order, for the
    agencies with at least one finished contract in the period. One query (GROUP BY agency)."""
    rows = (
        _base(contracts, None, service_item)
        .filter(_finished(since, until))
        .values("agency_id")
        .annotate(finished=Count("pk"), on_time=Count("pk", filter=_on_time()))
        .order_by("agency_id")
    )
    return {
        row["agency_id"]: OnTimeRate(
            row["finished"], row["on_time"], _rate(row["on_time"], row["finished"])
        )
        for row in rows
    }


# --- 2. cycle times --------------------------------------------------------------------------

# The legs: (start field, end field).
_TO_CONTRACT = ("announcement__published_at", "signed_at")
_TO_COMPLETION = ("signed_at", "completed_at")


def _legs(since, until) -> tuple[Q, Q]:
    to_contract = Q(
        announcement__isnull=False,
        announcement__published_at__isnull=False,
        signed_at__isnull=False,
    ) & _period("signed_at", since, until)
    to_completion = Q(
        status=ContractStatus.COMPLETED, signed_at__isnull=False, completed_at__isnull=False
    ) & _period("completed_at", since, until)
    return to_contract, to_completion


def cycle_times(
    *,
    agency=None,
    service_item=None,
    since: datetime.date | None = None,
    until: datetime.date | None = None,
    contracts: QuerySet | None = None,
) -> CycleTimes:
    """The two legs of the cycle in days (``Durations``): announcement → contract over the
    contracts from an announcement signed within since … until (terminated ones included: the
    procurement did end in a contract), and contract → completion over the contracts completed
    within since … until.

    PostgreSQL: two queries (one when nothing is measured): the count and the date span of the
    data, then every figure of both legs at once (``AVG`` and ``percentile_cont`` with
    ``FILTER``); working days by lookup in a cumulative calendar of the span passed as an array
    parameter (``_WorkingDays``).

    Other backends (the SQLite demo): two queries fetching only the start and end timestamps of
    the measured contracts, figures computed in Python (a loop over those rows: fine for a
    demo, not meant for large data)."""
    qs = _base(contracts, agency, service_item)
    to_contract, to_completion = _legs(since, until)
    if connections[qs.db].vendor == "postgresql":
        return _cycle_times_postgresql(qs, to_contract, to_completion)
    return CycleTimes(
        _durations_in_python(qs.filter(to_contract).values_list(*_TO_CONTRACT)),
        _durations_in_python(qs.filter(to_completion).values_list(*_TO_COMPLETION)),
    )


def _cycle_times_postgresql(qs: QuerySet, to_contract: Q, to_completion: Q) -> CycleTimes:
    legs = {"a": (to_contract, _TO_CONTRACT), "b": (to_completion, _TO_COMPLETION)}
    span_aggregates = {}
    for key, (condition, (start, end)) in legs.items():
        span_aggregates[f"{key}_n"] = Count("pk", filter=condition)
        span_aggregates[f"{key}_first_start"] = Min(start, filter=condition)
        span_aggregates[f"{key}_first_end"] = Min(end, filter=condition)
        span_aggregates[f"{key}_last_start"] = Max(start, filter=condition)
        span_aggregates[f"{key}_last_end"] = Max(end, filter=condition)
    span = qs.filter(to_contract | to_completion).aggregate(**span_aggregates)
    if not span["a_n"] and not span["b_n"]:
        return CycleTimes(Durations(0), Durations(0))

    moments = [v for k, v in span.items() if not k.endswith("_n") and v is not None]
    first = min(m.astimezone(SHANGHAI).date() for m in moments)
    # Up to today at least: a contract signed or completed between the two queries is still
    # within the calendar (its start could predate ``first``: then its working days are NULL,
    # left out of the working-day figures of that one call).
    last = max(
        max(m.astimezone(SHANGHAI).date() for m in moments), timezone.localdate(timezone=SHANGHAI)
    )
    index = _working_day_index(first, last)

    aggregates = {}
    for key, (condition, (start, end)) in legs.items():
        seconds = _ElapsedSeconds(start, end)
        working = _WorkingDays(start, end, first=first, index=index)
        aggregates[f"{key}_n"] = Count("pk", filter=condition)
        aggregates[f"{key}_mean"] = Avg(seconds, filter=condition)
        aggregates[f"{key}_pct"] = _PercentileCont(seconds, (0.5, 0.9), filter=condition)
        aggregates[f"{key}_wd_mean"] = Avg(working, filter=condition)
        aggregates[f"{key}_wd_pct"] = _PercentileCont(working, (0.5, 0.9), filter=condition)
    row = qs.filter(to_contract | to_completion).aggregate(**aggregates)

    def leg(key: str) -> Durations:
        if not row[f"{key}_n"]:
            return Durations(0)
        p50, p90 = row[f"{key}_pct"]
        wd_p50, wd_p90 = row[f"{key}_wd_pct"]
        return Durations(
            count=row[f"{key}_n"],
            mean_days=_days(row[f"{key}_mean"]),
            p50_days=_days(p50),
            p90_days=_days(p90),
            mean_working_days=_tenth(row[f"{key}_wd_mean"]),
            p50_working_days=_tenth(wd_p50),
            p90_working_days=_tenth(wd_p90),
        )

    return CycleTimes(leg("a"), leg("b"))


def _durations_in_python(pairs) -> Durations:
    """The fallback for backends without percentile_cont: one query for the (start, end) pairs,
    then the same figures as PostgreSQL computes."""
    pairs = list(pairs)
    if not pairs:
        return Durations(0)
    days = [
        (start.astimezone(SHANGHAI).date(), end.astimezone(SHANGHAI).date()) for start, end in pairs
    ]
    first = min(min(a, b) for a, b in days)
    last = max(max(a, b) for a, b in days)
    index = _working_day_index(first, last)
    seconds = [(end - start).total_seconds() for start, end in pairs]
    working = [index[(b - first).days] - index[(a - first).days] for a, b in days]
    return Durations(
        count=len(pairs),
        mean_days=_days(math.fsum(seconds) / len(seconds)),
        p50_days=_days(_percentile(seconds, 0.5)),
        p90_days=_days(_percentile(seconds, 0.9)),
        mean_working_days=_tenth(math.fsum(working) / len(working)),
        p50_working_days=_tenth(_percentile(working, 0.5)),
        p90_working_days=_tenth(_percentile(working, 0.9)),
    )


def _percentile(values: list, fraction: float) -> float:
    """percentile_cont: linear interpolation between the closest ranks."""
    ordered = sorted(values)
    rank = fraction * (len(ordered) - 1)
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@functools.lru_cache(maxsize=16)
def _working_day_index(first: datetime.date, last: datetime.date) -> tuple[int, ...]:
    """Cumulative working days: entry k = working days in (first, first + k days], for every
    day from ``first`` to ``last``; so working days in (a, b] = entry[b − first] −
    entry[a − first]. One calendar lookup per day of the span, cached."""
    index = [0]
    day = first
    while day < last:
        day += datetime.timedelta(days=1)
        index.append(index[-1] + (1 if workdays.is_working_day(day) else 0))
    return tuple(index)


def _tenth(value) -> Decimal | None:
    if value is None:
        return None
    return Decimal(repr(float(value))).quantize(TENTH, rounding=ROUND_HALF_UP)


def _days(seconds) -> Decimal | None:
    return None if seconds is None else _tenth(float(seconds) / SECONDS_PER_DAY)


# --- 3. fee reduction ------------------------------------------------------------------------


class _FeeReductionRate(_Between):
    """1 − price ÷ standard fee, rounded to four places unless ``rounded`` is False. SQLite
    stores whole-yuan decimals as integers, so there the division is made in floating point."""

    output_field = DecimalField(max_digits=9, decimal_places=4)

    def __init__(self, rounded: bool = True):
        super().__init__("price", "standard_fee")
        self.rounded = rounded

    def as_sql(self, compiler, connection):
        price_sql, price_params = compiler.compile(self.start)
        fee_sql, fee_params = compiler.compile(self.end)
        if connection.vendor == "sqlite":
            price_sql = f"CAST({price_sql} AS REAL)"
        sql = f"(1 - {price_sql} / {fee_sql})"
        return (f"ROUND({sql}, 4)" if self.rounded else sql), (*price_params, *fee_params)

    def get_db_converters(self, connection):
        # SQLite hands back a float: made a Decimal of four places, as PostgreSQL's numeric.
        return [*super().get_db_converters(connection), self._four_places]

    def _four_places(self, value, expression, connection):
        if value is None or not self.rounded:
            return value
        return Decimal(value).quantize(RATE, rounding=ROUND_HALF_UP)


def _with_standard_fee(since, until) -> Q:
    """Signed contracts (not terminated) whose item had a fee rule when they were made."""
    return (
        Q(signed_at__isnull=False, standard_fee__gt=0)
        & ~Q(status=ContractStatus.TERMINATED)
        & _period("signed_at", since, until)
    )


def fee_reduction_rates(
    *,
    agency=None,
    service_item=None,
    since: datetime.date | None = None,
    until: datetime.date | None = None,
    contracts: QuerySet | None = None,
) -> QuerySet:
    """The contracts signed within since … until (not terminated) with a standard fee, each
    annotated with ``fee_reduction_rate`` = 1 − price ÷ standard_fee (Decimal, four places;
    computed by the database). Contracts without a standard fee (the item has no fee rule) are
    left out. A lazy queryset in the model's ordering: one query when evaluated."""
    return (
        _base(contracts, agency, service_item)
        .filter(_with_standard_fee(since, until))
        .annotate(fee_reduction_rate=_FeeReductionRate())
        .order_by(*Contract._meta.ordering)
    )


def fee_reduction_summary(
    *,
    agency=None,
    service_item=None,
    since: datetime.date | None = None,
    until: datetime.date | None = None,
    contracts: QuerySet | None = None,
) -> FeeReductionSummary:
    """降费率 over the contracts of ``fee_reduction_rates``: count, mean and overall rate, sums.
    One query."""
    row = (
        _base(contracts, agency, service_item)
        .filter(_with_standard_fee(since, until))
        .aggregate(
            count=Count("pk"),
            mean_rate=Avg(
                _FeeReductionRate(rounded=False),
                output_field=DecimalField(max_digits=20, decimal_places=10),
            ),
            total_standard_fee=Sum("standard_fee", default=Value(Decimal(0))),
            total_price=Sum("price", default=Value(Decimal(0))),
        )
    )
    standard = _money(row["total_standard_fee"])
    price = _money(row["total_price"])
    overall = None
    if row["count"]:
        overall = (1 - price / standard).quantize(RATE, rounding=ROUND_HALF_UP)
    mean = row["mean_rate"]
    return FeeReductionSummary(
        count=row["count"],
        mean_rate=None if mean is None else Decimal(mean).quantize(RATE, rounding=ROUND_HALF_UP),
        overall_rate=overall,
        total_standard_fee=standard,
        total_price=price,
        total_saved=standard - price,
    )


def _money(value) -> Decimal:
    return Decimal(value or 0).quantize(CENT, rounding=ROUND_HALF_UP)


__all__ = [
    "FINISHED_STATES",
    "CycleTimes",
    "Durations",
    "FeeReductionSummary",
    "OnTimeRate",
    "cycle_times",
    "fee_reduction_rates",
    "fee_reduction_summary",
    "on_time_rate",
    "on_time_rates_by_agency",
]
