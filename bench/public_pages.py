#!/usr/bin/env python
"""bench/public_pages: throughput and latency of the public pages under concurrent load,
against the server we deploy (gunicorn + deploy/gunicorn.conf.py, production settings,
PostgreSQL, whitenoise static), with the framework's floor (/floor/) in the same run.

    .venv/bin/python bench/public_pages.py [--clients 32] [--seconds 10] [--skip-setup]

Steps: (re)create the PostgreSQL database `bench_marketplace`, migrate, load the demo data
(load_data() below), collect static files, count each endpoint's SQL queries in-process,
start gunicorn on a free 127.0.0.1 port, warm up, then run a closed loop of N clients per
endpoint. One JSON line per endpoint on stdout (format: bench/README.md); progress on stderr.
Everything started here is stopped at the end, also on Ctrl-C or an exception.
"""

from __future__ import annotations

import argparse
import os
import platform
import secrets
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._util import (
    BIN,
    PYTHON,
    ROOT,
    Server,
    closed_loop,
    count_queries,
    emit,
    free_port,
    log,
)

BENCH = "public_pages"
HOST = "127.0.0.1"
CALCULATOR = "/api/fees/calculate/?rule=zbdl-1980&category=works&amount=8000000"
VAR = ROOT / "var" / "bench"


def bench_env(database: str, redis_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "marketplace.settings.production",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "DJANGO_ALLOWED_HOSTS": f"{HOST},localhost,testserver",
            "DJANGO_SECURE_SSL_REDIRECT": "False",  # no TLS proxy in front of the benchmark
            "DJANGO_HSTS_SECONDS": "0",
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{database}",
            "REDIS_URL": redis_url,
            "CELERY_BROKER_URL": redis_url,
            "STATIC_ROOT": str(VAR / "static"),
            "MEDIA_ROOT": str(VAR / "media"),
            "LOG_LEVEL": "WARNING",
            "MARKETPLACE_DEMO": "False",
            "MARKETPLACE_INPROCESS_SCHEDULER": "False",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    env.pop("DJANGO_DEBUG", None)
    return env


def manage(env: dict[str, str], *args: str) -> None:
    log("manage.py " + " ".join(args))
    proc = subprocess.run(
        [PYTHON, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")


def recreate_database(name: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as c:
        c.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def has_command(env: dict[str, str], name: str) -> bool:
    proc = subprocess.run(
        [PYTHON, "manage.py", "help", name],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    return proc.returncode == 0


def load_data(env: dict[str, str]) -> str:
    """Load the demo content the pages show. Adjust here when the loaders change.
    Returns a short description for the environment line."""
    if has_command(env, "load_demo"):
        manage(env, "load_demo")
        return "load_demo"
    # Before load_demo exists: whatever catalog/fee loaders the cms apps provide.
    loaded = [
        name
        for name in ("load_fee_standards", "load_catalog", "load_cms_demo")
        if has_command(env, name)
    ]
    for name in loaded:
        manage(env, name)
    if not loaded:
        log("warning: no demo data loader found (manage.py load_demo); pages may 404")
    return "+".join(loaded) or "none"


def service_item_path() -> str | None:
    """URL path of the first live service item page, or None if there is none (yet)."""
    try:
        from cms.models import ServiceItemPage  # lazily: the cms app is being built
    except ImportError:
        return None
    page = ServiceItemPage.objects.live().order_by("path").first()
    if page is None:
        return None
    url = page.get_url()
    return urlsplit(url).path if url else None


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Benchmark the public pages (JSON lines).")
    parser.add_argument("--clients", type=int, default=32, help="concurrent clients")
    parser.add_argument("--seconds", type=float, default=10.0, help="load per endpoint")
    parser.add_argument("--warmup", type=float, default=2.0, help="warm-up per endpoint")
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="gunicorn processes (default: deploy/gunicorn.conf.py's)",
    )
    parser.add_argument("--threads", type=int, default=None, help="threads per process")
    parser.add_argument("--database", default="bench_marketplace")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/13")
    parser.add_argument(
        "--skip-setup",
        action="store_true",
        help="reuse the database and static files of an earlier run",
    )
    args = parser.parse_args(argv)
    if args.clients < 1 or args.seconds <= 0:
        parser.error("--clients must be >= 1 and --seconds > 0")

    env = bench_env(args.database, args.redis_url)
    data = "reused"
    if not args.skip_setup:
        log(f"recreating database {args.database}")
        recreate_database(args.database)
        manage(env, "migrate", "--noinput", "-v0")
        data = load_data(env)
        manage(env, "collectstatic", "--noinput", "-v0", "--clear")

    # Only now: the static manifest is read once, when the storage is first used.
    os.environ.update(env)  # this process counts queries with the same settings
    import django

    django.setup()

    item = service_item_path()
    endpoints = [
        ("floor", "/floor/"),
        ("home", "/"),
        ("catalog_index", "/catalog/"),
        ("service_item", item),
        ("fee_calculator_api", CALCULATOR),
    ]

    # Exact query counts per request, in-process against the same database, for each mode of
    # the public page cache (on: what production serves; off: the cost of a real render).
    from django.test.utils import override_settings

    queries: dict[str, dict] = {"on": {}, "off": {}}
    for mode, seconds in (("on", 300), ("off", 0)):
        from django.conf import settings as dj_settings

        with override_settings(
            MARKETPLACE={**dj_settings.MARKETPLACE, "PAGE_CACHE_SECONDS": seconds}
        ):
            for name, path in endpoints:
                if path is None:
                    continue
                try:
                    queries[mode][name] = count_queries(path, host=HOST)
                except Exception as exc:  # noqa: BLE001 - reported on the endpoint's line
                    log(f"{name}: counting queries failed: {exc!r}")
                    queries[mode][name] = (f"exception: {type(exc).__name__}", None)
    from django.db import connections

    connections.close_all()

    import runpy

    conf = runpy.run_path(str(ROOT / "deploy" / "gunicorn.conf.py"), init_globals={})
    workers = args.workers or conf["workers"]
    threads = args.threads or conf["threads"]

    import django as dj
    import gunicorn
    import wagtail

    try:
        import oscar

        oscar_version = oscar.get_version()
    except Exception:  # noqa: BLE001
        oscar_version = None
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        pg_version = cursor.fetchone()[0]
    connections.close_all()

    emit(
        {
            "bench": BENCH,
            "environment": {
                "cpu_count": os.cpu_count(),
                "python": platform.python_version(),
                "platform": platform.platform(),
                "django": dj.get_version(),
                "wagtail": wagtail.__version__,
                "oscar": oscar_version,
                "gunicorn": gunicorn.__version__,
                "postgresql": pg_version,
                "server": {
                    "command": "gunicorn -c deploy/gunicorn.conf.py",
                    "worker_class": conf["worker_class"],
                    "workers": workers,
                    "threads": threads,
                    "settings": "marketplace.settings.production",
                    "bind": f"{HOST}:<free port>",
                    "page_cache_modes": ["on", "off"],
                },
                "client": {
                    "kind": "closed loop, http.client keep-alive, one thread per client",
                    "clients": args.clients,
                    "seconds": args.seconds,
                    "warmup_seconds": args.warmup,
                    "same_machine": True,
                },
                "database": args.database,
                "data": data,
            },
        }
    )

    try:
        for mode in ("on", "off"):
            run_mode(mode, args, env, endpoints, queries[mode], workers, threads)
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    return 0


def run_mode(mode, args, env, endpoints, queries, workers, threads) -> None:
    """One server per page-cache mode, each endpoint loaded in turn, the floor first so that
    every ratio compares figures of the same server run."""
    port = free_port()
    server_env = dict(
        env,
        GUNICORN_BIND=f"{HOST}:{port}",
        MARKETPLACE_PAGE_CACHE_SECONDS="300" if mode == "on" else "0",
    )
    server_env["WEB_CONCURRENCY"] = str(workers)
    server_env["GUNICORN_THREADS"] = str(threads)
    server = Server(
        [str(BIN / "gunicorn"), "--config", "deploy/gunicorn.conf.py"],
        env=server_env,
        host=HOST,
        port=port,
        log_path=VAR / f"gunicorn-cache-{mode}.log",
    )
    floor_rps = None
    try:
        log(
            f"page cache {mode}: starting gunicorn on {HOST}:{port} ({workers} x {threads} gthread)"
        )
        server.start()
        for name, path in endpoints:
            record = {
                "bench": BENCH,
                "endpoint": name,
                "page_cache": mode,
                "path": path,
                "clients": args.clients,
            }
            if path is None:
                record.update(
                    {
                        "requests": 0,
                        "errors": 1,
                        "throughput_rps": 0.0,
                        "p50_ms": None,
                        "p95_ms": None,
                        "p99_ms": None,
                        "queries": None,
                        "ratio_to_floor": None,
                        "error": "no live ServiceItemPage in the database",
                    }
                )
                emit(record)
                continue
            headers = {"Host": HOST, "Accept-Language": "zh-CN,zh;q=0.9"}
            log(f"{name}: warm-up {args.warmup}s, then {args.seconds}s x {args.clients} clients")
            closed_loop(
                HOST, port, path, clients=min(args.clients, 4), seconds=args.warmup, headers=headers
            )
            result = closed_loop(
                HOST, port, path, clients=args.clients, seconds=args.seconds, headers=headers
            )
            summary = result.summary()
            status, n_queries = queries.get(name, (None, None))
            if name == "floor":
                floor_rps = result.throughput_rps or None
            ratio = (
                round(floor_rps / result.throughput_rps, 2)
                if floor_rps and result.throughput_rps
                else None
            )
            record.update(summary)
            record.update({"queries": n_queries, "ratio_to_floor": ratio})
            if result.ok == 0:
                record["error"] = f"no successful response (in-process status {status})"
            emit(record)
    finally:
        server.stop()
        time.sleep(0.1)


if __name__ == "__main__":
    sys.exit(main())
