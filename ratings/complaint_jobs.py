"""The scheduler's complaint jobs (DESIGN §4, "Time"): each finds what is due by looking at the
data and advances it through ``ratings.complaints``, which locks and re-checks, so running twice,
late, or on two workers at once does the right thing once."""

from __future__ import annotations

from datetime import timedelta

from marketplace import chronograph
from ratings import complaints


@chronograph.job("ratings.complaints", every=timedelta(minutes=1))
def complaint_deadlines(now) -> dict:
    """Statement deadlines passed: to investigation. Acceptance deadlines passed: the
    regulator's supervisors told once."""
    return {
        "investigating": complaints.investigate_due(now=now),
        "overdue": complaints.flag_overdue(now=now),
    }
