"""Gunicorn configuration for the web process (Dockerfile CMD, docker-compose `web`, and
bench/public_pages.py). Every knob can be overridden from the environment; the defaults suit a
container with a few CPUs behind a TLS-terminating reverse proxy.

    gunicorn -c deploy/gunicorn.conf.py marketplace.wsgi:application
"""

import multiprocessing
import os


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name, "").strip().lower()
    if not value:
        return default
    return value in {"1", "true", "yes", "on"}


wsgi_app = "marketplace.wsgi:application"
bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000").split(",")

# gthread: a few processes with a pool of threads each. Requests that wait on PostgreSQL or
# Redis release the GIL, so threads raise throughput without multiplying the memory of a full
# Django + Wagtail + Oscar process. WEB_CONCURRENCY is the conventional name for the count.
worker_class = "gthread"
workers = _int("WEB_CONCURRENCY", min(2 * multiprocessing.cpu_count() + 1, 9))
threads = _int("GUNICORN_THREADS", 4)

# A request that takes 30 s is broken; the worker is killed and restarted. The graceful period
# lets in-flight requests finish on deploys (SIGTERM from `docker stop` waits 10 s by default;
# compose sets stop_grace_period accordingly).
timeout = _int("GUNICORN_TIMEOUT", 30)
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 25)
keepalive = _int("GUNICORN_KEEPALIVE", 5)

# Recycle workers now and then so that a slow leak in any library never takes the site down.
max_requests = _int("GUNICORN_MAX_REQUESTS", 2000)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 200)

# Heartbeat files on tmpfs: /tmp in a container may be an overlay on a slow disk.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None

# Request-size guards (the reverse proxy should enforce its own too).
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 8190

# Logs: access and errors to stdout/stderr for the container runtime to collect.
accesslog = os.environ.get("GUNICORN_ACCESSLOG", "-") or None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOGLEVEL", "info")
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms rid=%({x-request-id}o)s "%(f)s" "%(a)s"'
capture_output = True

# X-Forwarded-* are trusted only from these peers (the reverse proxy). Django itself reads
# X-Forwarded-Proto through SECURE_PROXY_SSL_HEADER.
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1")

# No control socket: it would be created under $HOME, which is read-only for the app user in
# the image; process management is the container runtime's job.
control_socket_disable = not _bool("GUNICORN_CONTROL_SOCKET", False)

# Load the application before forking: a broken configuration fails the master at start-up
# instead of making every worker crash-loop, and workers share the imported code's memory.
# Database connections are opened lazily per worker (CONN_MAX_AGE), never before the fork.
preload_app = _bool("GUNICORN_PRELOAD", True)

proc_name = "marketplace-web"
