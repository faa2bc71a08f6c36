"""Credit (信用评价): the formula, its recomputation and the outbox hook.

**For the other parts of the market**: ``request_recompute(agency_id, trigger)`` — call it
inside the transaction of an event that changes an agency's credit (a complaint upheld, a
sanction taking effect or ending, …). It writes an outbox message (topic ``ratings.credit``);
after commit the outbox recomputes the agency's credit. Ratings (ratings/rating.py) and
contract and registration events (ratings/credit_signals.py) call it themselves.

The formula, version 1 (``FORMULA_VERSION``), published in plain Chinese on the CMS page
“中介机构信用评价办法（示例）” (cms/demo.py ``CREDIT_POLICY``). "Now" is the moment of the
computation; the window is the last 24 months.

    score = 80                                          (base)
          + ratings      (weighted average of the overall rating − 3) × 7.5    −15 … +15
                         the overall rating of one rating is the mean of its five scores;
                         each rating of the window weighs 0.5 ^ (age in days ÷ 365)
                         (half-life 12 months); the weighted average and the points are
                         rounded to 0.01; no rating in the window: 0
          − 8 × upheld complaints against the agency, decided in the window
          − 3 × contracts flagged overdue (was_overdue) whose due date is in the window
          − 2 × selections declined (放弃, by the agency or by silence) in the window
          − 5 × warnings, −15 × suspensions, in effect or ended less than 12 months ago
            (revoked on appeal or withdrawn sanctions do not count)
          + 1 × contracts accepted on time in the window (procurement.figures), at most +10
    clamped to 0 … 100, rounded to 0.01.
    grade A ≥ 90, B ≥ 75, C ≥ 60, D below; a market ban in effect or ended less than
    12 months ago makes the grade D whatever the score.

History: a ``CreditScore`` row is written when an agency's score or grade changes (and at its
first computation), with each term in ``components`` and the event that triggered it; the
nightly refresh (recency decay) therefore writes rows only for the agencies whose score
moved. ``Agency.credit_score`` / ``credit_grade`` hold the latest.

Cost: ``recompute`` works in batches of 2,000 agencies, each in its own transaction, with a
fixed number of queries per batch: agencies (locked), ratings, complaints, overdue contracts,
on-time contracts, declines, sanctions (7), then, when something changed, one INSERT of the
history rows, one UPDATE of the agencies and the search sync messages (one per 500 changed
agencies and index backend).
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from dateutil.relativedelta import relativedelta
from django.db import transaction
from django.db.models import Count, F, Q
from django.utils import timezone

from marketplace import chronograph, outbox

logger = logging.getLogger(__name__)

TOPIC = "ratings.credit"
# The CMS page publishing the formula (a PolicyPage under 政策法规, created by cms/demo.py).
POLICY_SLUG = "credit-evaluation-rules"
BATCH = 2000

FORMULA_VERSION = 1
BASE = Decimal(80)
WINDOW_MONTHS = 24
HALF_LIFE_DAYS = 365
RATING_MIDPOINT = Decimal(3)
RATING_SCALE = Decimal("7.5")  # (5 − 3) × 7.5 = +15; (1 − 3) × 7.5 = −15
COMPLAINT_POINTS = Decimal(-8)
OVERDUE_POINTS = Decimal(-3)
DECLINE_POINTS = Decimal(-2)
WARNING_POINTS = Decimal(-5)
SUSPENSION_POINTS = Decimal(-15)
SANCTION_MEMORY_MONTHS = 12
ON_TIME_POINTS = Decimal(1)
ON_TIME_CAP = Decimal(10)
MIN_SCORE, MAX_SCORE = Decimal(0), Decimal(100)
GRADES = ((Decimal(90), "A"), (Decimal(75), "B"), (Decimal(60), "C"))
LOWEST_GRADE = "D"
CENT = Decimal("0.01")


# --- the hook -----------------------------------------------------------------------------


def request_recompute(agency_id: int | Iterable[int], trigger: str) -> None:
    """Queues a recomputation of the credit of ``agency_id`` (one id or several) for after
    commit, through the outbox (topic ``ratings.credit``). Call it inside the transaction of
    the event; ``trigger`` names the event (e.g. ``"complaint.upheld"``) and is stored with
    the new score. An agency is queued at most once per transaction."""
    ids = [agency_id] if isinstance(agency_id, int) else list(agency_id)
    ids = sorted({int(i) for i in ids if i is not None})
    if not ids:
        return
    conn = transaction.get_connection()
    if conn.in_atomic_block:
        # As search.indexing.mark_dirty: an entry is valid while its marker is among the
        # transaction's pending on_commit callbacks (Django drops them on rollback).
        queued: dict = conn.__dict__.setdefault("_mp_credit_queued", {})
        pending = {id(fn) for _sids, fn, *_rest in conn.run_on_commit}
        ids = [i for i in ids if id(queued.get(i)) not in pending]
        if not ids:
            return

        def marker() -> None:
            return None

        transaction.on_commit(marker)
        if len(queued) > 10_000:
            queued.clear()
        for i in ids:
            queued[i] = marker
    for start in range(0, len(ids), BATCH):
        outbox.enqueue(TOPIC, {"agency_ids": ids[start : start + BATCH], "trigger": trigger[:64]})


@outbox.handler(TOPIC)
def deliver_recompute(payload: dict, *, message=None) -> None:
    # Idempotent: recomputing twice gives the same score, and history is written on change.
    recompute(payload["agency_ids"], trigger=payload.get("trigger", ""))
    _forget(payload["agency_ids"])


def _forget(agency_ids) -> None:
    """Recomputed now: a later event in the same transaction must queue them again (a
    delivery inside the transaction that queued them: a sweep within an atomic block, a
    test). As search.indexing._forget."""
    queued = transaction.get_connection().__dict__.get("_mp_credit_queued")
    if queued:
        for i in agency_ids:
            queued.pop(int(i), None)


# --- the formula --------------------------------------------------------------------------


@dataclass
class Inputs:
    """What the formula reads of one agency."""

    ratings: list[tuple[float, int]]  # (age in days, sum of the five scores)
    complaints: int = 0
    overdue: int = 0
    declines: int = 0
    warnings: int = 0
    suspensions: int = 0
    bans: int = 0
    on_time: int = 0


def _dec(value) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def grade_of(score: Decimal) -> str:
    for floor, grade in GRADES:
        if score >= floor:
            return grade
    return LOWEST_GRADE


def rating_weight(age_days: float) -> float:
    """A rating's weight: halves every 12 months (365 days)."""
    return 0.5 ** (max(age_days, 0.0) / HALF_LIFE_DAYS)


def evaluate(inputs: Inputs) -> tuple[Decimal, str, dict]:
    """(score, grade, components) of one agency. Pure: no query."""
    components: dict = {"version": FORMULA_VERSION, "base": str(BASE)}
    if inputs.ratings:
        weights = [rating_weight(age) for age, _total in inputs.ratings]
        weighted = sum(w * total / 5 for w, (_age, total) in zip(weights, inputs.ratings))
        average = _dec(Decimal(repr(weighted / sum(weights))))
        rating_points = _dec((average - RATING_MIDPOINT) * RATING_SCALE)
    else:
        average = None
        rating_points = Decimal("0.00")
    components["ratings"] = {
        "count": len(inputs.ratings),
        "weighted_average": None if average is None else str(average),
        "points": str(rating_points),
    }
    total = BASE + rating_points
    for key, count, per in (
        ("complaints", inputs.complaints, COMPLAINT_POINTS),
        ("overdue", inputs.overdue, OVERDUE_POINTS),
        ("declines", inputs.declines, DECLINE_POINTS),
        ("warnings", inputs.warnings, WARNING_POINTS),
        ("suspensions", inputs.suspensions, SUSPENSION_POINTS),
    ):
        points = per * count
        components[key] = {"count": count, "points": str(_dec(points))}
        total += points
    bonus = min(ON_TIME_POINTS * inputs.on_time, ON_TIME_CAP)
    components["on_time"] = {"count": inputs.on_time, "points": str(_dec(bonus))}
    total += bonus
    components["raw"] = str(_dec(total))
    score = _dec(min(max(total, MIN_SCORE), MAX_SCORE))
    grade = grade_of(score)
    components["bans"] = {"count": inputs.bans, "forced_grade": LOWEST_GRADE if inputs.bans else ""}
    if inputs.bans:
        grade = LOWEST_GRADE
    return score, grade, components


# --- reading the inputs: a fixed number of queries per batch ------------------------------


def window_start(now: datetime.datetime) -> datetime.datetime:
    return now - relativedelta(months=WINDOW_MONTHS)


def _sum_of(*names: str):
    expression = F(names[0])
    for name in names[1:]:
        expression = expression + F(name)
    return expression


def _counts(qs, field: str = "agency_id") -> dict[int, int]:
    return dict(qs.order_by().values_list(field).annotate(n=Count("pk")).values_list(field, "n"))


def gather(agency_ids: list[int], now: datetime.datetime) -> dict[int, Inputs]:
    """The inputs of ``agency_ids``: six queries whatever their number."""
    from procurement.figures import on_time_rates_by_agency
    from procurement.models import Contract, Registration, RegistrationStatus
    from ratings.models import (
        BARRING_STATES,
        Complaint,
        ComplaintStatus,
        Rating,
        Sanction,
        SanctionSeverity,
        SanctionStatus,
    )

    since = window_start(now)
    local_since = timezone.localtime(since).date()
    inputs = {pk: Inputs(ratings=[]) for pk in agency_ids}

    for agency_id, created_at, total in (
        Rating.objects.filter(agency_id__in=agency_ids, created_at__gte=since, created_at__lte=now)
        .order_by()
        .annotate(total=_sum_of("quality", "timeliness", "attitude", "fees", "compliance"))
        .values_list("agency_id", "created_at", "total")
    ):
        age = (now - created_at).total_seconds() / 86400
        inputs[agency_id].ratings.append((age, int(total)))

    for agency_id, n in _counts(
        Complaint.objects.filter(
            agency_id__in=agency_ids,
            status=ComplaintStatus.UPHELD,
            decided_at__gte=since,
            decided_at__lte=now,
        )
    ).items():
        inputs[agency_id].complaints = n

    for agency_id, n in _counts(
        Contract.objects.filter(
            agency_id__in=agency_ids, was_overdue=True, due_date__gte=local_since
        )
    ).items():
        inputs[agency_id].overdue = n

    rates = on_time_rates_by_agency(
        since=local_since,
        until=timezone.localtime(now).date(),
        contracts=Contract.objects.filter(agency_id__in=agency_ids),
    )
    for agency_id, rate in rates.items():
        inputs[agency_id].on_time = rate.on_time

    for agency_id, n in _counts(
        Registration.objects.filter(
            agency_id__in=agency_ids,
            status=RegistrationStatus.DECLINED,
            responded_at__gte=since,
            responded_at__lte=now,
        )
    ).items():
        inputs[agency_id].declines = n

    memory = now - relativedelta(months=SANCTION_MEMORY_MONTHS)
    ended = Q(status__in=(SanctionStatus.EXPIRED, SanctionStatus.LIFTED)) & (
        Q(ended_at__gte=memory)
        | Q(ended_at__isnull=True, ends_on__gte=timezone.localtime(memory).date())
    )
    field = {
        SanctionSeverity.WARNING: "warnings",
        SanctionSeverity.SUSPENSION: "suspensions",
        SanctionSeverity.BAN: "bans",
    }
    for agency_id, severity, n in (
        Sanction.objects.filter(agency_id__in=agency_ids)
        .filter(Q(status__in=BARRING_STATES) | ended)
        .order_by()
        .values_list("agency_id", "severity")
        .annotate(n=Count("pk"))
        .values_list("agency_id", "severity", "n")
    ):
        if severity in field:
            setattr(inputs[agency_id], field[severity], n)
    return inputs


# --- recomputation ------------------------------------------------------------------------


@dataclass
class RecomputeReport:
    agencies: int = 0
    changed: int = 0
    batches: int = 0


def recompute(
    agency_ids: Iterable[int], trigger: str = "", *, now: datetime.datetime | None = None
) -> RecomputeReport:
    """Recomputes the credit of ``agency_ids`` (any number; missing ids are ignored) in
    batches of 2,000, each in its own transaction: a fixed number of queries per batch (see
    the module's docstring). Writes a history row and updates the agency where the score or
    grade changed, and re-indexes those agencies for search."""
    now = now or timezone.now()
    ids = sorted({int(i) for i in agency_ids})
    report = RecomputeReport()
    for start in range(0, len(ids), BATCH):
        with transaction.atomic():
            changed, seen = _recompute_batch(ids[start : start + BATCH], trigger, now)
        report.agencies += seen
        report.changed += changed
        report.batches += 1
    return report


def _recompute_batch(ids: list[int], trigger: str, now) -> tuple[int, int]:
    from agencies.models import Agency
    from marketplace.bulk import bulk_update
    from ratings.models import CreditScore
    from search.indexing import mark_dirty

    agencies = list(
        Agency.objects.filter(pk__in=ids)
        .select_for_update(of=("self",))
        .order_by("pk")
        # status too: ConcurrentTransitionMixin reads it when the row is loaded.
        .only("pk", "status", "credit_score", "credit_grade")
    )
    if not agencies:
        return 0, 0
    inputs = gather([a.pk for a in agencies], now)
    history = []
    changed = []
    for agency in agencies:
        score, grade, components = evaluate(inputs[agency.pk])
        if agency.credit_score == score and agency.credit_grade == grade:
            continue
        components["previous"] = {
            "score": None if agency.credit_score is None else str(agency.credit_score),
            "grade": agency.credit_grade or "",
        }
        history.append(
            CreditScore(
                agency_id=agency.pk,
                score=score,
                grade=grade,
                components=components,
                formula_version=FORMULA_VERSION,
                trigger=(trigger or "")[:64],
            )
        )
        agency.credit_score = score
        agency.credit_grade = grade
        changed.append(agency)
    if changed:
        CreditScore.objects.bulk_create(history, batch_size=BATCH)
        bulk_update(changed, ["credit_score", "credit_grade"])
        mark_dirty("agency", [a.pk for a in changed])
    return len(changed), len(agencies)


def refresh_all(*, now: datetime.datetime | None = None, trigger: str = "nightly") -> dict:
    """Recomputes every agency that has been approved once (the ratings decay with time)."""
    from agencies.models import Agency

    now = now or timezone.now()
    report = RecomputeReport()
    last = 0
    while True:
        ids = list(
            Agency.objects.filter(approved_at__isnull=False, pk__gt=last)
            .order_by("pk")
            .values_list("pk", flat=True)[:BATCH]
        )
        if not ids:
            break
        last = ids[-1]
        part = recompute(ids, trigger, now=now)
        report.agencies += part.agencies
        report.changed += part.changed
        report.batches += part.batches
    return {"agencies": report.agencies, "changed": report.changed, "batches": report.batches}


@chronograph.job(
    "ratings.credit_refresh", every=datetime.timedelta(hours=24), lease=datetime.timedelta(hours=2)
)
def credit_refresh(now) -> dict:
    """Once a day: every agency's credit again, so that old ratings weigh less and events
    leave the window on time."""
    return refresh_all(now=now)
