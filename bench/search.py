#!/usr/bin/env python
"""bench/search: the agency search (search/, issue 4) at 10k and 100k agencies, on both backends:
indexing throughput, query latency per query shape and SQL queries per search.

    .venv/bin/python bench/search.py [--sizes 10000,100000] [--repeat 20] [--quick]

Steps: (re)create the PostgreSQL database `bench_search`, migrate it and load the demo
(`manage.py load_demo`: regions, catalog, qualification types, 217 demo agencies); start a
private noida-db Elasticsearch emulator on a free port of 127.0.0.1 (temporary data dir). Per
size, smallest first: bulk-generate agencies up to that size (agencies.generate.bulk_generate,
with a spread of credit grades), ANALYZE, then for each backend (database index, Elasticsearch):
rebuild the agency index from scratch through search.indexing.reindex (extraction from the
database and bulk load reported separately) and time each query shape through the real entry
point search.api.search("agency", params) and through backend.search(request) directly, with
the SQL queries of one request. Baselines in the same run: a `SELECT 1` round trip, and the
database/Elasticsearch ratio per shape. JSON lines on stdout (bench/README.md), progress on
stderr.

THE ELASTICSEARCH FIGURES COME FROM THE noida-db EMULATOR, NOT A REAL ELASTICSEARCH CLUSTER: it
scans every document per query instead of using inverted indexes and ranks differently, so
its latencies, their growth with the data and its indexing rate say nothing about a real
cluster. They do show the request shape (one HTTP search, SQL queries per request) and that the
backend works end to end at that size.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._util import BIN, ROOT, Server, emit, free_port, log, percentile
from bench.public_pages import bench_env, manage, recreate_database

BENCH = "search"
HOST = "127.0.0.1"
DB = "bench_search"
VAR = ROOT / "var" / "bench"
KIND = "agency"
LARGE = 50_000  # from this size on: --repeat-large calls per shape, no direct calls
EMULATOR_NOTE = (
    "Elasticsearch figures come from the noida-db emulator, not a real Elasticsearch cluster: "
    "it scans every document per query instead of using inverted indexes and ranks "
    "differently, so its latencies and indexing rates say nothing about a real cluster"
)
ENGINE = {"database": "postgresql", "elasticsearch": "noida-db-emulator"}


# --- the emulator -------------------------------------------------------------------------


def start_emulator(data_dir: Path) -> tuple[Server, str]:
    port = free_port(HOST)
    server = Server(
        [
            str(BIN / "noida-db"), "start", "--data-dir", str(data_dir),
            "--only", "elasticsearch", "--elasticsearch-port", str(port), "--host", HOST,
        ],
        env=dict(os.environ),
        host=HOST,
        port=port,
        log_path=VAR / "noida-es.log",
        ready_path="/",
    )
    server.start(timeout=60)
    return server, f"http://{HOST}:{port}"


# --- settings per phase -------------------------------------------------------------------


class SearchSettings:
    """settings.SEARCH for one backend phase (override_settings, enabled until the next)."""

    def __init__(self, base: dict):
        self.base = dict(base)
        self.current = None

    def use(self, **changes) -> None:
        from django.test.utils import override_settings

        if self.current is not None:
            self.current.disable()
        self.current = override_settings(SEARCH={**self.base, **changes})
        self.current.enable()


# --- measuring ----------------------------------------------------------------------------


class QueryCounter:
    """Counts SQL statements without keeping their text (a 100k rebuild sends megabytes)."""

    def __init__(self):
        self.n = 0

    def __call__(self, execute, sql, params, many, context):
        self.n += 1
        return execute(sql, params, many, context)


def timed(fn, repeat: int, warmup: int = 1) -> tuple[list[float], list[int], object]:
    """Latencies (ms) of ``repeat`` calls after ``warmup`` calls, the SQL query count of each
    timed call, and the last result."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(warmup):
        fn()
    latencies, queries, result = [], [], None
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as ctx:
            t0 = time.perf_counter()
            result = fn()
            latencies.append((time.perf_counter() - t0) * 1000)
        queries.append(len(ctx.captured_queries))
    return latencies, queries, result


def stats(latencies: list[float]) -> dict:
    if not latencies:
        return {"n": 0, "p50_ms": None, "p95_ms": None, "mean_ms": None}
    return {
        "n": len(latencies),
        "p50_ms": round(percentile(latencies, 50), 2),
        "p95_ms": round(percentile(latencies, 95), 2),
        "mean_ms": round(statistics.fmean(latencies), 2),
    }


def select1_baseline(repeat: int) -> dict:
    from django.db import connection

    def one():
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone()

    latencies, _, _ = timed(one, repeat, warmup=3)
    return stats(latencies)


# --- data ---------------------------------------------------------------------------------


def generate_to(size: int, seed: int) -> dict | None:
    """Bulk-generates agencies until there are ``size`` in all; the generator's figures."""
    from django.db import connection

    from agencies.generate import bulk_generate
    from agencies.models import Agency

    have = Agency.objects.count()
    missing = size - have
    if missing <= 0:
        log(f"size {size}: {have} agencies already there, nothing to generate")
        return None
    log(f"size {size}: generating {missing} agencies (bulk_generate)")

    def progress(done, total, seconds):
        if done == total or done % 20000 == 0:
            log(f"  {done}/{total} agencies, {seconds:.0f}s")

    result = bulk_generate(missing, seed=seed + size, progress=progress)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return {"generated_agencies": missing, **result.as_dict()}


def credit_spread() -> dict:
    from django.db.models import Count

    from agencies.models import Agency

    rows = (
        Agency.objects.filter(status="approved")
        .values_list("credit_grade")
        .annotate(n=Count("id"))
        .order_by("credit_grade")
    )
    return {(grade or "none"): n for grade, n in rows}


def clear_database_index() -> None:
    from django.db import connection

    from search.models import SearchDocument, SearchFacetValue

    with connection.cursor() as cursor:
        cursor.execute(
            f"TRUNCATE {SearchFacetValue._meta.db_table}, {SearchDocument._meta.db_table}"
        )


def analyze_database_index() -> None:
    """VACUUM ANALYZE, as autovacuum would after a bulk load: fresh statistics, and a
    visibility map so the facet counts are index-only scans (without it, 1.2 s instead of
    0.76 s for region + industry at 100k)."""
    from django.db import connection

    from search.models import SearchDocument, SearchFacetValue

    with connection.cursor() as cursor:
        for model in (SearchDocument, SearchFacetValue):
            cursor.execute(f"VACUUM ANALYZE {model._meta.db_table}")


def index(size: int, backend_name: str, batch_size: int) -> dict:
    """Rebuilds the agency index of one backend from scratch through search.indexing.reindex
    (the database index is emptied first, so every document is written)."""
    from django.db import connection

    from search.api import primary_backend
    from search.indexing import reindex
    from search.kinds import get_kind

    kind = get_kind(KIND)
    backend = primary_backend()
    assert backend.name == backend_name, backend.name
    if backend_name == "database":
        clear_database_index()
    counter = QueryCounter()
    log(f"size {size}: indexing into {backend_name}")
    with connection.execute_wrapper(counter):
        t0 = time.perf_counter()
        report = reindex(kind, backend, batch_size=batch_size)
        wall = time.perf_counter() - t0
    if backend_name == "database":
        analyze_database_index()
    docs = report.documents
    batches = max(1, -(-docs // batch_size))
    return {
        "bench": BENCH,
        "size": size,
        "target": "index",
        "backend": backend_name,
        "engine": ENGINE[backend_name],
        "documents": docs,
        "written": report.written,
        "batch_size": batch_size,
        "seconds": round(wall, 2),
        "docs_per_second": round(docs / wall) if wall else None,
        "extract_seconds": round(report.extract_seconds, 2),
        "extract_docs_per_second": (
            round(docs / report.extract_seconds) if report.extract_seconds else None
        ),
        "load_seconds": round(report.load_seconds, 2),
        "load_docs_per_second": round(docs / report.load_seconds) if report.load_seconds else None,
        "other_seconds": round(wall - report.extract_seconds - report.load_seconds, 2),
        "sql_queries": counter.n,
        "sql_queries_per_batch": round(counter.n / batches, 1),
        "index": report.index,
        **({"note": EMULATOR_NOTE} if backend_name == "elasticsearch" else {}),
    }


# --- query shapes -------------------------------------------------------------------------


def query_shapes() -> dict[str, dict[str, str]]:
    """The parameters of each measured query shape, chosen from the data (deterministically):
    the largest industry of Kunming (530100), an approved agency's USCC and a 4-character
    fragment of its name, the last page the result window allows."""
    from django.conf import settings

    from agencies.models import Agency
    from search.api import primary_backend
    from search.kinds import get_kind
    from search.query import parse

    kind = get_kind(KIND)
    result = primary_backend().search(parse(kind, {"region": "530100"}))
    industry = next(f for f in result.facets if f.param == "industry").buckets[0].value
    approved = Agency.objects.filter(status="approved").order_by("pk")
    # The same agency at every size (pk order; agencies are only added): its USCC, and four
    # characters of its name after the place (曲靖瑞丰测绘… gives 瑞丰测绘).
    name, uscc = approved.values_list("organisation__name", "organisation__uscc")[
        min(1000, approved.count() // 2)
    ]
    page_size = kind.default_page_size
    last_page = int(settings.SEARCH.get("MAX_RESULT_WINDOW", 1000)) // page_size
    return {
        "browse_page_1": {},
        "name_2cjk": {"q": "环境"},
        "name_4cjk": {"q": "环境科技"},
        "name_4cjk_selective": {"q": name[2:6]},
        "facets_only": {"region": "530100", "industry": industry},
        "text_two_filters": {"q": "环境", "region": "530100", "credit": "A"},
        "exact_uscc": {"q": uscc},
        "credit_sort": {"region": "530100", "sort": "credit"},
        f"deep_page_{last_page}": {"page": str(last_page)},
    }


def measure_shape(size, backend_name, shape, params, plan: dict) -> dict:
    from search.api import primary_backend, search
    from search.kinds import get_kind
    from search.query import parse

    line = {
        "bench": BENCH,
        "size": size,
        "target": "query",
        "backend": backend_name,
        "engine": ENGINE[backend_name],
        "shape": shape,
        "params": params,
    }
    try:
        latencies, queries, result = timed(
            lambda: search(KIND, params), plan["repeat"], warmup=plan["warmup"]
        )
        if result.backend != backend_name:
            raise RuntimeError(f"answered by {result.backend}, not {backend_name}")
        direct, direct_queries = [], [None]
        if plan["direct"]:
            backend = primary_backend()
            request = parse(get_kind(KIND), params)
            direct, direct_queries, _ = timed(
                lambda: backend.search(request), plan["direct"], warmup=0
            )
        parse_lat, parse_queries, _ = timed(lambda: parse(get_kind(KIND), params), 5)
    except Exception as exc:  # noqa: BLE001 - reported on the line, the run goes on
        line.update(stats([]), error=f"{type(exc).__name__}: {exc}"[:300])
        return line
    line.update(stats(latencies))
    line.update(
        warmup=plan["warmup"],
        queries=queries[-1],
        **({"queries_varied": sorted(set(queries))} if len(set(queries)) > 1 else {}),
        direct_n=len(direct),
        direct_p50_ms=round(percentile(direct, 50), 2) if direct else None,
        direct_p95_ms=round(percentile(direct, 95), 2) if direct else None,
        direct_queries=direct_queries[-1],
        parse_p50_ms=round(percentile(parse_lat, 50), 2),
        parse_queries=parse_queries[-1],
        total=result.total,
        hits=len(result.hits),
        first_hit=(result.hits[0].data.get("name") if result.hits else None),
        facets=len(result.facets),
    )
    return line


def run_size(size, args, search_settings, es_url, seed) -> dict:
    """All lines of one size: {(backend, shape): line}."""
    from django.core.cache import cache

    from search.api import BREAKER_KEY, search

    generated = generate_to(size, seed)
    from agencies.models import Agency

    total = Agency.objects.count()
    emit({
        "bench": BENCH, "size": size, "target": "generate", "kind": "generator",
        "agencies_total": total,
        "approved": Agency.objects.filter(status="approved").count(),
        "credit_grades_of_approved": credit_spread(),
        **(generated or {"generated_agencies": 0}),
    })

    out: dict[tuple[str, str], dict] = {}
    shapes = None
    large = size >= LARGE
    plans = {  # timed calls, per-shape warm-up calls and direct backend.search calls
        "database": {
            "repeat": args.repeat_large if large else args.repeat,
            "warmup": 1,
            "direct": 0 if large else args.direct_repeat,
        },
        "elasticsearch": {
            "repeat": args.repeat_large if large else args.es_repeat,
            "warmup": 0 if large else 1,  # the emulator scans: nothing to warm but Python
            "direct": 0 if large else args.direct_repeat,
        },
    }
    for backend_name in args.backends:
        if backend_name == "elasticsearch":
            search_settings.use(
                BACKEND="elasticsearch", ELASTICSEARCH_URL=es_url, FALLBACK="none",
                TIMEOUT=args.es_timeout,
            )
            cache.delete(BREAKER_KEY)
        else:
            search_settings.use(BACKEND="database")
        try:
            line = index(size, backend_name, args.batch_size)
        except Exception as exc:  # noqa: BLE001
            line = {"bench": BENCH, "size": size, "target": "index", "backend": backend_name,
                    "engine": ENGINE[backend_name], "error": f"{type(exc).__name__}: {exc}"[:300]}
            emit(line)
            continue
        emit(line)
        out[(backend_name, "_index")] = line
        if shapes is None:
            shapes = query_shapes()
        plan = plans[backend_name]
        log(f"size {size}: {len(shapes)} query shapes on {backend_name}, {plan}")
        with contextlib.suppress(Exception):  # a failure shows on the shapes' lines
            search(KIND, {})  # one warm-up of the whole path (connections, imports, caches)
        for shape, params in shapes.items():
            line = measure_shape(size, backend_name, shape, params, plan)
            line["agencies_total"] = total
            emit(line)
            out[(backend_name, shape)] = line

    # Database vs Elasticsearch per shape (the emulator: see EMULATOR_NOTE).
    if len(args.backends) == 2:
        ratios = {}
        for shape in shapes or {}:
            db, es = out.get(("database", shape)), out.get(("elasticsearch", shape))
            if db and es and db.get("p50_ms") and es.get("p50_ms"):
                ratios[shape] = {
                    "database_p50_ms": db["p50_ms"],
                    "elasticsearch_p50_ms": es["p50_ms"],
                    "es_to_db_p50": round(es["p50_ms"] / db["p50_ms"], 2),
                    "totals_agree": db.get("total") == es.get("total"),
                    "queries": {"database": db.get("queries"),
                                "elasticsearch": es.get("queries")},
                }
        emit({"bench": BENCH, "size": size, "target": "backends", "ratios": ratios,
              "note": EMULATOR_NOTE})
    return out


def main(argv=None) -> int:
    started = time.perf_counter()
    parser = argparse.ArgumentParser(description="Benchmark the agency search (JSON lines).")
    parser.add_argument("--sizes", default=None, help="agencies in all, e.g. 10000,100000")
    parser.add_argument("--repeat", type=int, default=None,
                        help="timed calls per shape, database backend (default 20; 3 --quick)")
    parser.add_argument("--es-repeat", type=int, default=None,
                        help="timed calls per shape, Elasticsearch emulator (default 5; 3 --quick)")
    parser.add_argument("--repeat-large", type=int, default=3,
                        help=f"timed calls per shape, both backends, from {LARGE} agencies on")
    parser.add_argument("--direct-repeat", type=int, default=None,
                        help="backend.search calls per shape below the large size "
                        "(default 3; 0 --quick)")
    parser.add_argument("--es-timeout", type=float, default=120.0,
                        help="SEARCH['TIMEOUT'] for the emulator phase (seconds)")
    parser.add_argument("--batch-size", type=int, default=500, help="rebuild batch size")
    parser.add_argument("--backends", default="database,elasticsearch")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: sizes 2000,10000, 3 calls per shape, no direct calls")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/11")
    parser.add_argument("--skip-setup", action="store_true",
                        help=f"reuse {DB} (agencies are only added up to each size)")
    args = parser.parse_args(argv)
    args.sizes = args.sizes or ("2000,10000" if args.quick else "10000,100000")
    sizes = sorted(int(s) for s in args.sizes.split(",") if s.strip())
    args.repeat = args.repeat or (3 if args.quick else 20)
    args.es_repeat = args.es_repeat or (3 if args.quick else 5)
    if args.direct_repeat is None:
        args.direct_repeat = 0 if args.quick else 3
    args.backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    if not set(args.backends) <= {"database", "elasticsearch"}:
        parser.error("--backends: database and/or elasticsearch")

    prefix = f"bench-search-{os.getpid()}-{secrets.token_hex(3)}"
    env = bench_env(DB, args.redis_url)
    env.update({
        "MARKETPLACE_PAGE_CACHE_SECONDS": "0",
        "SEARCH_BACKEND": "database",
        "SEARCH_INDEX_PREFIX": prefix,
        "CELERY_TASK_ALWAYS_EAGER": "True",  # load_demo's outbox kicks run inline, not in Redis
    })
    if not args.skip_setup:
        log(f"recreating {DB}, migrate, load_demo")
        recreate_database(DB)
        manage(env, "migrate", "--noinput", "-v0")
        manage(env, "load_demo", "--quiet-accounts")

    os.environ.update(env)
    import django

    django.setup()
    from django.conf import settings

    search_settings = SearchSettings(settings.SEARCH)
    server, data_dir, es_url = None, None, ""
    try:
        if "elasticsearch" in args.backends:
            data_dir = Path(tempfile.mkdtemp(prefix="bench-search-es-"))
            log("starting the noida-db Elasticsearch emulator")
            server, es_url = start_emulator(data_dir)
        from agencies.models import Agency

        emit({"bench": BENCH, "environment": {
            "cpu_count": os.cpu_count(), "python": platform.python_version(),
            "django": django.get_version(), "settings": "marketplace.settings.production",
            "measured": "in-process: search.api.search('agency', params) and backend.search",
            "database": DB, "sizes": sizes, "repeat": args.repeat, "es_repeat": args.es_repeat,
            "repeat_large": args.repeat_large, "large_from": LARGE,
            "direct_repeat": args.direct_repeat, "batch_size": args.batch_size,
            "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
            "backends": args.backends, "index_prefix": prefix,
            "max_result_window": settings.SEARCH.get("MAX_RESULT_WINDOW"),
            "elasticsearch": (
                {"engine": "noida-db emulator (not a real Elasticsearch cluster)",
                 "url": es_url, "timeout_seconds": args.es_timeout, "fallback": "none"}
                if es_url else None
            ),
            "note": EMULATOR_NOTE,
            "agencies_at_start": Agency.objects.count(),
        }})
        baseline = select1_baseline(200)
        emit({"bench": BENCH, "target": "select_1", "kind": "baseline", **baseline})

        by_size = {}
        for size in sizes:
            by_size[size] = run_size(size, args, search_settings, es_url, args.seed)

        if len(sizes) >= 2:
            small, large = sizes[0], sizes[-1]
            ratios = {}
            for key, line in by_size[large].items():
                base = by_size[small].get(key)
                backend, shape = key
                if shape == "_index" or not base or not base.get("p50_ms") \
                        or not line.get("p50_ms"):
                    continue
                ratios.setdefault(backend, {})[shape] = {
                    "p50_ratio": round(line["p50_ms"] / base["p50_ms"], 2),
                    "p95_ratio": round(line["p95_ms"] / base["p95_ms"], 2),
                    "queries": [base.get("queries"), line.get("queries")],
                    "queries_constant": base.get("queries") == line.get("queries"),
                    "p50_to_select_1": round(line["p50_ms"] / baseline["p50_ms"], 1),
                }
            emit({"bench": BENCH, "target": "scaling", "sizes": [small, large],
                  "ratios": ratios})
    finally:
        if search_settings.current is not None:
            search_settings.current.disable()
        if server is not None:
            server.stop()
            log("emulator stopped")
        if data_dir is not None:
            shutil.rmtree(data_dir, ignore_errors=True)
        with contextlib.suppress(Exception):
            from django.db import connections

            connections.close_all()
    emit({"bench": BENCH, "target": "run", "wall_seconds": round(time.perf_counter() - started, 1),
          "loadavg_at_end": [round(x, 2) for x in os.getloadavg()]})
    return 0


if __name__ == "__main__":
    sys.exit(main())
