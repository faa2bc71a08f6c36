"""The scheduler's procurement jobs (DESIGN §4, "Time"): each finds what is due by looking
at the data and advances it through the services, which lock and re-check, so a job that runs
twice, late, or on two workers at once does the right thing once."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.utils import timezone

from marketplace import chronograph
from procurement import contracts, deposits, services, settlement
from procurement.beacons import BeaconUnavailable
from procurement.models import Announcement, AnnouncementStatus

logger = logging.getLogger(__name__)
BATCH = 50


@chronograph.job("procurement.close_and_draw", every=timedelta(seconds=0))
def close_and_draw(now) -> dict:
    """Registration deadlines passed: freeze the pool and draw, in two transactions (a crash
    between them leaves the announcement "selecting", drawn on the next tick)."""
    counts = {"closed": 0, "failed": 0, "selected": 0}
    due = Announcement.objects.filter(
        status=AnnouncementStatus.PUBLISHED, registration_deadline__lte=now
    ).values_list("pk", flat=True)[:BATCH]
    for pk in list(due):
        outcome = services.close_registration(pk, now=now)
        if outcome in counts:
            counts[outcome] += 1
    selecting = Announcement.objects.filter(status=AnnouncementStatus.SELECTING).values_list(
        "pk", flat=True
    )[:BATCH]
    for pk in list(selecting):
        try:
            if services.run_selection(pk, now=now) == "selected":
                counts["selected"] += 1
        except BeaconUnavailable as exc:
            # The named round is not out yet (or the relay is down): the next tick draws.
            logger.warning("procurement: announcement %s waits for its beacon: %s", pk, exc)
        except Exception:  # one announcement's failure must not hold the others
            logger.exception("procurement: selection of announcement %s failed", pk)
    return counts


@chronograph.job("procurement.confirmations", every=timedelta(seconds=0))
def confirmations(now) -> int:
    """Selected agencies silent past their time are declined for them; alternates promoted."""
    return services.expire_confirmations(now=now)


@chronograph.job("procurement.publicity", every=timedelta(seconds=0))
def publicity(now) -> int:
    """Publicity windows ended without a pending objection: awarded."""
    due = Announcement.objects.filter(
        status=AnnouncementStatus.PUBLICITY, publicity_ends_at__lte=now
    ).values_list("pk", flat=True)[:BATCH]
    return sum(services.award_due(pk, now=now) == "awarded" for pk in list(due))


@chronograph.job("procurement.overdue", every=timedelta(minutes=10))
def overdue(now) -> int:
    """Contracts past their due date with the work still due: flagged once, both parties and
    the regulators in scope told."""
    return contracts.flag_overdue(today=timezone.localtime(now).date())


@chronograph.job("procurement.payments", every=timedelta(minutes=1))
def poll_payments(now) -> int:
    """Payments still open a minute after they started: the provider is asked (a lost
    webhook must not leave a milestone unpaid)."""
    return settlement.sync_open_payments()


@chronograph.job("procurement.deposit_refunds", every=timedelta(minutes=1))
def deposit_refunds(now) -> int:
    """Deposits whose refund was triggered: refunded through the provider (the deadline is
    one working day; the job runs every minute and retries failures)."""
    return deposits.refund_due(now=now)
