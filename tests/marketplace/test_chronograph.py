import logging
import threading
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from marketplace import chronograph, scheduler
from marketplace.celery_schedule import CELERY_BEAT_SCHEDULE
from marketplace.models import JobState

pytestmark = pytest.mark.django_db


@pytest.fixture
def registry():
    return chronograph.Registry()


def test_job_runs_once_per_interval(registry):
    runs = []

    @registry.job("test.every-minute", every=timedelta(minutes=1))
    def job(now):
        runs.append(now)
        return len(runs)

    t0 = timezone.now()
    assert [r.status for r in registry.run_due_jobs(now=t0)] == ["ok"]
    assert registry.run_due_jobs(now=t0 + timedelta(seconds=30))[0].status == "not_due"
    assert registry.run_due_jobs(now=t0 + timedelta(seconds=59))[0].status == "not_due"
    result = registry.run_due_jobs(now=t0 + timedelta(minutes=1))[0]
    assert (result.status, result.result) == ("ok", 2)
    assert runs == [t0, t0 + timedelta(minutes=1)]
    state = JobState.objects.get(name="test.every-minute")
    assert state.run_count == 2 and state.lease_until is None and state.last_success_at


def test_job_is_idempotent_on_the_data(registry):
    # The pattern every app follows: the job advances what is due, so rerunning is harmless.
    due = {"a": timezone.now() - timedelta(minutes=1), "b": timezone.now() + timedelta(hours=1)}
    advanced = []

    @registry.job("test.advance", every=timedelta(0))
    def advance(now):
        for key, when in list(due.items()):
            if when <= now:
                advanced.append(key)
                del due[key]

    now = timezone.now()
    registry.run_due_jobs(now=now)
    registry.run_due_jobs(now=now + timedelta(seconds=1))
    assert advanced == ["a"]
    registry.run_due_jobs(now=now + timedelta(hours=2))
    assert advanced == ["a", "b"]


def test_failing_job_is_logged_and_does_not_stop_others(registry, caplog):
    ran = []

    @registry.job("test.broken", every=timedelta(0))
    def broken(now):
        raise ValueError("bad data")

    @registry.job("test.fine", every=timedelta(0))
    def fine(now):
        ran.append(now)

    with caplog.at_level(logging.ERROR, logger="marketplace.chronograph"):
        results = {r.name: r for r in registry.run_due_jobs()}
    assert results["test.broken"].status == "failed"
    assert results["test.broken"].error == "ValueError: bad data"
    assert results["test.fine"].status == "ok" and len(ran) == 1
    assert any("test.broken failed" in r.getMessage() for r in caplog.records)
    state = JobState.objects.get(name="test.broken")
    assert state.failure_count == 1 and state.last_error == "ValueError: bad data"
    assert state.lease_until is None  # released, so the next tick retries it


def test_a_live_lease_blocks_a_second_runner(registry):
    runs = []

    @registry.job("test.leased", every=timedelta(0), lease=timedelta(minutes=5))
    def job(now):
        runs.append(now)

    now = timezone.now()
    registry.run_due_jobs(now=now)
    # Another runner is (say) still busy: it holds the lease.
    JobState.objects.filter(name="test.leased").update(lease_until=now + timedelta(minutes=5))
    assert registry.run_due_jobs(now=now + timedelta(minutes=1))[0].status == "not_due"
    # A crashed runner's lease expires.
    assert registry.run_due_jobs(now=now + timedelta(minutes=6))[0].status == "ok"
    assert len(runs) == 2


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_concurrent_runners_run_a_job_once(registry):
    entered = threading.Event()
    release = threading.Event()
    runs = []

    @registry.job("test.slow", every=timedelta(minutes=1))
    def slow(now):
        runs.append(now)
        entered.set()
        assert release.wait(10)

    results = {}

    def runner():
        try:
            results["thread"] = registry.run_due_jobs()[0].status
        finally:
            connection.close()

    thread = threading.Thread(target=runner)
    thread.start()
    try:
        assert entered.wait(10)
        results["main"] = registry.run_due_jobs()[0].status
    finally:
        release.set()
        thread.join(10)
    assert sorted(results.values()) == ["not_due", "ok"]
    assert len(runs) == 1


def test_default_registry_has_the_outbox_sweep_first():
    assert next(iter(chronograph.default.jobs)) == "outbox.sweep"


def test_run_chronograph_once_sweeps_the_outbox(capsys):
    from marketplace import outbox

    message = outbox.enqueue("test.chronograph", {})
    delivered = []
    outbox.handler("test.chronograph")(lambda payload, *, message: delivered.append(message.pk))
    call_command("run_chronograph", "--once")
    assert "outbox.sweep: ok" in capsys.readouterr().out
    assert delivered == [message.pk]


def test_beat_schedule_ticks_the_registered_task():
    from marketplace.celery import app

    app.loader.import_default_modules()  # what a worker does at start (autodiscovery)
    entry = CELERY_BEAT_SCHEDULE["marketplace-chronograph"]
    assert entry["schedule"] == 30.0
    assert entry["task"] in app.tasks


@pytest.mark.parametrize(
    ("argv", "environ", "expected"),
    [
        (["manage.py", "runserver"], {"RUN_MAIN": "true"}, True),
        (["manage.py", "runserver"], {}, False),  # the reloader's parent process
        (["manage.py", "runserver", "--noreload"], {}, True),
        (["/venv/bin/daphne", "marketplace.asgi:application"], {}, True),
        (["manage.py", "migrate"], {"RUN_MAIN": "true"}, False),
        (["manage.py", "shell"], {}, False),
        (["/venv/bin/pytest"], {}, False),
        ([], {}, False),
    ],
)
def test_is_server_process(argv, environ, expected):
    assert scheduler.is_server_process(argv, environ) is expected


def test_inprocess_scheduler_starts_one_thread_only_when_configured(settings, monkeypatch):
    ticks = threading.Event()
    monkeypatch.setattr(chronograph, "tick", lambda: ticks.set())
    server = (["manage.py", "runserver"], {"RUN_MAIN": "true"})
    settings.MARKETPLACE = {**settings.MARKETPLACE, "INPROCESS_SCHEDULER": False}
    assert scheduler.start_inprocess_scheduler_if_configured(*server) is None
    settings.MARKETPLACE = {
        **settings.MARKETPLACE,
        "INPROCESS_SCHEDULER": True,
        "SCHEDULER_INTERVAL_SECONDS": 0.05,
    }
    assert scheduler.start_inprocess_scheduler_if_configured(["pytest"], {}) is None
    try:
        thread = scheduler.start_inprocess_scheduler_if_configured(*server)
        assert thread is not None and thread.daemon
        assert scheduler.start_inprocess_scheduler_if_configured(*server) is thread
        assert ticks.wait(5)
    finally:
        scheduler.stop_inprocess_scheduler()
    assert not thread.is_alive()
