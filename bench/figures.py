#!/usr/bin/env python
"""bench/figures: the contract figures (procurement/figures.py, issue 6) — on-time rate,
cycle times and fee reduction — over 1,000, 10,000 and 100,000 contracts.

    .venv/bin/python bench/figures.py [--sizes 1000,10000,100000] [--repeat 5] [--quick]
                                      [--skip-setup]

Steps: (re)create the PostgreSQL database `bench_figures`, migrate it and load the demo
(`manage.py load_demo`: regions, catalog, demo agencies and owners); production settings, Redis
DB 14 (flushed before and after; nothing is queued there by the selectors).

Per size, smallest first: contracts are added with bulk_create until the database holds that
many (a seeded spread of statuses, dates over 2023–2025, 70 % from an announcement — one
announcement each, written in bulk too — 80 % with a standard fee, 15 % of the finished ones
late, some flagged overdue and then extended), then ANALYZE. Each selector is called `--repeat`
times after one warm-up call: the latency (p50, min) and the SQL queries of one call
(CaptureQueriesContext), with the figure it returned.

JSON lines on stdout (bench/README.md), progress on stderr.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import os
import random
import sys
import time
from decimal import Decimal
from pathlib import Path

# Run as a script, Python puts bench/ first on the path, where a module may shadow an installed
# package of the same name: drop it (the project root goes first instead).
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

from bench._util import django_run, emit, emit_environment, log, percentile

BENCH = "figures"
DB = "bench_figures"
PROJECT_REGION = "530102"  # 五华区
SEED = 20250601
FIRST_DAY = datetime.date(2023, 1, 1)
DAYS = 3 * 365


def ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


# --- data ------------------------------------------------------------------------------------


class Data:
    """The owner, project, items and agencies the generated contracts use."""

    def __init__(self):
        from agencies.models import Agency
        from cms.models import ServiceItemPage
        from marketplace.models import Region, User
        from marketplace.validators import make_uscc
        from procurement import services
        from procurement.models import Contract, Owner, Project

        self.items = list(
            ServiceItemPage.objects.live().order_by("pk").values_list("pk", flat=True)
        )
        self.agencies = list(Agency.objects.order_by("pk").values_list("pk", flat=True)[:100])
        if not self.items or not self.agencies:
            raise RuntimeError("load_demo first: no service items or agencies")
        owner = Owner.objects.filter(organisation__name="指标基准业主单位（基准）").first()
        if owner is None:
            user = User.objects.create(email=f"bench.figures.{os.getpid()}@bench.example.com")
            owner = services.owner_register(
                actor=user,
                name="指标基准业主单位（基准）",
                uscc=make_uscc(f"91{PROJECT_REGION}MF000001"),
                region=Region.objects.get(code=PROJECT_REGION),
                legal_representative="基准业主法人",
                contact_name="基准联系人",
                contact_phone="0871-60000000",
            )
            services.project_create(
                actor=user,
                owner=owner,
                name="指标基准项目",
                region=Region.objects.get(code=PROJECT_REGION),
                total_investment="50000000",
            )
        self.owner = owner
        self.project = Project.objects.filter(owner=owner).first()
        self.serial = Contract.objects.filter(code__startswith="BF").count()

    def add_contracts(self, count: int, batch: int = 5000) -> dict:
        """``count`` more contracts (and their announcements) in bulk; how many of each kind."""
        from django.db import transaction

        from procurement.models import Announcement, Contract

        rng = random.Random(SEED + self.serial)
        kinds: dict[str, int] = {}
        for start in range(0, count, batch):
            n = min(batch, count - start)
            specs = [self._spec(rng, self.serial + i) for i in range(n)]
            self.serial += n
            with transaction.atomic():
                announcements = Announcement.objects.bulk_create(
                    [s["announcement"] for s in specs if s["announcement"] is not None],
                    batch_size=batch,
                )
                made = iter(announcements)
                contracts = []
                for spec in specs:
                    if spec["announcement"] is not None:
                        spec["contract"].announcement = next(made)
                    contracts.append(spec["contract"])
                    kinds[spec["kind"]] = kinds.get(spec["kind"], 0) + 1
                Contract.objects.bulk_create(contracts, batch_size=batch)
        return kinds

    def _spec(self, rng: random.Random, n: int) -> dict:
        from procurement.models import Announcement, Contract, ContractSource
        from procurement.models import ContractStatus as S

        shanghai = datetime.timezone(datetime.timedelta(hours=8))
        signed = datetime.datetime.combine(
            FIRST_DAY + datetime.timedelta(days=rng.randrange(DAYS)),
            datetime.time(9 + rng.randrange(9), rng.randrange(60)),
            tzinfo=shanghai,
        )
        limit = rng.choice((10, 15, 20, 30, 45))
        due = signed.date() + datetime.timedelta(days=round(limit * 1.4))
        status = rng.choices(
            (S.COMPLETED, S.ACCEPTED, S.IN_PROGRESS, S.SIGNED, S.TERMINATED, S.DRAFT),
            weights=(50, 10, 20, 10, 5, 5),
        )[0]
        fields = {"signed_at": signed, "due_date": due}
        kind = status
        if status == S.DRAFT:
            fields = {"signed_at": None, "due_date": None}
        elif status in (S.COMPLETED, S.ACCEPTED):
            late = rng.random() < 0.15
            extended = late and rng.random() < 0.4
            days = (due - signed.date()).days
            taken = rng.randint(days + 1, days + 20) if late else rng.randint(3, days)
            accepted = signed + datetime.timedelta(days=taken, hours=rng.randrange(8))
            fields.update(accepted_at=accepted, started_at=signed)
            if late:
                fields["was_overdue"] = True
                if extended:  # agreed after the flag: still late (was_overdue stays)
                    fields["due_date"] = accepted.date() + datetime.timedelta(days=5)
            if status == S.COMPLETED:
                fields["completed_at"] = accepted + datetime.timedelta(days=rng.randint(1, 30))
            kind = f"{status}_late" if late else f"{status}_on_time"
        elif status == S.TERMINATED:
            fields["terminated_at"] = signed + datetime.timedelta(days=rng.randint(1, 30))
            fields["termination_reason"] = "基准：协商解除"
        elif status == S.IN_PROGRESS:
            fields["started_at"] = signed

        standard = Decimal(rng.randrange(2000, 200000)) if rng.random() < 0.8 else None
        ceiling = standard or Decimal(rng.randrange(2000, 200000))
        price = (ceiling * Decimal(rng.randint(60, 100)) / 100).quantize(Decimal("0.01"))
        item = self.items[n % len(self.items)]
        announcement = None
        if rng.random() < 0.7:
            published = signed - datetime.timedelta(
                days=rng.randint(5, 40), hours=rng.randrange(24)
            )
            announcement = Announcement(
                code=f"BF-GG-{n:09d}",
                project=self.project,
                service_item_id=item,
                title=f"指标基准公告 {n}",
                scope="基准测试",
                budget_ceiling=ceiling,
                method="random_draw",
                service_time_limit_days=limit,
                status="awarded",
                published_at=published,
                awarded_at=signed - datetime.timedelta(days=1),
            )
        contract = Contract(
            code=f"BF{n:09d}",
            source=ContractSource.AWARD if announcement else ContractSource.DIRECT_PURCHASE,
            project=self.project,
            service_item_id=item,
            owner=self.owner,
            agency_id=self.agencies[rng.randrange(len(self.agencies))],
            scope="基准测试",
            price_ceiling=ceiling,
            price=price,
            standard_fee=standard,
            time_limit_days=limit,
            status=status,
            **fields,
        )
        return {"announcement": announcement, "contract": contract, "kind": kind}


def analyze() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


# --- measuring -------------------------------------------------------------------------------


def selectors(data: Data) -> list[tuple[str, dict, object]]:
    from procurement import figures

    agency = data.agencies[0]
    year = {"since": datetime.date(2024, 1, 1), "until": datetime.date(2024, 12, 31)}
    return [
        ("on_time_rate", {}, lambda: figures.on_time_rate()),
        ("on_time_rate", {"agency": agency}, lambda: figures.on_time_rate(agency=agency)),
        ("on_time_rate", year, lambda: figures.on_time_rate(**year)),
        ("on_time_rates_by_agency", {}, lambda: figures.on_time_rates_by_agency()),
        ("cycle_times", {}, lambda: figures.cycle_times()),
        ("cycle_times", {"agency": agency}, lambda: figures.cycle_times(agency=agency)),
        ("cycle_times", year, lambda: figures.cycle_times(**year)),
        ("fee_reduction_summary", {}, lambda: figures.fee_reduction_summary()),
        ("fee_reduction_summary", year, lambda: figures.fee_reduction_summary(**year)),
        (
            "fee_reduction_rates[:50]",
            {},
            lambda: list(figures.fee_reduction_rates()[:50]),
        ),
        (
            "fee_reduction_rates (all rows)",
            {},
            lambda: len(list(figures.fee_reduction_rates().values_list("fee_reduction_rate"))),
        ),
    ]


def describe(result) -> object:
    """The figure a selector returned, for the JSON line."""
    if dataclasses.is_dataclass(result):
        return dataclasses.asdict(result)
    if isinstance(result, dict):
        rates = [r.rate for r in result.values() if r.rate is not None]
        return {
            "agencies": len(result),
            "min_rate": min(rates) if rates else None,
            "max_rate": max(rates) if rates else None,
        }
    if isinstance(result, list):
        return {"rows": len(result)}
    return result


def measure(size: int, total: int, data: Data, repeat: int) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for name, params, call in selectors(data):
        call()  # warm-up
        with CaptureQueriesContext(connection) as ctx:
            result = call()
        queries = len(ctx.captured_queries)
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            call()
            times.append(ms(time.perf_counter() - t0))
        emit(
            {
                "bench": BENCH,
                "target": "selector",
                "size": size,
                "contracts_total": total,
                "selector": name,
                "params": params,
                "n": repeat,
                "p50_ms": round(percentile(times, 50), 2),
                "min_ms": min(times),
                "max_ms": max(times),
                "queries": queries,
                "result": describe(result),
            }
        )


# --- main ------------------------------------------------------------------------------------


def main(argv=None) -> int:
    started = time.perf_counter()
    parser = argparse.ArgumentParser(description="Benchmark the contract figures (JSON lines).")
    parser.add_argument("--sizes", default=None, help="contracts (default 1000,10000,100000)")
    parser.add_argument("--repeat", type=int, default=5, help="timed calls per selector")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/14")
    parser.add_argument("--quick", action="store_true", help="smoke run: sizes 1000,10000")
    parser.add_argument("--skip-setup", action="store_true", help=f"reuse {DB}")
    args = parser.parse_args(argv)
    sizes = sorted(
        int(s)
        for s in (args.sizes or ("1000,10000" if args.quick else "1000,10000,100000")).split(",")
        if s.strip() and int(s) > 0
    )

    # Celery stays eager after load_demo, as it always did here (the selectors queue nothing).
    with django_run(
        BENCH,
        DB,
        args.redis_url,
        started=started,
        skip_setup=args.skip_setup,
        celery_eager=True,
    ):
        from django.db import connection

        from procurement.models import Contract

        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            server_version = cursor.fetchone()[0]
        emit_environment(
            BENCH,
            DB,
            versions={"postgresql": server_version},
            sizes=sizes,
            repeat=args.repeat,
        )
        data = Data()
        for size in sizes:
            have = Contract.objects.count()
            if have < size:
                log(f"size {size}: adding {size - have} contracts")
                t0 = time.perf_counter()
                kinds = data.add_contracts(size - have)
                analyze()
                emit(
                    {
                        "bench": BENCH,
                        "target": "generate",
                        "size": size,
                        "added": size - have,
                        "seconds": round(time.perf_counter() - t0, 2),
                        "kinds_added": kinds,
                    }
                )
            total = Contract.objects.count()
            log(f"size {size}: measuring over {total} contracts")
            measure(size, total, data, args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
