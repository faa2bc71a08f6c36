"""The demo's in-process scheduler: one daemon thread in the web process calling the same
``chronograph.tick`` that Celery beat triggers in production (``celery_schedule``).

It starts only when settings.MARKETPLACE["INPROCESS_SCHEDULER"] is true AND this process is a
server: runserver's reloader child (RUN_MAIN == "true"), runserver --noreload, or daphne. Never
during migrate, tests, shell or other management commands. Even if two such processes run, the
chronograph's database lease keeps each job from running twice at once.
"""

from __future__ import annotations

import logging
import os
import sys
import threading

from django.conf import settings

logger = logging.getLogger(__name__)

_thread: threading.Thread | None = None
_stop = threading.Event()
_lock = threading.Lock()


def is_server_process(argv: list[str] | None = None, environ=None) -> bool:
    argv = sys.argv if argv is None else argv
    environ = os.environ if environ is None else environ
    if not argv:
        return False
    program = os.path.basename(argv[0])
    if program.startswith("daphne") or (program == "__main__.py" and "daphne" in argv[0]):
        return True
    if "runserver" in argv[1:2]:
        return environ.get("RUN_MAIN") == "true" or "--noreload" in argv
    return False


def _loop(interval: float) -> None:
    from django.apps import apps

    from marketplace import chronograph

    # Started from MarketplaceConfig.ready(), before the later apps' ready() (Oscar's set up
    # their views there): a tick before the registry is complete failed with "no attribute
    # detail_view" on a slow start. Wait for it, then a short while for the server.
    while not apps.ready:
        if _stop.wait(0.5):
            return
    delay = min(5.0, interval)
    while not _stop.wait(delay):
        delay = interval
        try:
            chronograph.tick()
        except Exception:  # the thread must survive a bad tick
            logger.exception("in-process scheduler: tick failed")


def start_inprocess_scheduler_if_configured(argv=None, environ=None) -> threading.Thread | None:
    global _thread
    config = getattr(settings, "MARKETPLACE", {})
    if not config.get("INPROCESS_SCHEDULER"):
        return None
    if not is_server_process(argv, environ):
        return None
    with _lock:
        if _thread is not None and _thread.is_alive():
            return _thread
        interval = float(config.get("SCHEDULER_INTERVAL_SECONDS", 30))
        _stop.clear()
        _thread = threading.Thread(
            target=_loop, args=(interval,), name="marketplace-chronograph", daemon=True
        )
        _thread.start()
        logger.info("in-process scheduler started (every %s s)", interval)
        return _thread


def stop_inprocess_scheduler(timeout: float = 5.0) -> None:
    global _thread
    _stop.set()
    if _thread is not None:
        _thread.join(timeout)
    _thread = None
