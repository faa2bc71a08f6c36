"""Shared helpers for the benchmarks in bench/: percentiles, free ports, JSON-line output,
starting/stopping a server subprocess, a closed-loop HTTP load generator, query counting, and
the demo database and in-process Django set-up of the benchmarks that measure in-process.

Every benchmark prints its figures as JSON lines on stdout (one object per line, see
bench/README.md); human-oriented progress goes to stderr.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import math
import os
import platform
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
BIN = Path(sys.executable).parent


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def emit(record: dict) -> None:
    """Print one JSON line (UTF-8, no ASCII escaping) and flush it."""
    print(json.dumps(record, ensure_ascii=False, sort_keys=False, default=str), flush=True)


def emit_environment(
    bench: str, database: str, *, versions: dict | None = None, **fields: object
) -> None:
    """The run's first JSON line, of an in-process benchmark on production settings: the
    machine, the versions (Python, Django, then `versions`), the settings and `database`,
    then `fields` in their order, and the load at the start."""
    import django

    emit(
        {
            "bench": bench,
            "environment": {
                "cpu_count": os.cpu_count(),
                "python": platform.python_version(),
                "django": django.get_version(),
                **(versions or {}),
                "settings": "marketplace.settings.production",
                "database": database,
                **fields,
                "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
            },
        }
    )


def emit_run_end(bench: str, started: float) -> None:
    """The run's last JSON line: wall time since `started` (time.perf_counter) and load."""
    emit(
        {
            "bench": bench,
            "target": "run",
            "wall_seconds": round(time.perf_counter() - started, 1),
            "loadavg_at_end": [round(x, 2) for x in os.getloadavg()],
        }
    )


def percentile(values: list[float], p: float) -> float | None:
    """Linear-interpolated percentile (p in 0..100) of unsorted values; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    rank = (p / 100) * (len(ordered) - 1)
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def free_port(host: str = "127.0.0.1") -> int:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def http_get(
    host: str, port: int, path: str, *, headers: dict | None = None, timeout: float = 10.0
) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


class Server:
    """A server subprocess in its own process group, stopped (SIGTERM, then SIGKILL) by
    stop() or on leaving the `with` block, whatever happened inside it."""

    def __init__(
        self,
        args: list[str],
        *,
        env: dict[str, str],
        host: str,
        port: int,
        log_path: Path,
        ready_path: str = "/healthz",
    ):
        self.args, self.env, self.host, self.port = args, env, host, port
        self.log_path, self.ready_path = log_path, ready_path
        self.proc: subprocess.Popen | None = None
        self._log = None

    def start(self, timeout: float = 60.0) -> Self:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            self.args,
            cwd=ROOT,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"server exited with {self.proc.returncode}; see {self.log_path}"
                )
            with contextlib.suppress(OSError):
                status, _ = http_get(self.host, self.port, self.ready_path, timeout=2)
                if status == 200:
                    return self
            time.sleep(0.2)
        raise RuntimeError(f"server not ready after {timeout}s; see {self.log_path}")

    def stop(self, grace: float = 15.0) -> None:
        if self.proc is not None and self.proc.poll() is None:
            pgid = self.proc.pid  # start_new_session: the group id is the child's pid
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGTERM)
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pgid, signal.SIGKILL)
                self.proc.wait(5)
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


@dataclass
class LoadResult:
    clients: int
    seconds: float
    latencies_ms: list[float] = field(default_factory=list)  # successful requests only
    statuses: Counter = field(default_factory=Counter)
    exceptions: Counter = field(default_factory=Counter)

    @property
    def requests(self) -> int:
        return sum(self.statuses.values()) + sum(self.exceptions.values())

    @property
    def errors(self) -> int:
        bad = sum(n for code, n in self.statuses.items() if not 200 <= code < 400)
        return bad + sum(self.exceptions.values())

    @property
    def ok(self) -> int:
        return self.requests - self.errors

    @property
    def throughput_rps(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    def summary(self) -> dict:
        def ms(p):
            value = percentile(self.latencies_ms, p)
            return None if value is None else round(value, 2)

        return {
            "clients": self.clients,
            "requests": self.requests,
            "errors": self.errors,
            "throughput_rps": round(self.throughput_rps, 1),
            "p50_ms": ms(50),
            "p95_ms": ms(95),
            "p99_ms": ms(99),
            "status_codes": {str(k): v for k, v in sorted(self.statuses.items())},
            **({"exceptions": dict(self.exceptions)} if self.exceptions else {}),
        }


def closed_loop(
    host: str,
    port: int,
    path: str,
    *,
    clients: int,
    seconds: float,
    headers: dict | None = None,
    timeout: float = 10.0,
    max_requests_per_client: int = 1_000_000,
) -> LoadResult:
    """`clients` threads, each with one keep-alive connection, send the next request as soon as
    the previous answer is read, until `seconds` have passed (or the per-client cap). Latency
    is measured per request on the client; throughput counts successful (2xx/3xx) answers."""
    result = LoadResult(clients=clients, seconds=seconds)
    lock = threading.Lock()
    start_gate = threading.Barrier(clients + 1)
    deadline_holder: list[float] = []
    headers = dict(headers or {})

    def client() -> None:
        latencies, statuses, exceptions = [], Counter(), Counter()
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
        start_gate.wait()
        deadline = deadline_holder[0]
        sent = 0
        while sent < max_requests_per_client:
            t0 = time.perf_counter()
            if t0 >= deadline:
                break
            sent += 1
            try:
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
                response.read()
                elapsed = (time.perf_counter() - t0) * 1000
                statuses[response.status] += 1
                if 200 <= response.status < 400:
                    latencies.append(elapsed)
                if response.will_close:
                    conn.close()
                    conn = http.client.HTTPConnection(host, port, timeout=timeout)
            except (OSError, http.client.HTTPException) as exc:
                exceptions[type(exc).__name__] += 1
                conn.close()
                conn = http.client.HTTPConnection(host, port, timeout=timeout)
        conn.close()
        with lock:
            result.latencies_ms.extend(latencies)
            result.statuses.update(statuses)
            result.exceptions.update(exceptions)

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    began = time.perf_counter()
    deadline_holder.append(began + seconds)
    start_gate.wait()
    for thread in threads:
        thread.join(seconds + timeout + 5)
    result.seconds = time.perf_counter() - began
    return result


def count_queries(path: str, *, host: str = "127.0.0.1", repeat: int = 2) -> tuple[int, int]:
    """(status, number of SQL queries) of one GET through Django's test Client, in this
    process, against the configured database. The last of `repeat` requests is counted, so
    per-process caches warmed by the first one (e.g. the Site lookup) count as warm, like a
    long-running server's."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(raise_request_exception=False)
    status, queries = 0, 0
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(path, HTTP_HOST=host)
        status, queries = response.status_code, len(ctx.captured_queries)
    return status, queries


def flush_redis(url: str) -> None:
    import redis

    redis.Redis.from_url(url).flushdb()


def load_demo_database(env: dict[str, str], database: str) -> None:
    """Drop and recreate the PostgreSQL database `database`, migrate it and load the demo
    (`manage.py load_demo`) with the settings of `env`."""
    from bench.public_pages import manage, recreate_database

    log(f"recreating {database}, migrate, load_demo")
    recreate_database(database)
    eager = dict(env, CELERY_TASK_ALWAYS_EAGER="True")  # load_demo delivers its outbox inline
    manage(eager, "migrate", "--noinput", "-v0")
    manage(eager, "load_demo", "--quiet-accounts")


@contextlib.contextmanager
def django_run(
    bench: str,
    database: str,
    redis_url: str,
    *,
    started: float,
    skip_setup: bool,
    celery_eager: bool = False,
    extra_env: dict[str, str] | None = None,
) -> Iterator[dict[str, str]]:
    """An in-process benchmark run on the demo database: production settings (bench_env of
    bench/public_pages.py) on `database` and Redis `redis_url` (flushed before and after), the
    page cache off, the database search backend, `extra_env`; the database recreated with the
    demo (load_demo_database) unless `skip_setup`; then Django set up in this process. Yields
    the environment (for manage.py subprocesses). On leaving, the database connections are
    closed and Redis flushed, whatever happened; after a run that raised nothing, its last line
    (emit_run_end) is printed."""
    from bench.public_pages import bench_env

    env = bench_env(database, redis_url)
    env.update({"MARKETPLACE_PAGE_CACHE_SECONDS": "0", "SEARCH_BACKEND": "database"})
    env.update(extra_env or {})
    flush_redis(redis_url)
    if not skip_setup:
        load_demo_database(env, database)
    # Measured (unless celery_eager): kicks go to the broker, no worker.
    env["CELERY_TASK_ALWAYS_EAGER"] = str(celery_eager)
    os.environ.update(env)
    import django

    django.setup()
    try:
        yield env
    finally:
        from django.db import connections

        connections.close_all()
        flush_redis(redis_url)
    emit_run_end(bench, started)
