"""The search for people and programs: the agency directory page (/agencies/), the JSON API
(/api/search/…) and the catalog page's search box (/catalog/?q=…), through the Django test
client. The pages are checked in Chinese (the default language); the API's messages too.

Celery is not eager in tests: index updates are outbox messages that stay pending until
``outbox.sweep()`` delivers them (``_index()``)."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from agencies.models import EnrolmentStatus
from agencies.services import agency_suspend, enrolment_approve
from marketplace import outbox
from search.api import database_backend
from search.indexing import reindex
from search.kinds import get_kind
from tests.agencies.factories import make_regulator_user
from tests.search.builders import make_agency, make_directory
from tests.search.conftest import configure_search

pytestmark = pytest.mark.django_db

DIRECTORY = "/agencies/"
API_AGENCIES = "/api/search/agencies/"
API_CATALOG = "/api/search/catalog/"
# A port nothing listens on: Elasticsearch there refuses at once.
DEAD_ELASTICSEARCH = "http://127.0.0.1:9"


def _index() -> None:
    """Delivers the pending index updates (what the worker does after commit)."""
    while outbox.sweep():
        pass


@pytest.fixture
def directory(items):
    agencies = make_directory(items)
    _index()
    return agencies


def html(response) -> str:
    return response.content.decode()


def hit_names(response) -> list[str]:
    return [hit.data["name"] for hit in response.context["result"].hits]


def panel(response, param):
    return next((p for p in response.context["panels"] if p.param == param), None)


def links(response, param) -> dict[str, tuple[int, str]]:
    """{bucket label: (count, url)} of a facet panel, visible and behind "more"."""
    found = panel(response, param)
    assert found is not None, f"no {param} facet"
    return {link.label: (link.count, link.url) for link in [*found.links, *found.more]}


def query_of(url: str) -> dict[str, str]:
    from urllib.parse import parse_qsl, urlsplit

    return dict(parse_qsl(urlsplit(url).query))


# --- the directory page ------------------------------------------------------------------------


def test_directory_lists_approved_agencies_with_cards_in_chinese(client, directory):
    response = client.get(DIRECTORY)
    assert response.status_code == 200
    page = html(response)
    assert "<h1>中介机构名录</h1>" in page
    assert reverse("agencies:enrol_start") in page  # 机构入驻
    assert sorted(hit_names(response)) == sorted(
        ["云南某某环境科技有限公司", "阿拉丁测绘有限公司", "北方工程咨询有限公司",
         "昆明测绘院有限公司", "昆明过期环境监测有限公司"]
    )  # fmt: skip
    assert "云南草稿环境有限公司" not in page  # a draft is not public
    assert "共找到 5 家中介机构" in page
    # A card: the name links to the profile; USCC, region, industries, qualifications, credit.
    env = directory.env
    card = page[page.index(f'href="/agencies/{env.pk}/"') :]
    card = card[: card.index("</li>")]
    assert "云南某某环境科技有限公司" in card and env.organisation.uscc in card
    assert "云南省 昆明市 五华区" in card
    assert "生态环境" in card and "环境影响评价单位" in card
    assert "<dd>A</dd>" in card and "当前可选取" in card
    beifang = page[page.index(f'href="/agencies/{directory.beifang.pk}/"') :]
    assert "未评级" in beifang[: beifang.index("</li>")]
    lapsed = page[page.index(f'href="/agencies/{directory.lapsed.pk}/"') :]
    assert "当前不可选取" in lapsed[: lapsed.index("</li>")]
    # The sort select (and the search box) form a plain GET form; no inline script.
    assert 'name="sort"' in page and 'method="get"' in page
    assert "<script>" not in page and "search/search.js" in page


def test_text_search_finds_a_chinese_name_fragment(client, directory):
    response = client.get(DIRECTORY, {"q": "测绘"})
    assert response.status_code == 200
    assert hit_names(response) == ["阿拉丁测绘有限公司", "昆明测绘院有限公司"]
    page = html(response)
    assert 'value="测绘"' in page  # the box keeps the text
    chips = [chip.label for chip in response.context["chips"]]
    assert chips == ["关键词：“测绘”"]


def test_facet_values_are_links_with_counts_that_set_the_parameter(client, directory):
    response = client.get(DIRECTORY, {"q": "有限公司", "page": "1", "sort": "name"})
    industry = links(response, "industry")
    assert industry["生态环境"][0] == 2  # env, lapsed
    assert industry["自然资源"][0] == 2  # alading, kmsurvey
    url = industry["生态环境"][1]
    # Sets the parameter, keeps the text and the sort, back to page 1.
    assert query_of(url) == {"q": "有限公司", "sort": "name", "industry": "ecology"}
    assert f'href="{url.replace("&", "&amp;")}"' in html(response)
    credit = links(response, "credit")
    assert credit["A级"][0] == 1 and credit["未评级"][0] == 1
    eligible = links(response, "eligible")
    assert eligible["当前可选取"][0] == 4 and eligible["当前不可选取"][0] == 1

    narrowed = client.get(DIRECTORY + url)
    assert narrowed.status_code == 200
    assert sorted(hit_names(narrowed)) == ["云南某某环境科技有限公司", "昆明过期环境监测有限公司"]
    # The selected value links back out; it shows as a removable chip too. The other values
    # stay, counted without the industry filter (what choosing them instead would give).
    narrowed_links = {link.label: link for link in panel(narrowed, "industry").links}
    selected = narrowed_links["生态环境"]
    assert selected.selected and selected.count == 2
    assert query_of(selected.url) == {"q": "有限公司", "sort": "name"}
    other = narrowed_links["自然资源"]
    assert not other.selected and other.count == 2
    assert query_of(other.url) == {"q": "有限公司", "sort": "name", "industry": "natural-resources"}
    chips = {chip.label: chip.url for chip in narrowed.context["chips"]}
    assert query_of(chips["行业：生态环境"]) == {"q": "有限公司", "sort": "name"}
    assert query_of(chips["关键词：“有限公司”"]) == {"sort": "name", "industry": "ecology"}
    # The other facets count within the selection.
    assert links(narrowed, "eligible") == {
        "当前可选取": (1, links(narrowed, "eligible")["当前可选取"][1]),
        "当前不可选取": (1, links(narrowed, "eligible")["当前不可选取"][1]),
    }


def test_region_facet_goes_down_the_hierarchy_and_back_up(client, directory):
    top = client.get(DIRECTORY)
    provinces = links(top, "region")
    assert {k: v[0] for k, v in provinces.items()} == {"云南省": 4, "四川省": 1}

    yunnan = client.get(DIRECTORY + provinces["云南省"][1])
    prefectures = links(yunnan, "region")
    assert {k: v[0] for k, v in prefectures.items()} == {"昆明市": 3, "曲靖市": 1}
    trail = panel(yunnan, "region").trail
    assert [step.label for step in trail] == ["全部地区", "云南省"]
    assert trail[0].url == "?" and trail[-1].url is None

    kunming = client.get(DIRECTORY + prefectures["昆明市"][1])
    assert sorted(hit_names(kunming)) == [
        "云南某某环境科技有限公司", "昆明测绘院有限公司", "昆明过期环境监测有限公司"
    ]  # fmt: skip
    counties = links(kunming, "region")
    assert {k: v[0] for k, v in counties.items()} == {"五华区": 1, "盘龙区": 1}

    wuhua = client.get(DIRECTORY + counties["五华区"][1])
    assert hit_names(wuhua) == ["云南某某环境科技有限公司"]
    trail = panel(wuhua, "region").trail
    assert [step.label for step in trail] == ["全部地区", "云南省", "昆明市", "五华区"]
    assert query_of(trail[1].url) == {"region": "530000"}  # one level up at a time
    assert query_of(trail[2].url) == {"region": "530100"}
    assert [c.label for c in wuhua.context["chips"]] == ["行政区划：五华区"]
    page = html(wuhua)
    assert '<a href="?region=530100">昆明市</a>' in page


def test_level_facet_appears_with_a_qualification_and_goes_with_it(client, directory):
    top = client.get(DIRECTORY)
    assert panel(top, "level") is None  # no qualification chosen
    surveying = links(top, "qualification")["测绘资质"]
    assert surveying[0] == 2
    chosen = client.get(DIRECTORY + surveying[1])
    levels = links(chosen, "level")
    # 乙级 or higher counts the 甲级 holder too.
    assert {k: v[0] for k, v in levels.items()} == {"甲级及以上": 1, "乙级及以上": 2}
    with_level = client.get(DIRECTORY + levels["甲级及以上"][1])
    assert hit_names(with_level) == ["阿拉丁测绘有限公司"]
    chips = {chip.label: chip.url for chip in with_level.context["chips"]}
    # Removing the qualification removes its level too (it would be refused alone).
    assert query_of(chips["资质：测绘资质"]) == {}
    assert query_of(chips["资质等级：甲级及以上"]) == {"qualification": "surveying"}
    (chosen,) = panel(with_level, "qualification").links
    assert chosen.selected and query_of(chosen.url) == {}


def test_sort_by_credit_and_by_name(client, directory):
    by_credit = client.get(DIRECTORY, {"sort": "credit"})
    assert hit_names(by_credit)[:4] == [
        "云南某某环境科技有限公司", "阿拉丁测绘有限公司", "昆明测绘院有限公司",
        "昆明过期环境监测有限公司",
    ]  # fmt: skip
    assert '<option value="credit" selected>' in html(by_credit)
    # Without text there is nothing to be relevant to: that order is not offered.
    assert 'value="relevance"' not in html(by_credit)
    assert 'value="relevance"' in html(client.get(DIRECTORY, {"q": "公司"}))


def test_empty_box_and_blank_fields_browse_everything(client, directory):
    response = client.get(DIRECTORY, {"q": "  ", "sort": "", "industry": ""})
    assert response.status_code == 200
    assert response.context["result"].total == 5


def test_pagination_is_bounded_by_the_result_pages(client, items):
    for n in range(12):
        make_agency(f"分页测试咨询有限公司{n:02d}", items=[items["free"]])
    _index()
    first = client.get(DIRECTORY, {"page_size": "10", "sort": "name"})
    pagination = first.context["pagination"]
    assert (pagination.page, pagination.pages) == (1, 2)
    assert pagination.previous_url is None
    assert query_of(pagination.next_url) == {"page_size": "10", "sort": "name", "page": "2"}
    assert [link.number for link in pagination.links] == [1, 2]
    second = client.get(DIRECTORY + pagination.next_url)
    assert len(second.context["result"].hits) == 2
    assert second.context["pagination"].next_url is None
    assert "第 11–12 条" in html(second)
    # Beyond the last page: no results, a link back to the last page.
    beyond = client.get(DIRECTORY, {"page_size": "10", "page": "5"})
    assert beyond.status_code == 200
    assert query_of(beyond.context["past_last_page_url"]) == {"page_size": "10", "page": "2"}
    assert query_of(beyond.context["pagination"].previous_url) == {"page_size": "10", "page": "2"}


@pytest.mark.parametrize(
    ("params", "param", "message"),
    [
        ({"region": "999999"}, "region", "未知的地区代码“999999”"),
        ({"q": "环境😀"}, "q", "表情符号"),
        ({"colour": "red"}, "colour", "未知的检索参数"),
        ({"level": "甲级"}, "level", "只能与"),
        ({"page": "-1"}, "page", "页码"),
    ],
)
def test_bad_input_is_a_400_with_the_form_and_the_message(
    client, directory, params, param, message
):
    response = client.get(DIRECTORY, params)
    assert response.status_code == 400
    page = html(response)
    assert response.context["error_param"] == param
    error = page[page.index('id="search-error"') :]
    assert message in error[: error.index("</div>")]
    assert 'role="search"' in page  # the form is still there
    assert "result-list" not in page and "result-count" not in page  # no results area
    if "q" in params:
        assert f'value="{params["q"]}"' in page  # the input kept
        assert 'aria-invalid="true"' in page
    # A faulty filter is not carried into the next search (the text is kept to correct it).
    if param != "q":
        assert f'type="hidden" name="{param}"' not in page


def test_no_backend_is_a_503_with_a_clear_message(client, directory, settings):
    configure_search(settings, backend="elasticsearch", url=DEAD_ELASTICSEARCH, FALLBACK="none")
    response = client.get(DIRECTORY, {"q": "测绘"})
    assert response.status_code == 503
    assert response["Retry-After"]
    page = html(response)
    assert "检索服务暂时不可用" in page and 'value="测绘"' in page
    assert "result-list" not in page


def test_fallback_results_carry_a_visible_notice(client, directory, settings):
    configure_search(settings, backend="elasticsearch", url=DEAD_ELASTICSEARCH)
    response = client.get(DIRECTORY, {"q": "测绘"})
    assert response.status_code == 200
    assert response.context["result"].backend == "database"
    assert hit_names(response) == ["阿拉丁测绘有限公司", "昆明测绘院有限公司"]
    page = html(response)
    notice = page[page.index("search-notice") :]
    assert "检索服务暂时不可用" in notice[: notice.index("</div>")]


def _rebuild() -> None:
    """A full rebuild of the agency index. (Here rather than the outbox: the whole test is one
    transaction, and search.indexing.mark_dirty queues an object once per transaction, so a
    second change after a sweep would not be queued again; the browser journey, whose
    requests commit, goes through the outbox.)"""
    reindex(get_kind("agency"), database_backend())


def test_approval_and_suspension_reach_the_directory(client, items):
    agency = make_agency("云南审核测试环境咨询有限公司", items=[items["free"]],
                         status=EnrolmentStatus.SUBMITTED)  # fmt: skip
    _rebuild()
    assert client.get(DIRECTORY, {"q": "审核测试"}).context["result"].total == 0
    enrolment_approve(actor=make_regulator_user(industries=["ecology"]), agency=agency)
    _rebuild()
    assert hit_names(client.get(DIRECTORY, {"q": "审核测试"})) == ["云南审核测试环境咨询有限公司"]
    agency_suspend(agency=agency, reason="资质证书过期")
    _rebuild()
    assert client.get(DIRECTORY, {"q": "审核测试"}).context["result"].total == 0


def test_directory_in_english(client, directory):
    client.cookies["django_language"] = "en"
    response = client.get(DIRECTORY, {"q": "测绘"})
    page = html(response)
    assert "<h1>Agency directory</h1>" in page
    assert "2 agencies found" in page
    assert "Text: “测绘”" in page


# --- query counts ------------------------------------------------------------------------------


def test_directory_query_count_is_fixed_whatever_the_page_size(
    client, items, django_assert_num_queries
):
    """The directory costs 7 queries for 1 agency or 60, 10 per page or 50: the search's
    count (1) and page of documents (1), the counts of every facet in one GROUP BY (1; none
    has a value chosen), the labels of region, industry, service item and qualification
    values (4; credit and eligibility labels are constants). The level facet is hidden
    without a qualification. Each card comes from its document: nothing per agency. (An
    anonymous visitor: no session or user query.)"""
    make_agency("查询计数咨询有限公司00", items=[items["free"]], certs=[("eia-unit", "")])
    _index()
    with django_assert_num_queries(7):
        response = client.get(DIRECTORY)
    assert len(response.context["result"].hits) == 1
    for n in range(1, 60):
        make_agency(f"查询计数咨询有限公司{n:02d}", items=[items["free"], items["eia"]],
                    certs=[("eia-unit", "")])  # fmt: skip
    _index()
    for size in ("10", "50"):
        with django_assert_num_queries(7):
            response = client.get(DIRECTORY, {"page_size": size})
        assert len(response.context["result"].hits) == int(size)


def test_filtered_directory_query_count(client, directory, django_assert_num_queries):
    """Text, a region and a qualification chosen, 10 per page: 12 queries. The filter values
    are checked against the reference tables (region, qualification: 2); the text's exact
    keyword lookup (1); the count and the page (2); the facet counts: one GROUP BY for the
    facets within every filter (regions below 云南省, industries, items, levels of 测绘资质,
    credit, eligibility) and one for the qualification without its own filter (2); labels of
    regions, industries, items and qualifications (4); the selected region's trail back up
    (1). The chips' labels come from the buckets and the trail: no query."""
    params = {"q": "公司", "region": "530000", "qualification": "surveying", "page_size": "10"}
    with django_assert_num_queries(12):
        response = client.get(DIRECTORY, params)
    assert response.status_code == 200
    assert sorted(hit_names(response)) == ["昆明测绘院有限公司", "阿拉丁测绘有限公司"]
    assert [c.label for c in response.context["chips"]] == [
        "关键词：“公司”", "行政区划：云南省", "资质：测绘资质"
    ]  # fmt: skip


# --- the JSON API ------------------------------------------------------------------------------


def test_api_agencies_answers_the_same_parameters(client, directory, django_assert_num_queries):
    """8 queries, as the page (keyword lookup, count, page, facets, labels; see above):
    nothing per result."""
    with django_assert_num_queries(8):
        response = client.get(API_AGENCIES, {"q": "测绘", "sort": "name"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert "max-age=0" in response["Cache-Control"]
    data = response.json()
    assert data["kind"] == "agency" and data["total"] == 2 and data["pages"] == 1
    assert [r["name"] for r in data["results"]] == ["阿拉丁测绘有限公司", "昆明测绘院有限公司"]
    first = data["results"][0]
    assert first["url"] == f"/agencies/{directory.alading.pk}/"
    assert first["uscc"] == directory.alading.organisation.uscc
    assert first["credit_grade"] == "B" and first["eligible"] is True
    facets = {f["param"]: {b["value"]: b["count"] for b in f["buckets"]} for f in data["facets"]}
    assert facets["region"] == {"530000": 2}
    assert facets["qualification"] == {"surveying": 2}


@pytest.mark.parametrize(
    ("params", "param"),
    [({"bogus": "1"}, "bogus"), ({"q": ""}, "q"), ({"industry": "nope"}, "industry")],
)
def test_api_bad_input_is_a_400_with_the_parameter(client, directory, params, param):
    response = client.get(API_AGENCIES, params)
    assert response.status_code == 400
    body = response.json()
    assert body["param"] == param and body["error"]
    assert re.search(r"[\u4e00-\u9fff]", body["error"]), "the message is in Chinese by default"


@pytest.mark.parametrize("method", ["post", "put", "delete", "patch"])
def test_api_is_get_only(client, method):
    response = getattr(client, method)(API_AGENCIES)
    assert response.status_code == 405
    assert "GET" in response["Allow"]


def test_api_no_backend_is_a_503(client, directory, settings):
    configure_search(settings, backend="elasticsearch", url=DEAD_ELASTICSEARCH, FALLBACK="none")
    response = client.get(API_CATALOG, {"q": "测试"})
    assert response.status_code == 503
    assert response.json() == {"error": "检索服务暂时不可用，请稍后再试。"}
    assert response["Retry-After"]


def test_api_catalog(client, items, django_assert_num_queries):
    """The catalog kind: keyword lookup (1), count and page (2), the facets' counts in one
    GROUP BY (1), industry labels (1; department and fee labels need none) — 5 queries."""
    _index()
    with django_assert_num_queries(5):
        response = client.get(API_CATALOG, {"q": items["eia"].title})
    assert response.status_code == 200
    data = response.json()
    assert data["kind"] == "service_item"
    assert [r["code"] for r in data["results"]] == [items["eia"].code]
    assert data["results"][0]["url"] == items["eia"].url


# --- the catalog page's search box -----------------------------------------------------------


def test_catalog_search_shows_hits_and_facets(client, items):
    _index()
    catalog = items["eia"].get_parent().get_parent()
    response = client.get(catalog.url, {"q": "测试中介服务事项"})
    assert response.status_code == 200
    page = html(response)
    assert response.context["search_result"].total == 5
    assert "共找到 5 项服务事项" in page
    eia = items["eia"]
    assert f'<a href="{eia.url}">{eia.title}</a>' in page and eia.code in page
    industry = links(response, "industry")
    assert industry["生态环境"][0] == 2 and industry["自然资源"][0] == 2
    assert query_of(industry["生态环境"][1]) == {"q": "测试中介服务事项", "industry": "ecology"}
    narrowed = client.get(catalog.url + industry["生态环境"][1])
    assert narrowed.context["search_result"].total == 2
    assert 'value="测试中介服务事项"' in html(narrowed)
    # The filter select keeps the chosen industry.
    assert '<option value="ecology" selected>' in html(narrowed)


def test_catalog_search_bad_input_is_a_400_with_the_message(client, items):
    catalog = items["eia"].get_parent().get_parent()
    response = client.get(catalog.url, {"q": "!!!"})
    assert response.status_code == 400
    page = html(response)
    assert "只有标点或符号" in page and 'value="!!!"' in page
    assert "result-list" not in page
    response = client.get(catalog.url, {"q": "环境", "department": "没有这个部门"})
    assert response.status_code == 400
    assert "没有这个部门" in html(response)


def test_catalog_search_is_not_in_the_page_cache(client, items, settings):
    """The plain catalog is cached (cms/cache.py); searched, it follows the index, which the
    outbox updates after a publish, so it is rendered afresh each time."""
    from django.core.cache import cache

    settings.MARKETPLACE = {**settings.MARKETPLACE, "PAGE_CACHE_SECONDS": 300}
    cache.clear()
    _index()
    catalog = items["eia"].get_parent().get_parent()
    client.get(catalog.url)
    assert client.get(catalog.url)["X-Page-Cache"] == "hit"
    for _ in range(2):
        response = client.get(catalog.url, {"q": "测试"})
        assert response.status_code == 200 and "X-Page-Cache" not in response
    cache.clear()


def test_catalog_without_text_lists_as_before(client, items):
    catalog = items["eia"].get_parent().get_parent()
    response = client.get(catalog.url, {"q": "", "industry": "ecology"})
    assert response.status_code == 200
    assert response.context["page_obj"].paginator.count == 2
    assert "search_result" not in response.context


def test_catalog_search_query_count_is_fixed(client, items, django_assert_num_queries):
    """The catalog searched costs the same for 5 items as for 30, whatever the page: Wagtail
    serving (the site, the root page, the page by slug and its specific row, aliases and view
    restrictions: 6), the filter form's industry pages and departments (2), then the search:
    keyword lookup (1), count and page (2), the facets' counts in one GROUP BY (1), industry
    labels (1): 13."""
    from tests.cms.factories import make_item

    _index()
    catalog = items["eia"].get_parent().get_parent()
    client.get(catalog.url, {"q": "测试"})  # warm Wagtail's site root paths cache
    with django_assert_num_queries(13):
        response = client.get(catalog.url, {"q": "测试"})
    assert len(response.context["hits"]) == 5
    ecology = items["eia"].get_parent()
    for _ in range(25):
        make_item(ecology)
    _index()
    with django_assert_num_queries(13):
        response = client.get(catalog.url, {"q": "测试", "page": "2"})
    assert len(response.context["hits"]) == 10
