"""Journeys of issue 2's "Done when": a visitor browses the catalog in Chinese, and computes a fee
with its breakdown (with JavaScript through /api/fees/calculate/, and without JavaScript through
the server-rendered result page).

Each test loads the demo catalog itself (the database is flushed after every live-server test)."""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import html_lang, switch_language

pytestmark = pytest.mark.e2e

ITEM_PATH = "/catalog/construction/yn-zj-0001/"  # 建设工程招标代理（工程招标）, rule zbdl-1980
ITEM_TITLE = "建设工程招标代理（工程招标）"
ECOLOGY_ITEMS = {
    "建设项目环境影响报告书编制",
    "建设项目环境影响报告表编制",
    "建设项目竣工环境保护验收监测",
}


@pytest.fixture
def demo_catalog(transactional_db):
    from cms.demo import load_catalog
    from cms.fees.demo import load_fee_rules

    load_fee_rules()
    return load_catalog()


# --- 1. Browse the catalog in Chinese ------------------------------------------------------


def test_browse_catalog_in_chinese(browser_page, demo_catalog, page_errors):
    page = browser_page
    response = page.goto("/")
    assert response.status == 200, f"home page answered {response.status}"
    assert html_lang(page) == "zh-Hans", "a zh-CN visitor must get the Chinese site"
    nav = page.get_by_role("navigation").filter(has=page.get_by_role("link", name="事项清单"))
    expect(nav.get_by_role("link", name="首页"), "the main nav is in Chinese").to_be_visible()

    # Follow the navigation to the catalog.
    with page.expect_navigation():
        nav.get_by_role("link", name="事项清单", exact=True).click()
    expect(page, "the nav link leads to the catalog").to_have_url(re.compile(r"/catalog/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("中介服务事项清单")
    rows = page.locator("table.data-table tbody tr")
    total = demo_catalog["items"]
    expect(
        page.locator(".result-count"), "the unfiltered catalog counts every demo item"
    ).to_have_text(f"共 {total} 项服务事项")

    # Filter by an industry with the filter form.
    filters = page.get_by_role("search", name="筛选事项清单")
    filters.get_by_label("行业", exact=True).select_option(label="生态环境")
    with page.expect_navigation():
        filters.get_by_role("button", name="检索", exact=True).click()
    expect(page, "the filter is a GET form").to_have_url(re.compile(r"[?&]industry=ecology"))
    expect(page.locator(".result-count"), "only the ecology items are counted").to_have_text(
        f"共 {len(ECOLOGY_ITEMS)} 项服务事项"
    )
    expect(rows, "one row per ecology item").to_have_count(len(ECOLOGY_ITEMS))
    industry_cells = rows.locator("td:nth-child(3)")
    assert set(industry_cells.all_inner_texts()) == {"生态环境"}, "every row is of 生态环境"
    titles = set(rows.locator("td:nth-child(2) a").all_inner_texts())
    assert titles == ECOLOGY_ITEMS, f"unexpected items after filtering: {titles}"
    expect(
        filters.get_by_label("行业", exact=True), "the chosen industry stays selected"
    ).to_have_value("ecology")

    # Open an item and read its legal basis and qualifications (in Chinese).
    with page.expect_navigation():
        rows.get_by_role("link", name="建设项目环境影响报告书编制").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("建设项目环境影响报告书编制")
    assert html_lang(page) == "zh-Hans"
    expect(page.get_by_role("heading", name="设置依据", level=2)).to_be_visible()
    expect(page.get_by_role("heading", name="资质要求", level=2)).to_be_visible()
    expect(page.get_by_role("heading", name="前置审批事项", level=2)).to_be_visible()
    legal = page.get_by_role("table", name="设置依据")
    expect(legal, "the structured legal basis names the EIA law").to_contain_text(
        "《中华人民共和国环境影响评价法》"
    )
    expect(page.get_by_role("table", name="资质要求")).to_be_visible()
    assert page_errors == [], f"uncaught JavaScript errors: {page_errors}"


def test_english_browser_still_gets_chinese_and_can_switch(new_browser_page, demo_catalog):
    page = new_browser_page(locale="en-US")
    page.goto("/catalog/")
    assert html_lang(page) == "zh-Hans", (
        "the site is Chinese first: an English browser (Accept-Language en-US) gets Chinese"
    )
    expect(page.get_by_role("heading", name="筛选事项清单")).to_be_visible()
    expect(page.get_by_role("link", name="事项清单", exact=True)).to_be_visible()

    switch_language(page, "en")
    expect(page, "the switch comes back to the same page").to_have_url(re.compile(r"/catalog/$"))
    assert html_lang(page) == "en", "the switch to English works"
    expect(page.get_by_role("heading", name="Filter the catalog")).to_be_visible()
    expect(page.get_by_role("link", name="Service catalog", exact=True)).to_be_visible()

    # The choice persists: another page, and a reload.
    page.goto(ITEM_PATH)
    assert html_lang(page) == "en", "the chosen language persists across pages"
    expect(page.get_by_role("heading", name="Legal basis", level=2)).to_be_visible()
    expect(page.get_by_role("heading", name="Required qualifications", level=2)).to_be_visible()
    page.reload()
    assert html_lang(page) == "en", "the chosen language persists across reloads"

    switch_language(page, "zh-hans")
    assert html_lang(page) == "zh-Hans", "and back to Chinese"
    expect(page.get_by_role("heading", name="设置依据", level=2)).to_be_visible()


# --- 2. Compute a fee with its breakdown ---------------------------------------------------

BREAKDOWN_800_WAN = [
    "0元–100万元 档：100万元 × 1% = 10,000.00元",
    "100万元–500万元 档：400万元 × 0.7% = 28,000.00元",
    "500万元–1,000万元 档：300万元 × 0.55% = 16,500.00元",
]


def calculator(page):
    return page.get_by_role("region", name="收费计算器")


def fill_calculator(page, amount: str, *, unit_label: str = "万元", category_label="工程招标"):
    calc = calculator(page)
    calc.get_by_label("收费类别").select_option(label=category_label)
    calc.get_by_label("中标金额").fill(amount)
    calc.get_by_label("单位").select_option(label=unit_label)
    return calc


def test_fee_calculator_with_javascript(browser_page, demo_catalog, page_errors):
    page = browser_page
    page.goto(ITEM_PATH)
    expect(page.get_by_role("heading", level=1)).to_have_text(ITEM_TITLE)
    calc = calculator(page)
    expect(calc, "the item page has the calculator").to_be_visible()
    expect(calc.get_by_label("收费类别"), "the item's category is preselected").to_have_value(
        "works"
    )
    # Mark this document: a full navigation would lose the mark.
    page.evaluate("window.__e2eSameDocument = true")
    documents = []
    page.on("request", lambda r: documents.append(r.url) if r.resource_type == "document" else None)

    fill_calculator(page, "800")
    with page.expect_response(re.compile(r"/api/fees/calculate/\?")) as answer:
        calc.get_by_role("button", name="计算").click()
    assert answer.value.status == 200, "the calculator API priced 800 万元"
    assert "amount=800" in answer.value.url and "unit=wan" in answer.value.url

    result = calc.locator(".fee-result")
    expect(result, "the standard fee is shown in yuan and in 万元").to_contain_text(
        re.compile(r"54,500\.00\s*元\s*[（(]5\.45\s*万元[）)]")
    )
    expect(result, "the allowed float range is shown").to_contain_text("43,600.00 – 65,400.00")
    steps = result.locator("ol.fee-breakdown li")
    expect(steps.filter(has_text="档："), "three bracket slices").to_have_text(BREAKDOWN_800_WAN)
    assert page.evaluate("window.__e2eSameDocument === true"), "no full page navigation"
    assert documents == [], f"the enhanced form must not load a page: {documents}"
    assert page.url.endswith(ITEM_PATH)

    # Beyond the table: an error that says so, never an extrapolation.
    fill_calculator(page, "20000")
    with page.expect_response(re.compile(r"/api/fees/calculate/\?")) as answer:
        calc.get_by_role("button", name="计算").click()
    assert answer.value.status == 400
    alert = result.get_by_role("alert")
    expect(alert, "out-of-table amounts are refused, in Chinese").to_contain_text(
        "超出本收费标准表的范围（最高 10,000万元）"
    )
    expect(alert).to_contain_text("不作推算")
    expect(result.locator("ol.fee-breakdown"), "no result is left over").to_have_count(0)
    amount_input = calc.get_by_label("中标金额")
    expect(amount_input, "the amount field is flagged").to_have_attribute("aria-invalid", "true")
    expect(calc.locator('[data-error-for="amount"]')).to_contain_text("超出本收费标准表的范围")

    # Not a number.
    fill_calculator(page, "abc")
    with page.expect_response(re.compile(r"/api/fees/calculate/\?")) as answer:
        calc.get_by_role("button", name="计算").click()
    assert answer.value.status == 400
    expect(result.get_by_role("alert"), "a clear Chinese message").to_contain_text(
        "“abc”不是有效的金额，请输入数字"
    )
    expect(calc.locator('[data-error-for="amount"]')).to_contain_text("不是有效的金额")

    # And a good amount again replaces the error by the result.
    fill_calculator(page, "800")
    calc.get_by_role("button", name="计算").click()
    expect(result).to_contain_text("54,500.00")
    expect(result.get_by_role("alert")).to_have_count(0)
    expect(amount_input).not_to_have_attribute("aria-invalid", "true")

    assert page.evaluate("window.__e2eSameDocument === true"), "still the same document"
    assert documents == [], f"the enhanced form must not load a page: {documents}"
    assert page_errors == [], f"uncaught JavaScript errors: {page_errors}"


def test_fee_calculator_without_javascript(new_browser_page, demo_catalog):
    page = new_browser_page(java_script_enabled=False)
    page.goto(ITEM_PATH)
    calc = calculator(page)
    fill_calculator(page, "800")
    with page.expect_navigation():
        calc.get_by_role("button", name="计算").click()
    expect(page, "the form round-trips to the server-rendered result").to_have_url(
        re.compile(r"/fees/zbdl-1980/calculate/\?.*amount=800")
    )
    expect(page.get_by_role("heading", level=1)).to_contain_text("招标代理服务收费")
    result = calculator(page).locator(".fee-result")
    expect(result.locator(".fee-standard"), "the same figure as with JavaScript").to_have_text(
        re.compile(r"54,500\.00\s*元\s*[（(]5\.45\s*万元[）)]")
    )
    steps = result.locator("ol.fee-breakdown li")
    expect(steps.filter(has_text="档：")).to_have_text(BREAKDOWN_800_WAN)
    # The inputs are kept for another try.
    expect(calculator(page).get_by_label("中标金额")).to_have_value("800")

    # Out of the table: a 400 page with the message, the input kept.
    fill_calculator(page, "20000")
    with page.expect_navigation() as nav:
        calculator(page).get_by_role("button", name="计算").click()
    assert nav.value.status == 400
    expect(page.get_by_role("alert").first).to_contain_text("超出本收费标准表的范围")
    expect(calculator(page).get_by_label("中标金额")).to_have_value("20000")
