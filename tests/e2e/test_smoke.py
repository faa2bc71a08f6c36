"""Smoke journey: the server answers, and the site chrome of templates/base.html works in a
real browser (Chinese by default for a zh-CN browser, English through the switch, and back)."""

import json

import pytest

from tests.e2e.conftest import html_lang, switch_language

pytestmark = pytest.mark.e2e

PROBE = "/_e2e/base/"


def test_floor_and_healthz_load(browser_page):
    response = browser_page.goto("/floor/")
    assert response.status == 200
    assert browser_page.locator("body").inner_text().strip() == "ok"
    assert "default-src 'self'" in response.headers["content-security-policy"]

    response = browser_page.goto("/healthz")
    assert response.status == 200
    assert json.loads(response.text()) == {"status": "ok"}


def test_language_switch_on_a_base_html_page(browser_page, settings, page_errors):
    settings.ROOT_URLCONF = "tests.e2e.urls"

    response = browser_page.goto(PROBE)
    assert response.status == 200
    # A zh-CN browser gets the Chinese site without choosing anything.
    assert html_lang(browser_page) == "zh-Hans"
    assert browser_page.locator("#lang-select").input_value() == "zh-hans"
    assert browser_page.locator("a.skip-link").get_attribute("href") == "#main"

    switch_language(browser_page, "en")
    assert browser_page.url.endswith(PROBE), "set_language must come back to the same page"
    assert html_lang(browser_page) == "en"
    assert browser_page.locator("#lang-select").input_value() == "en"
    assert browser_page.locator("#probe-language").inner_text() == "en"
    cookies = {c["name"]: c["value"] for c in browser_page.context.cookies()}
    assert cookies.get("django_language") == "en"

    # The choice sticks across pages and reloads, and switching back works.
    browser_page.reload()
    assert html_lang(browser_page) == "en"
    switch_language(browser_page, "zh-hans")
    assert html_lang(browser_page) == "zh-Hans"
    assert browser_page.locator("#probe-language").inner_text() == "zh-hans"
    assert page_errors == []
