#!/usr/bin/env python
"""Blacklist enforcement latency, end to end (issue 7): from a market ban taking effect (the
second regulator's ``sanction_approve`` call) to

(a) the agency being absent from the "eligible" agency search results — the JSON search API
    (``/api/search/agencies/?q=<USCC>&eligible=yes``, through the middleware, by Django's test
    client) polled while the outbox is delivered as the worker would (``outbox.sweep``: the
    ``search.sync`` message re-indexes the agency; notifications and the credit recompute
    queued by the same transaction are delivered with it), and
(b) its refusal by draw eligibility (``procurement.eligibility.evaluate`` of an announcement
    with the agency: the ``sanction`` check fails). The provider reads the database live, so
    this is bounded by the approve's commit.

Each repetition takes another approved agency that the search shows as eligible, bans it
(proposal by one regulator, approval by a second; both are bench users of a bench regulator
covering the agency's province in every industry), measures, then lifts the ban (and its
re-enabling latency in search is reported too) so the data is left as found.

    measure(repetitions=10) -> list[dict]   # Django set up on a loaded database by the caller

bench/credit.py calls ``measure``; alone:

    .venv/bin/python bench/_enforcement.py [--repetitions 10] [--skip-setup]

(re)creates the PostgreSQL database ``bench_enforcement``, migrates it and loads the demo
(``manage.py load_demo``); production settings, Redis DB 12 (flushed before and after), the
database search backend. JSON lines on stdout (bench/README.md), progress on stderr.
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._util import django_run, emit, emit_environment, log, percentile

BENCH = "enforcement"
DB = "bench_enforcement"
POLL_TIMEOUT = 30.0


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def _summary(name: str, values: list[float]) -> dict:
    def r(p):
        v = percentile(values, p)
        return None if v is None else round(v, 2)

    return {
        "bench": BENCH,
        "target": name,
        "n": len(values),
        "p50_ms": r(50),
        "p95_ms": r(95),
        "max_ms": round(max(values), 2) if values else None,
        "samples_ms": [round(v, 2) for v in values],
    }


def _regulators(province):
    """A bench regulator covering ``province`` in every industry, with a proposer, a second
    reviewer (four eyes) and a supervisor (to lift)."""
    from marketplace.models import Membership, Organisation, OrganisationKind, Role, User

    tag = uuid.uuid4().hex[:8]
    org = Organisation.objects.create(
        kind=OrganisationKind.REGULATOR,
        name=f"基准测试监管部门{tag}",
        scope_region=province,
        scope_all_industries=True,
    )
    users = []
    for role in (Role.REVIEWER, Role.REVIEWER, Role.SUPERVISOR):
        user = User.objects.create_user(email=f"bench-{tag}-{len(users)}@bench.invalid")
        Membership.objects.create(user=user, organisation=org, role=role)
        users.append(user)
    return users


def _eligible_agencies(client, count: int) -> list:
    """Approved agencies the search shows as eligible (and no sanction bars)."""
    from agencies.models import Agency

    response = client.get("/api/search/agencies/", {"eligible": "yes", "page_size": 50})
    ids = [int(r["id"]) for r in response.json()["results"]]
    agencies = list(
        Agency.objects.filter(pk__in=ids, sanctions__isnull=True)
        .select_related("organisation__region")
        .distinct()
    )
    return agencies[:count]


def _found_eligible(client, uscc: str) -> bool:
    response = client.get("/api/search/agencies/", {"q": uscc, "eligible": "yes"})
    return any(r.get("uscc") == uscc for r in response.json()["results"])


def _refused(announcement, agency_id: int) -> bool:
    """Whether draw eligibility refuses the agency for a sanction (the provider alone when the
    database has no announcement)."""
    from django.utils import timezone

    from procurement import eligibility

    if announcement is None:
        return agency_id in eligibility.sanctions([agency_id], timezone.localdate())
    outcome = eligibility.evaluate(announcement, [agency_id])[agency_id]
    return any(c.code == "sanction" and not c.met for c in outcome.checks)


def _poll(condition) -> tuple[float, int]:
    """Seconds until ``condition()`` holds, delivering the outbox between checks; and the
    number of sweeps."""
    from marketplace import outbox

    start = time.perf_counter()
    sweeps = 0
    while not condition():
        if time.perf_counter() - start > POLL_TIMEOUT:
            raise TimeoutError(f"enforcement not visible after {POLL_TIMEOUT:.0f} s")
        outbox.sweep()
        sweeps += 1
    return time.perf_counter() - start, sweeps


def measure(*, repetitions: int = 10) -> list[dict]:
    """Ban ``repetitions`` agencies one after the other; returns JSON-ready records: one per
    repetition and p50/p95 summaries of (a) search and (b) draw eligibility latency (from the
    start of the approve call), of the approve call itself, and of search re-enabling after
    the lift."""
    from django.db import transaction
    from django.test import Client
    from django.utils import timezone

    from marketplace import outbox
    from procurement.models import Announcement
    from ratings import sanctions
    from ratings.models import SanctionSeverity

    assert not transaction.get_connection().in_atomic_block, "measure() needs autocommit"
    client = Client()
    outbox.sweep(limit=100_000)  # start from a quiet outbox
    agencies = _eligible_agencies(client, repetitions)
    if not agencies:
        raise RuntimeError("no eligible agency in the search: load the demo and index it")
    announcement = Announcement.objects.exclude(status="draft").first()
    regulators: dict[str, list] = {}
    records, approve_ms, search_ms, draw_ms, reenable_ms = [], [], [], [], []
    for n, agency in enumerate(agencies, 1):
        province = agency.organisation.region.province_code
        if province not in regulators:
            from marketplace.models import Region

            regulators[province] = _regulators(Region.objects.get(code=province))
        proposer, second, supervisor = regulators[province]
        uscc = agency.organisation.uscc
        assert _found_eligible(client, uscc)
        today = timezone.localdate()
        proposal = sanctions.sanction_propose(
            actor=proposer,
            agency=agency,
            reason_code="FALSE_RESULT",
            facts="基准测试：出具虚假中介服务成果。",
            severity=SanctionSeverity.BAN,
            starts_on=today,
            ends_on=today,
        )
        outbox.sweep()  # the proposal's notifications: not part of the measured path

        start = time.perf_counter()
        sanction = sanctions.sanction_approve(actor=second, sanction=proposal)
        approved = time.perf_counter() - start

        t = time.perf_counter()
        while not _refused(announcement, agency.pk):
            if time.perf_counter() - t > POLL_TIMEOUT:
                raise TimeoutError("draw eligibility still accepts the banned agency")
        draw = time.perf_counter() - start
        _waited, sweeps = _poll(lambda u=uscc: not _found_eligible(client, u))
        searched = time.perf_counter() - start

        lift_start = time.perf_counter()
        sanctions.sanction_lift(actor=supervisor, sanction=sanction, reason="基准测试结束")
        _back, back_sweeps = _poll(lambda u=uscc: _found_eligible(client, u))
        back = time.perf_counter() - lift_start

        approve_ms.append(_ms(approved))
        draw_ms.append(_ms(draw))
        search_ms.append(_ms(searched))
        reenable_ms.append(_ms(back))
        record = {
            "bench": BENCH,
            "target": "repetition",
            "n": n,
            "agency": agency.pk,
            "sanction": sanction.code,
            "approve_ms": _ms(approved),
            "draw_eligibility_ms": _ms(draw),
            "search_absent_ms": _ms(searched),
            "search_sweeps": sweeps,
            "lift_to_search_eligible_ms": _ms(back),
            "lift_sweeps": back_sweeps,
        }
        records.append(record)
        log(
            f"enforcement {n}/{len(agencies)}: approve {record['approve_ms']} ms, draw "
            f"{record['draw_eligibility_ms']} ms, search {record['search_absent_ms']} ms"
        )
    records += [
        _summary("approve_call", approve_ms),
        _summary("ban_to_draw_ineligible", draw_ms),
        _summary("ban_to_search_absent", search_ms),
        _summary("lift_to_search_eligible", reenable_ms),
    ]
    return records


def main(argv=None) -> int:
    started = time.perf_counter()
    parser = argparse.ArgumentParser(description="Blacklist enforcement latency (JSON lines).")
    parser.add_argument("--repetitions", type=int, default=10)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/12")
    parser.add_argument("--skip-setup", action="store_true", help=f"reuse {DB}")
    args = parser.parse_args(argv)

    with django_run(BENCH, DB, args.redis_url, started=started, skip_setup=args.skip_setup):
        emit_environment(
            BENCH,
            DB,
            redis=args.redis_url,
            search_backend="database",
            repetitions=args.repetitions,
            delivery="outbox.sweep in the measuring process (no Celery worker)",
        )
        for record in measure(repetitions=args.repetitions):
            emit(record)
    return 0


if __name__ == "__main__":
    sys.exit(main())
