"""Shared test set-up.

Transactional tests (live server, concurrency) end with a flush that empties every table,
including what migrations created (Wagtail's root page and site, groups, workflows). Such tests
are marked ``serialized_rollback=True``; the teardown hook below loads the migrated state back
right after their flush, so later tests and the next --reuse-db run find the database as
migrated."""

import json

import pytest


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"


def _is_serialized_transactional(item) -> bool:
    marker = item.get_closest_marker("django_db")
    return bool(
        marker and marker.kwargs.get("transaction") and marker.kwargs.get("serialized_rollback")
    )


_DB_BLOCKER: list = []
_SNAPSHOTS: dict[str, str] = {}


@pytest.fixture(scope="session", autouse=True)
def _remember_migrated_state(django_db_setup, django_db_blocker):
    """Keep the blocker and the serialized migrated state (made by Django at database setup,
    because these tests are serialized_rollback) at hand for the teardown hook. Session scope
    so that this runs before the module-scoped Playwright starts: inside Playwright's greenlet
    the ORM sees other connection objects, without the serialized contents."""
    from django.db import connections

    _DB_BLOCKER[:] = [django_db_blocker]
    for alias in connections:
        contents = getattr(connections[alias], "_test_serialized_contents", None)
        if contents and alias not in _SNAPSHOTS:
            _SNAPSHOTS[alias] = contents


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item, nextitem):
    """After the transactional flush that ends every journey (a fixture teardown, so it has
    happened once this hook's inner call returns), put back the data that migrations created
    (Wagtail's root page and site, content types, …), so that later tests and the next
    --reuse-db run find the database as migrated. Content types go first: restoring a page
    may look its content type up."""
    try:
        return (yield)
    finally:
        if _DB_BLOCKER and _is_serialized_transactional(item):
            restore_migrated_data(_DB_BLOCKER[0])


def restore_migrated_data(django_db_blocker) -> None:
    """Empty the tables and load the migrated state back. The flush is repeated here without
    post_migrate: under Playwright the test case's flush may not have seen the serialized
    contents (another connection object) and so may have recreated content types with new ids."""
    from django.core.management import call_command
    from django.db import connections

    with django_db_blocker.unblock():
        for alias, contents in _SNAPSHOTS.items():
            call_command(
                "flush", interactive=False, verbosity=0, database=alias, inhibit_post_migrate=True
            )
            objects = json.loads(contents)
            objects.sort(key=lambda obj: obj["model"] != "contenttypes.contenttype")
            connection = connections[alias]
            connection.creation.deserialize_db_from_string(json.dumps(objects))
            _reset_sequences(connection, {obj["model"] for obj in objects})
            connection.close()
        from django.contrib.contenttypes.models import ContentType

        ContentType.objects.clear_cache()


def _reset_sequences(connection, model_labels) -> None:
    """The flush above resets the id sequences (to 1) and the migrated rows are loaded back with
    their ids, so on PostgreSQL the next insert would reuse id 1 (IntegrityError on, e.g.,
    wagtailcore_page_pkey). Move each sequence past the restored rows."""
    from django.apps import apps
    from django.core.management.color import no_style

    models = [apps.get_model(label) for label in sorted(model_labels)]
    statements = connection.ops.sequence_reset_sql(no_style(), models)
    if statements:
        with connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)


@pytest.fixture(scope="module")
def module_db(django_db_setup, django_db_blocker):
    """One transaction around a whole test module, rolled back at its end: what module-scoped
    fixtures create (the catalog: some twenty Wagtail pages, seconds to publish) is made once
    per module and seen by every test, whose own changes are rolled back to a savepoint as
    usual (pytest-django's per-test atomic nests inside this one, as Django's TestCase does
    for setUpTestData). Not for transactional tests (transaction=True)."""
    from django.db import transaction

    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            yield
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


# --- Elasticsearch (the noida-db emulator, DESIGN §8) -----------------------------------------


def _free_port() -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def elasticsearch_url(tmp_path_factory):
    """The URL of an Elasticsearch-protocol server for this test session: the ``noida-db``
    emulator (dev requirements) on a free port of 127.0.0.1, with its data in a temporary
    directory; stopped and removed at the end of the session. It speaks the Elasticsearch 8
    HTTP API (the official client accepts it) but scans instead of indexing and ranks
    differently: tests assert behaviour, not scores. (Its binary prints a harmless GLIBC "weak
    version" warning on stderr.)"""
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    binary = Path(sys.executable).with_name("noida-db")
    if not binary.exists():
        found = shutil.which("noida-db")
        if found is None:
            pytest.fail("noida-db is not installed: install the dev requirements")
        binary = Path(found)
    data_dir = tmp_path_factory.mktemp("noida-db")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = (data_dir.parent / f"{data_dir.name}.log").open("wb")
    process = subprocess.Popen(
        [
            str(binary),
            "start",
            "--data-dir",
            str(data_dir),
            "--only",
            "elasticsearch",
            "--elasticsearch-port",
            str(port),
            "--host",
            "127.0.0.1",
        ],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        # Its own process group: the console script is a Python wrapper around the real
        # binary, and terminating only the wrapper would leave the server running.
        start_new_session=True,
    )
    try:
        _wait_until_answering(process, "noida-db", url + "/", Path(log.name))
        yield url
    finally:
        _stop_group(process)
        log.close()
        shutil.rmtree(data_dir, ignore_errors=True)


def _wait_until_answering(process, name: str, url: str, log_path, *, seconds: float = 20) -> None:
    """Polls ``url`` (on 127.0.0.1, no proxy) until it answers 200; fails the session with the
    end of the server's log if the process exits or ``seconds`` pass first."""
    import time
    import urllib.error
    import urllib.request
    from pathlib import Path

    no_proxy = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.monotonic() + seconds
    while True:
        if process.poll() is not None:
            pytest.fail(
                f"{name} exited with {process.returncode} before answering; log: "
                f"{Path(log_path).read_text(errors='replace')[-2000:]}"
            )
        try:
            with no_proxy.open(url, timeout=1) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        if time.monotonic() > deadline:
            pytest.fail(
                f"{name} did not answer on {url} within {seconds:.0f} s; log: "
                f"{Path(log_path).read_text(errors='replace')[-2000:]}"
            )
        time.sleep(0.1)


def _stop_group(process, *, grace: float = 10.0) -> None:
    """Terminates the process group led by ``process`` (started with start_new_session): the
    wrapper and the server it runs. SIGTERM, then SIGKILL for whatever is left after
    ``grace`` seconds."""
    import os
    import signal
    import time

    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        process.poll()  # reap the wrapper, or the group never looks empty
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait(timeout=5)


# --- Stripe (the localstripe fake server, DESIGN §8) ------------------------------------------


@pytest.fixture(scope="session")
def localstripe_url(tmp_path_factory):
    """The URL of a Stripe-protocol server for this test session: ``localstripe`` (dev
    requirements) on a free port of 127.0.0.1, from scratch, in its own process group; stopped
    at the end of the session (launcher: marketplace/localstripe_launcher.py, shared with the
    benchmarks). Its fake Stripe.js is at ``<url>/js.stripe.com/v3/``. It has no Checkout
    Sessions and no idempotency keys, and does not send charge.refunded events."""
    from marketplace.localstripe_launcher import LocalStripe, LocalStripeError

    server = LocalStripe(log_path=tmp_path_factory.mktemp("localstripe") / "localstripe.log")
    try:
        url = server.start()
    except LocalStripeError as exc:
        pytest.fail(str(exc))
    try:
        yield url
    finally:
        server.stop()
