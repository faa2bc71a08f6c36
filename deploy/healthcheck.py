#!/usr/bin/env python
"""Container health checks without curl (the image has none) and without Django (fast).

    python deploy/healthcheck.py                       # web: GET /healthz on :8000
    python deploy/healthcheck.py --port 8001           # websocket server (daphne) on :8001
    python deploy/healthcheck.py --file-max-age /tmp/celerybeat-schedule 900
                                                       # beat: its schedule file is fresh

The HTTP check sends a Host header Django accepts (DJANGO_HEALTHCHECK_HOST, else the first
entry of DJANGO_ALLOWED_HOSTS) and X-Forwarded-Proto: https, so neither ALLOWED_HOSTS nor
SECURE_SSL_REDIRECT makes a healthy server look sick. Exit 0 = healthy, 1 = unhealthy.
"""

import argparse
import glob
import http.client
import os
import sys
import time


def _host() -> str:
    explicit = os.environ.get("DJANGO_HEALTHCHECK_HOST", "").strip()
    if explicit:
        return explicit
    for entry in os.environ.get("DJANGO_ALLOWED_HOSTS", "").split(","):
        entry = entry.strip().lstrip(".")
        if entry and entry != "*":
            return entry
    return "localhost"


def check_http(port: int, path: str, timeout: float) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Host": _host(), "X-Forwarded-Proto": "https"})
        response = conn.getresponse()
        body = response.read(512)
    except OSError as exc:
        print(f"unhealthy: {exc}", file=sys.stderr)
        return 1
    finally:
        conn.close()
    if response.status != 200:
        print(f"unhealthy: HTTP {response.status} {body[:200]!r}", file=sys.stderr)
        return 1
    return 0


def check_file_age(pattern: str, max_age: float) -> int:
    paths = glob.glob(pattern + "*")
    if not paths:
        print(f"unhealthy: no file matches {pattern}*", file=sys.stderr)
        return 1
    age = time.time() - max(os.path.getmtime(p) for p in paths)
    if age > max_age:
        print(f"unhealthy: {pattern} last written {age:.0f}s ago", file=sys.stderr)
        return 1
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    parser.add_argument("--path", default="/healthz")
    parser.add_argument("--timeout", type=float, default=4.0)
    parser.add_argument("--file-max-age", nargs=2, metavar=("PATH", "SECONDS"))
    args = parser.parse_args(argv)
    if args.file_max_age:
        return check_file_age(args.file_max_age[0], float(args.file_max_age[1]))
    return check_http(args.port, args.path, args.timeout)


if __name__ == "__main__":
    sys.exit(main())
