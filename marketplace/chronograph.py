"""The chronograph: time-driven work ("find the objects due now and advance them").

    @chronograph.job("procurement.close_registration", every=timedelta(minutes=1))
    def close_registration(now):
        for announcement in Announcement.objects.due_to_close(now): ...

A job receives the tick's aware ``now`` and must be idempotent: it selects what is due by
looking at the data (not at when it last ran), so running it twice, late, or after an outage
does the right thing. Jobs manage their own transactions.

``run_due_jobs`` runs every registered job whose interval has elapsed. It is called by the
Celery task ``marketplace.run_due_jobs`` (beat, every 30 s, see ``celery_schedule``), by the
demo's in-process thread (``scheduler``) and by ``manage.py run_chronograph``. A database lease
per job (``JobState.lease_until``, taken by one conditional UPDATE) makes sure that two beats
or workers never run the same job at the same time; a crashed runner's lease simply expires.
A failing job is logged and recorded and does not stop the others.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import close_old_connections
from django.db.models import F, Q
from django.utils import timezone

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    name: str
    fn: Callable[[datetime], object]
    every: timedelta
    lease: timedelta


@dataclass
class JobResult:
    name: str
    status: str  # "ok", "failed", "not_due" (interval not elapsed or another runner holds it)
    result: object = None
    error: str = ""


class Registry:
    def __init__(self) -> None:
        self.jobs: dict[str, Job] = {}

    def job(
        self, name: str, *, every: timedelta, lease: timedelta = timedelta(minutes=10)
    ) -> Callable:
        """Registers ``fn(now)`` to run at most once per ``every``. ``lease`` bounds how long
        a crashed run keeps others from running it; set it above the job's longest run."""

        def register(fn: Callable[[datetime], object]) -> Callable[[datetime], object]:
            existing = self.jobs.get(name)
            if existing is not None and existing.fn.__qualname__ != fn.__qualname__:
                raise ValueError(f"chronograph job {name!r} is already registered")
            self.jobs[name] = Job(name=name, fn=fn, every=every, lease=lease)
            return fn

        return register

    def run_due_jobs(
        self, *, now: datetime | None = None, names: Iterable[str] | None = None
    ) -> list[JobResult]:
        from marketplace.models import JobState

        now = now or timezone.now()
        jobs = [self.jobs[n] for n in names] if names is not None else list(self.jobs.values())
        JobState.objects.bulk_create(
            [JobState(name=job.name) for job in jobs], ignore_conflicts=True
        )
        return [self._run_one(job, now) for job in jobs]

    def _run_one(self, job: Job, now: datetime) -> JobResult:
        from marketplace.models import JobState

        # The claim: one UPDATE that succeeds only if the interval has elapsed and nobody holds
        # a live lease. Under READ COMMITTED, PostgreSQL re-checks the WHERE clause after a
        # concurrent claimer commits, so exactly one of them gets rowcount 1.
        claimed = (
            JobState.objects.filter(name=job.name)
            .filter(Q(lease_until__isnull=True) | Q(lease_until__lte=now))
            .filter(Q(last_run_at__isnull=True) | Q(last_run_at__lte=now - job.every))
            .update(last_run_at=now, lease_until=now + job.lease, run_count=F("run_count") + 1)
        )
        if not claimed:
            return JobResult(job.name, "not_due")
        try:
            result = job.fn(now)
        except Exception as exc:  # one job's failure must not stop the others
            error = f"{type(exc).__name__}: {exc}"
            logger.exception("chronograph: job %s failed", job.name)
            JobState.objects.filter(name=job.name).update(
                lease_until=None, last_error=error[:4000], failure_count=F("failure_count") + 1
            )
            return JobResult(job.name, "failed", error=error)
        JobState.objects.filter(name=job.name).update(
            lease_until=None, last_error="", last_success_at=timezone.now()
        )
        return JobResult(job.name, "ok", result=result)


default = Registry()
job = default.job


def run_due_jobs(*, now: datetime | None = None, names: Iterable[str] | None = None):
    """Runs the due jobs of the default registry (every app's jobs)."""
    return default.run_due_jobs(now=now, names=names)


def tick() -> list[JobResult]:
    """One scheduler tick outside a request: fresh connections before and after, because a
    long-lived thread or worker must not keep a connection the database has closed."""
    close_old_connections()
    try:
        return run_due_jobs()
    finally:
        close_old_connections()
