"""Journey of issue 4's directory search (名录检索), in a real browser against the live server,
with the database backend (the default):

1. a zh-CN visitor opens the agency directory and gets it in Chinese, every approved agency
   counted and none of the others;
2. types a Chinese fragment of a name (环境) and sees the agencies whose names contain it;
3. narrows by region through the facets (云南省 → 昆明市): the counts follow, the choice shows
   as a removable chip, and removing it widens the results again;
4. sorts by credit (the select submits itself with JavaScript);
5. clicks through to an agency's public profile;
6. a regulator approves a submitted agency (through the service) and, once the outbox has
   delivered the index update, it is found in the directory; suspended, it disappears;
7. a visitor without JavaScript searches with the same plain GET form.

Index updates are outbox messages; Celery is not eager in tests, so the test delivers them
with ``outbox.sweep()`` (what the worker or the scheduler's sweep does after commit)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import html_lang

pytestmark = pytest.mark.e2e

GREEN = "云南青山环境科技有限公司"  # 五华区, 昆明市; credit B
BLUE = "曲靖蓝天环境监测有限公司"  # 麒麟区, 曲靖市; credit A
SURVEY = "昆明大地测绘有限公司"  # 五华区, 昆明市; not an environmental name
WAITING = "昆明绿水环境咨询有限公司"  # submitted: not public until approved


def deliver_index_updates() -> None:
    from marketplace import outbox

    while outbox.sweep():
        pass


@pytest.fixture
def agencies(transactional_db):
    """Yunnan's regions, a small catalog and four agencies (three approved, one submitted),
    indexed."""
    from agencies.models import EnrolmentStatus
    from tests.agencies.factories import make_catalog, yunnan_regions
    from tests.search.builders import make_agency

    yunnan_regions()
    items = make_catalog()["items"]
    made = {
        "green": make_agency(
            GREEN, region_code="530102", items=[items["eia"]], certs=[("eia-unit", "")],
            credit=("B", "82"),
        ),
        "blue": make_agency(
            BLUE, region_code="530302", items=[items["eia"], items["free"]],
            certs=[("eia-unit", "")], credit=("A", "96"),
        ),
        "survey": make_agency(
            SURVEY, region_code="530102", items=[items["survey_b"]],
            certs=[("surveying", "乙级")],
        ),
        "waiting": make_agency(
            WAITING, region_code="530103", items=[items["eia"]], certs=[("eia-unit", "")],
            status=EnrolmentStatus.SUBMITTED,
        ),
    }  # fmt: skip
    deliver_index_updates()
    return made


def result_names(page) -> list[str]:
    return page.locator(".result-card__title a").all_inner_texts()


def count(page):
    return page.locator(".search-results .result-count")


def facet(page, param: str):
    return page.locator(f"#facet-{param}")


def facet_link(page, param: str, label: str):
    return facet(page, param).locator(".facet__value", has_text=label)


def go(page, locator) -> None:
    with page.expect_navigation():
        locator.click()


def test_directory_search_facets_profile_approval_and_suspension(
    browser_page, new_browser_page, agencies, page_errors
):
    from agencies.services import agency_suspend, enrolment_approve
    from tests.agencies.factories import make_regulator_user

    page = browser_page
    # 1. The directory, in Chinese, lists the approved agencies only.
    response = page.goto("/agencies/")
    assert response.status == 200
    assert html_lang(page) == "zh-Hans", "a zh-CN visitor gets the Chinese site"
    expect(page.get_by_role("heading", level=1)).to_have_text("中介机构名录")
    expect(count(page), "every approved agency is counted").to_contain_text("共找到 3 家中介机构")
    expect(page.locator(".result-list"), "a submitted agency is not public").not_to_contain_text(
        WAITING
    )

    # 2. A Chinese fragment of a name.
    search = page.get_by_role("search", name="检索中介机构")
    search.get_by_label("关键词").fill("环境")
    go(page, search.get_by_role("button", name="检索"))
    expect(page, "the search is a GET form").to_have_url(re.compile(r"[?&]q=%E7%8E%AF%E5%A2%83"))
    expect(count(page)).to_contain_text("共找到 2 家中介机构")
    assert sorted(result_names(page)) == sorted([GREEN, BLUE])
    expect(search.get_by_label("关键词"), "the box keeps the text").to_have_value("环境")
    card = page.locator(".result-card", has_text=GREEN)
    expect(card, "the card shows the region").to_contain_text("云南省 昆明市 五华区")
    expect(card, "… the qualification").to_contain_text("环境影响评价单位")
    expect(card, "… the credit grade").to_contain_text("B")
    expect(card.locator(".badge"), "… and whether it may be selected").to_have_text("当前可选取")

    # 3. Down the region facet: province, then prefecture; the counts follow.
    province = facet_link(page, "region", "云南省")
    expect(province.locator(".facet__count"), "both are in Yunnan").to_have_text("2")
    go(page, province)
    expect(facet(page, "region").locator(".facet__trail"), "the way back up").to_contain_text(
        "全部地区"
    )
    expect(facet_link(page, "region", "昆明市").locator(".facet__count")).to_have_text("1")
    expect(facet_link(page, "region", "曲靖市").locator(".facet__count")).to_have_text("1")
    go(page, facet_link(page, "region", "昆明市"))
    expect(page, "the facet sets the region").to_have_url(re.compile(r"[?&]region=530100"))
    expect(count(page), "the results follow the facet").to_contain_text("共找到 1 家中介机构")
    assert result_names(page) == [GREEN]
    expect(
        facet_link(page, "industry", "生态环境").locator(".facet__count"),
        "the other facets count within the selection",
    ).to_have_text("1")
    chip = page.locator(".chip", has_text="行政区划：昆明市")
    expect(chip, "the region is a removable chip").to_have_count(1)
    go(page, chip)
    expect(count(page), "removing the chip widens the search again").to_contain_text(
        "共找到 2 家中介机构"
    )
    expect(page, "… and keeps the text").to_have_url(re.compile(r"[?&]q="))

    # 4. Sort by credit: the select submits itself (progressive enhancement).
    with page.expect_navigation():
        page.get_by_label("排序").select_option(label="信用")
    expect(page).to_have_url(re.compile(r"[?&]sort=credit"))
    assert result_names(page) == [BLUE, GREEN], "grade A before grade B"

    # 5. Through to the profile.
    go(page, page.get_by_role("link", name=GREEN))
    expect(page, "the card links to the public profile").to_have_url(
        re.compile(rf"/agencies/{agencies['green'].pk}/$")
    )
    expect(page.get_by_role("heading", level=1)).to_have_text(GREEN)

    # 6. Approval brings the waiting agency into the directory; suspension takes it out.
    reviewer = make_regulator_user(industries=["ecology"])
    enrolment_approve(actor=reviewer, agency=agencies["waiting"], comment="同意入驻")
    deliver_index_updates()
    page.goto("/agencies/?q=环境")
    expect(count(page), "the approved agency is found").to_contain_text("共找到 3 家中介机构")
    expect(page.get_by_role("link", name=WAITING)).to_be_visible()
    agency_suspend(agency=agencies["waiting"], reason="资质证书已过期")
    deliver_index_updates()
    page.reload()
    expect(count(page), "the suspended agency is gone").to_contain_text("共找到 2 家中介机构")
    expect(page.get_by_role("link", name=WAITING)).to_have_count(0)

    # 7. Without JavaScript: the same plain form and links.
    plain = new_browser_page(java_script_enabled=False)
    plain.goto("/agencies/")
    form = plain.get_by_role("search", name="检索中介机构")
    form.get_by_label("关键词").fill("测绘")
    go(plain, form.get_by_role("button", name="检索"))
    assert result_names(plain) == [SURVEY]
    go(plain, facet_link(plain, "qualification", "测绘资质"))
    expect(
        facet_link(plain, "level", "乙级及以上").locator(".facet__count"),
        "with a qualification chosen, its levels are counted",
    ).to_have_text("1")
    assert page_errors == [], f"uncaught JavaScript errors: {page_errors}"
