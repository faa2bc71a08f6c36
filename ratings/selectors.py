"""Reads of ratings (服务评价) and credit (信用评价): the aggregates shown on an agency's
profile and in search, the latest ratings, the credit history. Each is one query whatever the
number of agencies or rows."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Avg, Count, F, Q

from ratings.models import CreditScore, Rating

DIMENSIONS = ("quality", "timeliness", "attitude", "fees", "compliance")
CENT = Decimal("0.01")
STARS = (1, 2, 3, 4, 5)


def _total():
    return F("quality") + F("timeliness") + F("attitude") + F("fees") + F("compliance")


def _star(k: int) -> Q:
    """A rating's overall score (the mean of its five, 1–5) rounded half up to ``k`` stars,
    as a range of the five scores' sum: k − 0.5 ≤ sum ÷ 5 < k + 0.5."""
    low = max(5, 5 * k - 2)
    high = min(25, 5 * k + 2)
    return Q(total__gte=low, total__lte=high)


@dataclass(frozen=True)
class RatingSummary:
    """An agency's ratings, all time: count, average of each dimension and overall (the
    mean of the five), distribution of the overall score rounded to whole stars."""

    count: int = 0
    averages: dict = field(default_factory=dict)  # dimension -> Decimal
    overall: Decimal | None = None
    distribution: dict = field(default_factory=lambda: dict.fromkeys(STARS, 0))

    @property
    def dimensions(self) -> list[tuple[str, Decimal | None]]:
        return [(name, self.averages.get(name)) for name in DIMENSIONS]

    @property
    def bars(self) -> list[tuple[int, int, int]]:
        """(stars, count, percentage of all), 5 stars first: for the distribution bars."""
        return [
            (k, self.distribution[k], round(100 * self.distribution[k] / self.count))
            if self.count
            else (k, 0, 0)
            for k in reversed(STARS)
        ]


EMPTY = RatingSummary()


def _dec(value) -> Decimal | None:
    if value is None:
        return None
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


def rating_summaries(agency_ids: Iterable[int]) -> dict[int, RatingSummary]:
    """{agency id: RatingSummary} for the agencies with at least one rating: one query
    (GROUP BY agency). Agencies without a rating are absent (use ``EMPTY``)."""
    ids = list({int(i) for i in agency_ids})
    if not ids:
        return {}
    rows = (
        Rating.objects.filter(agency_id__in=ids)
        .order_by()
        .annotate(total=_total())
        .values("agency_id")
        .annotate(
            n=Count("pk"),
            overall=Avg(F("total") * 1.0 / 5),
            **{f"avg_{name}": Avg(name) for name in DIMENSIONS},
            **{f"star_{k}": Count("pk", filter=_star(k)) for k in STARS},
        )
    )
    return {
        row["agency_id"]: RatingSummary(
            count=row["n"],
            averages={name: _dec(row[f"avg_{name}"]) for name in DIMENSIONS},
            overall=_dec(row["overall"]),
            distribution={k: row[f"star_{k}"] for k in STARS},
        )
        for row in rows
    }


def rating_summary(agency_id: int) -> RatingSummary:
    """One agency's ``RatingSummary`` (``EMPTY`` without ratings): one query."""
    return rating_summaries([agency_id]).get(int(agency_id), EMPTY)


def latest_ratings(agency_id: int, *, limit: int = 10) -> list[Rating]:
    """The agency's newest ratings with their replies, the owner's name and the service item
    title: one query."""
    return list(
        Rating.objects.filter(agency_id=agency_id)
        .select_related("owner__organisation", "contract__service_item")
        .only(
            "pk",
            "agency_id",
            "contract_id",
            "owner_id",
            *DIMENSIONS,
            "comment",
            "created_at",
            "reply",
            "replied_at",
            "owner__organisation__name",
            "contract__service_item__title",
            "contract__status",  # ConcurrentTransitionMixin reads it when the row is loaded
        )
        .order_by("-created_at", "-pk")[:limit]
    )


def credit_history(agency_id: int, *, limit: int = 100) -> list[CreditScore]:
    """The agency's credit scores, newest first: one query."""
    return list(
        CreditScore.objects.filter(agency_id=agency_id).order_by("-computed_at", "-pk")[:limit]
    )


def contract_rating(contract_id: int) -> Rating | None:
    """The rating of a contract, if any: one query."""
    return Rating.objects.filter(contract_id=contract_id).first()


def credit_policy_url() -> str:
    """The URL of the published credit rules page (cms demo ``CREDIT_POLICY_SLUG``), or ""
    when it is not published: one query."""
    from cms.models import PolicyPage
    from ratings.credit import POLICY_SLUG

    page = PolicyPage.objects.live().filter(slug=POLICY_SLUG).first()
    return page.url if page is not None else ""
