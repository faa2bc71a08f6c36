"""Enforcement of sanctions (失信惩戒的执行): what "barred" means and where it is applied.

A sanction **bars** its agency on a day when

- it is in one of ``BARRING_STATES`` (in effect, under appeal — an appeal does not suspend
  it — or upheld on appeal),
- its severity is a suspension (暂停选取资格) or a market ban (市场禁入); a warning (警示) is
  published but bars nothing, and
- its period covers the day: ``starts_on <= day <= ends_on`` (both inclusive, Asia/Shanghai
  dates). A sanction approved before its start date bars from ``starts_on`` on.

Where it is applied:

- **registration, pools, draws, the agency's feed, direct purchases**: through the sanction
  provider ``sanction_bars`` registered with ``procurement.eligibility`` (from
  ``RatingsConfig.ready``): one query per call, whatever the number of agencies;
- **the shelf**: ``agencies.shelf.shelf_refresh`` hides a barred agency's Oscar products (it
  asks the providers); ``enforce`` calls it when a bar starts or ends;
- **search**: the agency's document carries the sanction and is not "eligible"
  (search/kinds/agencies.py); ``enforce`` re-indexes it through the outbox
  (``search.indexing.mark_dirty``).

Running contracts are not touched: they continue unless a regulator terminates them.
"""

from __future__ import annotations

import datetime

from django.utils import timezone
from django.utils.translation import gettext as _

from ratings.models import BARRING_STATES, Sanction, SanctionSeverity

BARRING_SEVERITIES = (SanctionSeverity.SUSPENSION, SanctionSeverity.BAN)


def barring_queryset(day: datetime.date):
    """The sanctions that bar their agency on ``day``."""
    return Sanction.objects.filter(
        status__in=BARRING_STATES,
        severity__in=BARRING_SEVERITIES,
        starts_on__lte=day,
        ends_on__gte=day,
    )


def barring_sanctions(agency_ids, day: datetime.date | None = None) -> dict[int, Sanction]:
    """{agency id: the sanction barring it on ``day``} (a ban before a suspension, then the
    one ending last). One query."""
    day = day or timezone.localdate()
    ids = list(agency_ids)
    if not ids:
        return {}
    found: dict[int, Sanction] = {}
    rows = barring_queryset(day).filter(agency_id__in=ids).order_by("agency_id", "-ends_on", "pk")
    for sanction in rows:
        current = found.get(sanction.agency_id)
        if current is None or (
            sanction.severity == SanctionSeverity.BAN and current.severity != SanctionSeverity.BAN
        ):
            found[sanction.agency_id] = sanction
    return found


def explanation(sanction: Sanction) -> str:
    """Why the agency is barred, naming the decision, its reason and period (translated)."""
    from ratings.reasons import reason

    found = reason(sanction.reason_code)
    label = found.display() if found else sanction.reason_code
    if sanction.severity == SanctionSeverity.BAN:
        text = _(
            "The agency is barred from the market (黑名单) by decision %(code)s (%(reason)s) "
            "from %(start)s to %(end)s."
        )
    else:
        text = _(
            "The agency is suspended from selection by decision %(code)s (%(reason)s) "
            "from %(start)s to %(end)s."
        )
    return text % {
        "code": sanction.code,
        "reason": label,
        "start": sanction.starts_on.isoformat(),
        "end": sanction.ends_on.isoformat(),
    }


def sanction_bars(agency_ids: list[int], day: datetime.date) -> dict[int, str]:
    """The sanction provider (procurement.eligibility.register_sanction_provider):
    {agency id: explanation} of the agencies among ``agency_ids`` barred on ``day``."""
    return {pk: explanation(s) for pk, s in barring_sanctions(agency_ids, day).items()}


def is_barred(agency_id: int, day: datetime.date | None = None) -> bool:
    return agency_id in barring_sanctions([agency_id], day)


def enforce(agency, today: datetime.date | None = None) -> None:
    """Applies the agency's current bar (or its absence) where it is not read live: the shelf
    (its products' visibility) and the search index (re-indexed after commit). Idempotent;
    call it inside the transaction that changed a sanction."""
    from agencies.shelf import shelf_refresh
    from search.indexing import mark_dirty

    shelf_refresh(agency=agency, today=today)
    mark_dirty("agency", [agency.pk])


def register() -> None:
    from procurement.eligibility import register_sanction_provider

    register_sanction_provider(sanction_bars)


__all__ = [
    "BARRING_SEVERITIES",
    "barring_queryset",
    "barring_sanctions",
    "enforce",
    "explanation",
    "is_barred",
    "register",
    "sanction_bars",
]


# Registered on import (RatingsConfig.ready imports this module).
register()
