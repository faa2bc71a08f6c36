#!/usr/bin/env python
"""bench/credit: recomputing the credit (信用评价, ratings.credit.recompute) of 1k, 10k and
100k agencies — wall time and SQL queries — then the blacklist enforcement latency
(bench/_enforcement.py ``measure``).

    .venv/bin/python bench/credit.py [--sizes 1000,10000,100000] [--skip-setup]
                                     [--skip-enforcement] [--repetitions 10]

Steps: (re)create the PostgreSQL database `bench_credit`, migrate it, load the demo
(`manage.py load_demo`, Celery eager so its outbox — search index included — is delivered)
and generate agencies up to the largest size (`manage.py generate_agencies`, bulk inserts);
then write the formula's inputs in bulk for the generated agencies (one demo owner, project
and item): per agency one contract accepted on time, a rating of it for every second agency
(ages spread over 0–729 days), an overdue contract for every fifth, an upheld complaint for
every twentieth and a warning in effect for every fiftieth; ANALYZE. `--skip-setup` reuses
all of it. Production settings, Redis DB 13 (flushed before and after), the database search
backend.

Per size N (the first N agencies ever approved, by id), measured in-process with the SQL
queries counted (CaptureQueriesContext):

- ``recompute_all_changed``: every agency's credit changes (their current score and history
  are cleared first, untimed): the full write path — per batch of 2,000 the reads, one INSERT
  of the history, one UPDATE of the agencies and the search sync messages;
- ``recompute_unchanged``: the same agencies again, nothing changes: the read path only (what
  the nightly refresh costs for agencies whose score did not move).

The search sync messages the runs queue are deleted afterwards (no worker runs here; the
generated agencies are not in the search index anyway). Then, unless ``--skip-enforcement``,
``bench._enforcement.measure(repetitions=…)`` on the same database (its records are printed as
they are, ``"bench": "enforcement"``).

JSON lines on stdout (bench/README.md), progress on stderr.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._util import PYTHON, ROOT, django_run, emit, emit_environment, log

BENCH = "credit"
DB = "bench_credit"
BULK = 5000


def generate(env: dict, count: int) -> dict:
    import json
    import subprocess

    log(f"generate_agencies --count {count}")
    t0 = time.perf_counter()
    proc = subprocess.run(
        [PYTHON, "manage.py", "generate_agencies", "--count", str(count), "--json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"generate_agencies failed:\n{proc.stdout}\n{proc.stderr}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["command_wall_seconds"] = round(time.perf_counter() - t0, 2)
    return result


def write_inputs(agency_ids: list[int]) -> dict:
    """The formula's inputs for ``agency_ids``, in bulk (see the module docstring)."""
    import datetime
    from decimal import Decimal

    from django.db import transaction
    from django.utils import timezone

    from marketplace.models import Membership, Organisation, OrganisationKind, Role
    from procurement.models import Contract, ContractStatus, Project
    from ratings.models import (
        Complaint,
        ComplaintStatus,
        Rating,
        Sanction,
        SanctionSeverity,
        SanctionStatus,
    )

    now = timezone.now()
    today = timezone.localdate()
    project = Project.objects.select_related("owner__organisation").order_by("pk").first()
    owner = project.owner
    item_id = Contract.objects.values_list("service_item_id", flat=True).first()
    if item_id is None:
        from cms.models import ServiceItemPage

        item_id = ServiceItemPage.objects.live().values_list("pk", flat=True).first()
    rater = Membership.objects.filter(organisation_id=owner.organisation_id).first().user
    regulator_member = (
        Membership.objects.filter(
            organisation__kind=OrganisationKind.REGULATOR, role__in=(Role.REVIEWER, Role.SUPERVISOR)
        )
        .select_related("organisation")
        .first()
    )
    regulator = regulator_member.organisation if regulator_member else Organisation.objects.first()
    counts = {"contracts": 0, "ratings": 0, "complaints": 0, "sanctions": 0}

    def contract(code, agency_id, **fields):
        values = {
            "code": code,
            "source": "purchase",
            "project_id": project.pk,
            "service_item_id": item_id,
            "owner_id": owner.pk,
            "agency_id": agency_id,
            "scope": "基准测试",
            "price_ceiling": Decimal(10000),
            "price": Decimal(9000),
            "time_limit_days": 20,
            "status": ContractStatus.ACCEPTED,
            "accepted_at": now - datetime.timedelta(days=agency_id % 700),
            "due_date": today,
            "illustrative": True,
        }
        values.update(fields)
        return Contract(**values)

    for start in range(0, len(agency_ids), BULK):
        chunk = agency_ids[start : start + BULK]
        with transaction.atomic():
            contracts = []
            for pk in chunk:
                contracts.append(contract(f"BC-{pk:09d}-A", pk))
                if pk % 5 == 0:
                    due = today - datetime.timedelta(days=pk % 300 + 1)
                    contracts.append(
                        contract(
                            f"BC-{pk:09d}-B",
                            pk,
                            status=ContractStatus.IN_PROGRESS,
                            accepted_at=None,
                            due_date=due,
                            overdue_since=due,
                            was_overdue=True,
                        )
                    )
            Contract.objects.bulk_create(contracts, batch_size=BULK)
            counts["contracts"] += len(contracts)
            rated = [c for c in contracts if c.code.endswith("-A") and c.agency_id % 2 == 0]
            ratings = [
                Rating(
                    contract_id=c.pk,
                    agency_id=c.agency_id,
                    owner_id=owner.pk,
                    rated_by_id=rater.pk,
                    quality=1 + c.agency_id % 5,
                    timeliness=1 + (c.agency_id // 5) % 5,
                    attitude=5,
                    fees=4,
                    compliance=5,
                )
                for c in rated
            ]
            Rating.objects.bulk_create(ratings, batch_size=BULK)
            counts["ratings"] += len(ratings)
            for r in ratings:  # spread the ages: auto_now_add ignores a given value
                r.created_at = now - datetime.timedelta(days=r.agency_id % 730)
            from marketplace.bulk import bulk_update

            bulk_update(ratings, ["created_at"])
            complaints = [
                Complaint(
                    code=f"BT-{pk:09d}",
                    complainant_kind="owner",
                    agency_id=pk,
                    subject="基准测试投诉",
                    description="基准测试",
                    status=ComplaintStatus.UPHELD,
                    accept_by=now,
                    decided_at=now - datetime.timedelta(days=pk % 600),
                )
                for pk in chunk
                if pk % 20 == 0
            ]
            Complaint.objects.bulk_create(complaints, batch_size=BULK)
            counts["complaints"] += len(complaints)
            sanctions = [
                Sanction(
                    code=f"BS-{pk:09d}",
                    agency_id=pk,
                    reason_code="BENCH",
                    legal_basis="基准测试",
                    facts="基准测试",
                    severity=SanctionSeverity.WARNING,
                    starts_on=today,
                    ends_on=today + datetime.timedelta(days=90),
                    status=SanctionStatus.IN_EFFECT,
                    regulator_id=regulator.pk,
                    proposed_by_id=rater.pk,
                )
                for pk in chunk
                if pk % 50 == 0
            ]
            Sanction.objects.bulk_create(sanctions, batch_size=BULK)
            counts["sanctions"] += len(sanctions)
        log(f"inputs: {start + len(chunk)}/{len(agency_ids)} agencies")
    return counts


def measure_size(size: int, ids: list[int]) -> list[dict]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from agencies.models import Agency
    from marketplace.models import OutboxMessage
    from ratings import credit
    from ratings.models import CreditScore

    ids = ids[:size]
    records = []
    # Untimed: clear the current scores and the history, so that every agency changes.
    Agency.objects.filter(pk__in=ids).update(credit_score=None, credit_grade="")
    CreditScore.objects.filter(agency_id__in=ids).delete()
    for target in ("recompute_all_changed", "recompute_unchanged"):
        with CaptureQueriesContext(connection) as ctx:
            t0 = time.perf_counter()
            report = credit.recompute(ids, "bench")
            seconds = time.perf_counter() - t0
        queries = len(ctx.captured_queries)
        records.append(
            {
                "bench": BENCH,
                "size": len(ids),
                "target": target,
                "seconds": round(seconds, 3),
                "agencies_per_second": round(len(ids) / seconds) if seconds else None,
                "queries": queries,
                "batches": report.batches,
                "queries_per_batch": round(queries / report.batches, 2) if report.batches else None,
                "changed": report.changed,
            }
        )
        emit(records[-1])
    OutboxMessage.objects.filter(topic="search.sync", status="pending").delete()
    return records


def main(argv=None) -> int:
    started = time.perf_counter()
    parser = argparse.ArgumentParser(description="Credit recomputation (JSON lines).")
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/13")
    parser.add_argument("--skip-setup", action="store_true", help=f"reuse {DB}")
    parser.add_argument("--skip-enforcement", action="store_true")
    parser.add_argument("--repetitions", type=int, default=10, help="enforcement repetitions")
    args = parser.parse_args(argv)
    sizes = sorted(int(s) for s in args.sizes.split(",") if s.strip())

    generated = None
    with django_run(BENCH, DB, args.redis_url, started=started, skip_setup=args.skip_setup) as env:
        from agencies.models import Agency
        from ratings.credit import FORMULA_VERSION

        def ever_approved() -> list[int]:
            return list(
                Agency.objects.filter(approved_at__isnull=False)
                .order_by("pk")
                .values_list("pk", flat=True)
            )

        if not args.skip_setup:
            missing = max(0, sizes[-1] - len(ever_approved()))
            if missing:
                # Generated agencies are approved or not (a spread of statuses): ask for more.
                generated = generate(env, int(missing * 1.3) + 100)
                emit({"bench": BENCH, "target": "generate_agencies", **generated})
            from procurement.models import Contract

            # The demo's agencies with contracts keep their own data; the others get inputs.
            with_contracts = set(Contract.objects.values_list("agency_id", flat=True))
            fresh = [pk for pk in ever_approved() if pk not in with_contracts]
            t0 = time.perf_counter()
            counts = write_inputs(fresh)
            emit(
                {
                    "bench": BENCH,
                    "target": "inputs",
                    "agencies": len(fresh),
                    **counts,
                    "seconds": round(time.perf_counter() - t0, 1),
                }
            )
            from django.db import connection

            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        ids = ever_approved()
        emit_environment(
            BENCH,
            DB,
            redis=args.redis_url,
            agencies_ever_approved=len(ids),
            sizes=sizes,
            batch=2000,
            formula_version=FORMULA_VERSION,
        )
        for size in sizes:
            if size > len(ids):
                log(f"only {len(ids)} agencies ever approved: size {size} measures them all")
            log(f"size {size}: recompute")
            measure_size(size, ids)
        if args.skip_enforcement:
            log("enforcement skipped (--skip-enforcement)")
        else:
            try:
                from bench._enforcement import measure
            except ImportError as exc:
                emit({"bench": BENCH, "target": "enforcement", "error": f"missing: {exc}"})
            else:
                log(f"enforcement: {args.repetitions} repetitions")
                for record in measure(repetitions=args.repetitions):
                    emit(record)
    return 0


if __name__ == "__main__":
    sys.exit(main())
