#!/usr/bin/env python
"""bench/agencies: the regulator's review queue and the public directory's base queryset at 1k
and 100k agencies, and the time to generate them.

    .venv/bin/python bench/agencies.py [--sizes 1000,100000] [--repeat 30]

Steps: (re)create the PostgreSQL database `bench_agencies_base`, migrate it ONCE and load the
demo (`manage.py load_demo`: regions, catalog, qualification types, demo users, 217 demo
agencies). For each size: recreate `bench_agencies` from that template (CREATE DATABASE …
TEMPLATE, a file copy), run `manage.py generate_agencies --count <size − demo agencies>`
(timed; one JSON line), ANALYZE, then measure in-process (Django test Client, production
settings, page cache off, plain static storage) p50/p95 latency and the exact query count of:
the review queue (page 1 and a deep page) for the provincial reviewer, and the selector querysets evaluated directly (first 20 and 20 at a
deep offset, plus the COUNT a paginator runs). The public directory answers from the search
index since issue 4 and is measured by bench/search.py. A missing view is an "error" on its line.
The last line per size gives EXPLAIN (ANALYZE) of the selectors' main queries; a final line
the 100k/1k latency ratios. JSON lines on stdout (bench/README.md), progress on stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._util import PYTHON, ROOT, emit, log, percentile
from bench.public_pages import bench_env, manage, recreate_database

BENCH = "agencies"
HOST = "127.0.0.1"
BASE_DB = "bench_agencies_base"
DB = "bench_agencies"
REVIEWER = "reviewer@demo.example.com"
PAGE = 20
DEEP_PAGE = 50


def clone_database(name: str, template: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as c:
        c.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        c.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(template)
            )
        )


def timed(fn, repeat: int) -> tuple[list[float], int, object]:
    """Latencies (ms) of ``repeat`` calls after one warm-up, the query count of the last call
    and its result."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    fn()
    latencies, queries, result = [], 0, None
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as ctx:
            t0 = time.perf_counter()
            result = fn()
            latencies.append((time.perf_counter() - t0) * 1000)
        queries = len(ctx.captured_queries)
    return latencies, queries, result


def record(size: int, name: str, kind: str, latencies, queries, **extra) -> dict:
    return {
        "bench": BENCH,
        "size": size,
        "target": name,
        "kind": kind,
        "samples": len(latencies),
        "p50_ms": round(percentile(latencies, 50), 2) if latencies else None,
        "p95_ms": round(percentile(latencies, 95), 2) if latencies else None,
        "queries": queries,
        **extra,
    }


def measure_view(size, name, client, path, repeat) -> dict:
    def get():
        return client.get(path, HTTP_HOST=HOST)

    try:
        latencies, queries, response = timed(get, repeat)
    except Exception as exc:  # noqa: BLE001 - reported on the line
        return record(size, name, "view", [], None, path=path,
                      error=f"{type(exc).__name__}: {exc}"[:300])
    extra = {"path": path, "status": response.status_code}
    if response.status_code >= 400:
        extra["error"] = f"HTTP {response.status_code}"
        latencies = []
    return record(size, name, "view", latencies, queries, **extra)


def measure_selector(size, name, make_qs, offset, repeat) -> dict:
    try:
        latencies, queries, rows = timed(lambda: list(make_qs()[offset:offset + PAGE]), repeat)
        count_lat, count_q, total = timed(lambda: make_qs().count(), max(5, repeat // 3))
    except Exception as exc:  # noqa: BLE001
        return record(size, name, "selector", [], None, error=f"{type(exc).__name__}: {exc}"[:300])
    return record(
        size, name, "selector", latencies, queries, offset=offset, rows=len(rows),
        total=total, count_p50_ms=round(percentile(count_lat, 50), 2), count_queries=count_q,
    )


def explain(qs) -> str:
    sql, params = qs.query.sql_with_params()
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS OFF) " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


def run_size(size: int, env: dict, demo_agencies: int, repeat: int) -> dict:
    from django.db import connections

    connections.close_all()
    log(f"size {size}: cloning {BASE_DB} into {DB}")
    clone_database(DB, BASE_DB)
    n = max(0, size - demo_agencies)
    log(f"size {size}: generate_agencies --count {n}")
    t0 = time.perf_counter()
    proc = subprocess.run(
        [PYTHON, "manage.py", "generate_agencies", "--count", str(n), "--json"],
        cwd=ROOT, env=env, capture_output=True, text=True, check=False,
    )
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"generate_agencies failed:\n{proc.stdout}\n{proc.stderr}")
    generated = json.loads(proc.stdout.strip().splitlines()[-1])
    emit({"bench": BENCH, "size": size, "target": "generate_agencies", "kind": "generator",
          "generated_agencies": n, "command_wall_seconds": round(wall, 2), **generated})

    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")

    from django.test import Client

    from agencies.models import Agency
    from marketplace.models import User

    total = Agency.objects.count()
    reviewer = User.objects.get(email=REVIEWER)
    client = Client(raise_request_exception=False)
    client.force_login(reviewer)

    results: dict[str, dict] = {}

    try:
        from agencies.selectors import agency_public_queryset, review_queue
    except ImportError as exc:
        review_queue = agency_public_queryset = None
        log(f"selectors missing: {exc}")

    queue_total = public_total = 0
    if review_queue is not None:
        queue_total = review_queue(user=reviewer).count()
        public_total = agency_public_queryset().count()
    queue_deep = max(1, min(DEEP_PAGE, -(-queue_total // PAGE)))
    public_deep = max(1, min(DEEP_PAGE, -(-public_total // PAGE)))
    lines = [
        measure_view(size, "review_queue_page_1", client, "/agencies/review/", repeat),
        measure_view(size, f"review_queue_page_{queue_deep}", client,
                     f"/agencies/review/?page={queue_deep}", repeat),
    ]
    # The public directory (/agencies/) answers from the search index since issue 4: it is
    # measured by bench/search.py, with the index built; here only its base queryset.
    if review_queue is not None:
        lines += [
            measure_selector(size, "review_queue_selector_first_20",
                             lambda: review_queue(user=reviewer), 0, repeat),
            measure_selector(size, f"review_queue_selector_page_{queue_deep}",
                             lambda: review_queue(user=reviewer), (queue_deep - 1) * PAGE, repeat),
            measure_selector(size, "agency_public_queryset_first_20",
                             agency_public_queryset, 0, repeat),
            measure_selector(size, f"agency_public_queryset_page_{public_deep}",
                             agency_public_queryset, (public_deep - 1) * PAGE, repeat),
        ]
    keys = ["review_queue_page_1", "review_queue_page_deep", "review_queue_selector_first_20",
            "review_queue_selector_deep", "agency_public_queryset_first_20",
            "agency_public_queryset_deep"]
    for key, line in zip(keys, lines, strict=False):
        line["agencies_total"] = total
        emit(line)
        results[key] = line
    if review_queue is not None:
        plans = {
            "review_queue_page_1": explain(review_queue(user=reviewer)[:PAGE]),
            "review_queue_count": explain(review_queue(user=reviewer).values("pk")),
            "directory_page_1": explain(agency_public_queryset()[:PAGE]),
            "directory_deep": explain(
                agency_public_queryset()[(public_deep - 1) * PAGE:public_deep * PAGE]
            ),
        }
        emit({"bench": BENCH, "size": size, "target": "explain", "plans": plans})
    connections.close_all()
    return results


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Benchmark agencies lists (JSON lines).")
    parser.add_argument("--sizes", default="1000,100000")
    parser.add_argument("--repeat", type=int, default=30, help="timed calls per target")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/12")
    parser.add_argument("--skip-setup", action="store_true", help=f"reuse {BASE_DB}")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]

    env = bench_env(BASE_DB, args.redis_url)
    env["MARKETPLACE_PAGE_CACHE_SECONDS"] = "0"
    if not args.skip_setup:
        log(f"recreating {BASE_DB}, migrate, load_demo")
        recreate_database(BASE_DB)
        manage(env, "migrate", "--noinput", "-v0")
        manage(env, "load_demo", "--quiet-accounts")
    env_db = dict(env, DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{DB}")

    # Until the first clone the in-process connection reads the template (counts only).
    os.environ.update(env)
    import django

    django.setup()
    from django.conf import settings
    from django.db import connections

    from agencies.models import Agency

    demo_agencies = Agency.objects.count()
    connections.close_all()
    settings.DATABASES["default"]["NAME"] = DB  # measure against the clone from now on
    settings.DATABASES["default"]["CONN_MAX_AGE"] = 0
    from django.test.utils import override_settings

    # No collectstatic here: plain static storage (URLs without the manifest's hashes).
    override_settings(STORAGES={
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }).enable()
    connections["default"].settings_dict["NAME"] = DB

    import django as dj

    emit({"bench": BENCH, "environment": {
        "cpu_count": os.cpu_count(), "python": platform.python_version(),
        "django": dj.get_version(), "settings": "marketplace.settings.production",
        "measured": "in-process, django.test.Client and selectors, page cache off",
        "database": DB, "template": BASE_DB, "demo_agencies": demo_agencies,
        "sizes": sizes, "repeat": args.repeat, "page_size": PAGE,
    }})
    by_size = {}
    for size in sizes:
        by_size[size] = run_size(size, env_db, demo_agencies, args.repeat)
    if len(sizes) >= 2:
        small, large = min(sizes), max(sizes)
        ratios = {}
        for target, line in by_size[large].items():
            base = by_size[small].get(target)
            if base and base.get("p50_ms") and line.get("p50_ms"):
                ratios[target] = {
                    "p50_ratio": round(line["p50_ms"] / base["p50_ms"], 2),
                    "p95_ratio": round(line["p95_ms"] / base["p95_ms"], 2),
                    "queries": [base.get("queries"), line.get("queries")],
                }
        emit({"bench": BENCH, "target": "scaling", "sizes": [small, large], "ratios": ratios})
    return 0


if __name__ == "__main__":
    sys.exit(main())
