"""Journey: the public watches the live draw room (直播抽取) in a real browser while the
scheduler closes registration and draws; every stage appears without reloading the page, the
browser itself checks the revealed secret against the commitment, and after a lost connection
the page catches up from the server's snapshot.

pytest-django's live server is WSGI (no websockets), so this journey runs daphne — the
production ASGI server, marketplace.asgi — in a subprocess on a free 127.0.0.1 port against the
test database and the test Redis channel layer. The test drives the draw as the scheduler
would (services.close_registration + run_selection past the deadline, then outbox.sweep()).
"""

from __future__ import annotations

import datetime
import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.db import connections
from playwright.sync_api import expect

from marketplace import outbox
from procurement import services
from procurement.models import Registration
from tests.e2e.conftest import _new_page, _screenshot_on_failure
from tests.procurement.factories import (
    close_and_draw,
    make_announcement,
    make_world,
    register_all,
)

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Daphne:
    """daphne serving marketplace.asgi (HTTP and websockets) on 127.0.0.1:port."""

    def __init__(self, log_path: Path):
        from django.conf import settings

        db = settings.DATABASES["default"]  # already pointed at the test database
        auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "marketplace.settings.test",
            "DATABASE_URL": f"postgres://{auth}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}",
            "REDIS_URL": settings.REDIS_URL,
            "DJANGO_ALLOW_ASYNC_UNSAFE": "",
        }
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 30) -> None:
        log = open(self.log_path, "ab")  # noqa: SIM115 - closed with the process
        self.process = subprocess.Popen(
            [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port)]
            + ["marketplace.asgi:application"],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"daphne exited: {self.log_path.read_text()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"daphne did not start: {self.log_path.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


@pytest.fixture
def daphne(tmp_path):
    server = Daphne(tmp_path / "daphne.log")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def room_page(request, _browser, daphne, page_errors):
    page = _new_page(_browser, SimpleNamespace(url=daphne.url), page_errors)
    console_errors: list[str] = []
    page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
    page.console_errors = console_errors
    yield page
    _screenshot_on_failure(request, page)
    page.context.close()


def deliver_all() -> None:
    """The scheduler's outbox sweep, until nothing is left. In a thread of its own, as in a
    worker: Playwright's sync API keeps an event loop running in this thread, where the
    channel layer's async_to_sync cannot run."""

    def sweep() -> None:
        try:
            while outbox.sweep():
                pass
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(sweep).result()


def test_watching_the_draw_live(room_page, daphne, page_errors):
    world = make_world(agencies=4)
    announcement = make_announcement(world)
    register_all(announcement, world.agencies)
    deliver_all()
    names = {a.pk: a.organisation.name for a in world.agencies}
    admins = {a.pk: a.admin_user for a in world.agencies}

    page = room_page
    page.goto(f"/procurement/{announcement.code}/room/")
    live = page.locator("#room-live")
    expect(live).to_have_attribute("data-state", "live")
    expect(page.locator('[data-field="commitment"]')).to_have_text(announcement.commitment)
    pool_hash = page.locator('[data-field="pool-hash"]')
    expect(pool_hash).to_be_hidden()
    page.evaluate("window.__sameDocument = true")  # gone if the page reloads

    # The deadline passes: the scheduler freezes the pool and draws.
    now = announcement.registration_deadline + datetime.timedelta(seconds=1)
    assert services.close_registration(announcement.pk, now=now) == "closed"
    deliver_all()
    announcement.refresh_from_db()
    expect(pool_hash).to_have_text(announcement.pool_hash)
    expect(page.locator('[data-field="pool-size"]')).to_have_text("4")
    expect(page.locator('[data-field="secret"]')).to_be_hidden()

    assert services.run_selection(announcement.pk, now=now) == "selected"
    deliver_all()
    record = announcement.draw.record

    expect(page.locator('[data-field="secret"]')).to_have_text(record["secret"])
    check = page.locator('[data-field="check"]')
    expect(check).to_have_attribute("data-state", "ok")  # SHA-256 computed by the browser
    expect(check).to_contain_text("✓")
    rows = page.locator('[data-field="ranking"] tr')
    expect(rows).to_have_count(4)
    for position, entry in enumerate(record["ranking"], start=1):
        expect(rows.nth(position - 1)).to_contain_text(names[entry["id"]])
        expect(rows.nth(position - 1)).to_contain_text(entry["rank"])
    selected = page.locator('[data-field="selected"]')
    expect(selected).to_contain_text(names[record["selected"][0]])
    alternates = page.locator('[data-field="alternates"] li')
    expect(alternates).to_have_count(2)
    expect(alternates.first).to_contain_text(names[record["alternates"][0]])
    expect(page.locator("#room-log li")).to_have_count(4)  # frozen, secret, ranking, result
    assert page.evaluate("window.__sameDocument") is True

    # A later event while connected: the selected agency declines, the first alternate moves up.
    first, second = record["selected"][0], record["alternates"][0]
    registration = Registration.objects.get(announcement=announcement, agency_id=first)
    services.registration_decline(actor=admins[first], registration=registration)
    deliver_all()
    promotions = page.locator('[data-field="promotions"]')
    expect(promotions).to_contain_text(names[second])
    expect(promotions).to_contain_text(names[first])

    # The connection drops; meanwhile the promoted agency confirms and the result goes into
    # publicity. The page reconnects by itself and catches up from the snapshot.
    daphne.stop()
    expect(live).to_have_attribute("data-state", "reconnecting")
    promoted = Registration.objects.get(announcement=announcement, agency_id=second)
    services.registration_confirm(actor=admins[second], registration=promoted)
    deliver_all()  # delivered to no one: the viewer is offline
    daphne.start()
    expect(live).to_have_attribute("data-state", "live", timeout=20_000)
    expect(page.locator('[data-field="status"]')).to_have_attribute("data-status", "publicity")
    expect(page.locator('[data-part="publicity"]')).to_be_visible()
    assert page.evaluate("window.__sameDocument") is True

    assert page_errors == []
    assert not [e for e in page.console_errors if "Content Security Policy" in e]


def test_the_room_without_javascript(new_browser_page, daphne):
    """The server-rendered page is complete on its own (no script, no socket)."""
    world = make_world(agencies=3)
    announcement = make_announcement(world)
    register_all(announcement, world.agencies)
    assert close_and_draw(announcement) == "selected"
    page = new_browser_page(java_script_enabled=False)
    page.goto(f"{daphne.url}/procurement/{announcement.code}/room/")
    expect(page.locator('[data-field="pool-hash"]')).to_have_text(announcement.pool_hash)
    expect(page.locator('[data-field="secret"]')).to_have_text(announcement.draw.record["secret"])
    expect(page.locator('[data-field="ranking"] tr')).to_have_count(3)
    expect(page.locator('[data-field="selected"] li')).to_have_count(1)
