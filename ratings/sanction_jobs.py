"""The scheduler's sanction job (DESIGN §4, "Time"): ends sanctions past their period and
applies bars that start today (ratings.sanctions.expire_due). Idempotent: it looks at the data,
so running it twice, late or on two workers does the right thing once."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from marketplace import chronograph


@chronograph.job("ratings.sanctions", every=timedelta(minutes=5))
def sanctions(now) -> dict:
    from ratings.sanctions import expire_due

    return expire_due(today=timezone.localtime(now).date())
