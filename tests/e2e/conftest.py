"""Browser journeys: Playwright (sync API) driving Debian's chromium against pytest-django's
live server (DESIGN §8). Never downloads a browser; never lets the page reach anything but the
live server on 127.0.0.1.

Fixtures for journeys:
  browser_page   a fresh zh-CN browser context + page per test, already pointed at the live
                 server (``browser_page.goto("/catalog/")`` works); a screenshot lands in
                 var/e2e/ when the test fails.
  new_browser_page  new_browser_page(locale="en-US", java_script_enabled=False) -> one more
                 visitor (own context and cookies), same guard, screenshot and clean-up.
  live_url       live_url("/fees/") -> absolute URL on the live server.
  make_user      make_user("editor@example.org", "pw", superuser=True) -> user (committed).
  page_errors    list of uncaught JavaScript errors seen by browser_page.
Helpers (import from tests.e2e.conftest): cms_login, switch_language, html_lang.

Database: the live server runs in another thread with its own connection, so journeys use
``transactional_db`` semantics — create the demo content a journey needs inside the test (or
with a fixture). After each test the database is flushed; every e2e test is marked
``serialized_rollback`` (Django serializes the migrated state at database setup and skips the
post_migrate signal on flush), and the teardown hook in tests/conftest.py restores that state
right after the flush, so later tests (and the next --reuse-db run) still find Wagtail's root
page, the default site and other data created by migrations.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest

CHROMIUM = os.environ.get("E2E_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOT_DIR = Path(__file__).resolve().parents[2] / "var" / "e2e"
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
DEFAULT_TIMEOUT_MS = 15_000

# Playwright must never fetch a browser of its own.
os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")


def pytest_collection_modifyitems(config, items):
    """Every test under tests/e2e is a transactional, serialized-rollback database test and
    carries the e2e marker (so `-m "not e2e"` deselects them)."""
    here = Path(__file__).resolve().parent
    for item in items:
        if here in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.django_db(transaction=True, serialized_rollback=True))
            if item.get_closest_marker("e2e") is None:
                item.add_marker(pytest.mark.e2e)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture(scope="module")
def _playwright():
    """Module-scoped on purpose: while Playwright's sync API is running, the main thread has a
    running event loop and Django refuses ORM calls ("async context") unless
    DJANGO_ALLOW_ASYNC_UNSAFE is set. Both are confined to e2e modules."""
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(
            f"Debian chromium not found at {CHROMIUM}: the browser journeys need it. "
            "Run scripts/services (installs chromium, chromium-driver and fonts-noto-cjk) "
            "or set E2E_CHROMIUM to a chromium binary.",
            pytrace=False,
        )
    from playwright.sync_api import sync_playwright

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        manager = sync_playwright().start()
        try:
            yield manager
        finally:
            manager.stop()


@pytest.fixture(scope="module")
def _browser(_playwright):
    try:
        browser = _playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
    except Exception as exc:  # noqa: BLE001 - turn any launch problem into a clear failure
        pytest.fail(f"could not launch {CHROMIUM}: {exc}", pytrace=False)
    yield browser
    browser.close()


@pytest.fixture
def live_url(live_server):
    def build(path: str = "/") -> str:
        return live_server.url + path

    return build


@pytest.fixture
def page_errors():
    return []


def _new_page(browser, live_server, page_errors, **options):
    """A fresh context + page on the live server; requests off 127.0.0.1 are blocked and
    uncaught JavaScript errors are appended to ``page_errors``."""
    context = browser.new_context(
        base_url=live_server.url,
        locale=options.pop("locale", "zh-CN"),
        timezone_id="Asia/Shanghai",
        viewport={"width": 1280, "height": 900},
        **options,
    )
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)

    def only_local(route):
        host = urlsplit(route.request.url).hostname
        if route.request.url.startswith(("data:", "blob:", "about:")) or host in LOCAL_HOSTS:
            route.continue_()
        else:
            route.abort("blockedbyclient")

    context.route("**/*", only_local)
    page = context.new_page()
    page.on("pageerror", lambda exc: page_errors.append(str(exc)))
    return page


def _screenshot_on_failure(request, page, suffix: str = "") -> None:
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid + suffix)[-150:]
        try:
            page.screenshot(path=str(SCREENSHOT_DIR / f"{name}.png"), full_page=True)
        except Exception as exc:  # noqa: BLE001 - a screenshot must not hide the real failure
            print(f"e2e: could not save a screenshot: {exc}")


@pytest.fixture
def browser_page(request, _browser, live_server, page_errors):
    page = _new_page(_browser, live_server, page_errors)
    yield page
    _screenshot_on_failure(request, page)
    page.context.close()


@pytest.fixture
def new_browser_page(request, _browser, live_server, page_errors):
    """Another visitor: ``new_browser_page(locale="en-US", java_script_enabled=False)`` gives a
    page in its own fresh context (own cookies), with the same network guard as browser_page.
    Closed (after a screenshot on failure) at the end of the test."""
    pages = []

    def create(**options):
        page = _new_page(_browser, live_server, page_errors, **options)
        pages.append(page)
        return page

    yield create
    for number, page in enumerate(pages, start=1):
        _screenshot_on_failure(request, page, f"-page{number}")
        page.context.close()


@pytest.fixture
def make_user(transactional_db):
    """Create a user that can log in (by e-mail, Oscar's EmailBackend, or username)."""
    from django.contrib.auth import get_user_model

    def create(email: str, password: str, *, staff: bool = False, superuser: bool = False, **extra):
        User = get_user_model()
        user = User(username=extra.pop("username", email), email=email, **extra)
        user.is_staff = staff or superuser
        user.is_superuser = superuser
        user.set_password(password)
        user.save()
        return user

    return create


# --- helpers for journeys -----------------------------------------------------------------


def html_lang(page) -> str:
    return page.locator("html").get_attribute("lang") or ""


def switch_language(page, code: str) -> None:
    """Use the language switch of templates/base.html (a POST to Django's set_language that
    redirects back to the same page)."""
    page.select_option("#lang-select", code)
    with page.expect_navigation():
        page.locator("form.lang-switch [type=submit]").click()


def cms_login(page, email: str, password: str, *, next_path: str = "/cms/") -> None:
    """Log in to Wagtail's admin at /cms/ through its login form."""
    page.goto(f"/cms/login/?next={next_path}")
    page.fill("input[name=username]", email)
    page.fill("input[name=password]", password)
    with page.expect_navigation():
        page.locator("form [type=submit]").first.click()
    if "/cms/login/" in page.url:
        raise AssertionError(f"CMS login failed for {email}: still on {page.url}")
