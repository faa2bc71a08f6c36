"""The backend contract: the same searches give the same answers from the database backend and
from Elasticsearch (each test runs once per backend, see conftest.backend). What differs by
design — scores, and Latin-word substrings (Elasticsearch matches whole words) — is not
asserted here."""

from __future__ import annotations

import pytest

from search.kinds import get_kind
from search.query import BadSearch, parse
from tests.search.builders import (
    build_index,
    facet,
    find,
    found,
    ids,
    make_agency,
    make_directory,
    names,
    pk,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def agencies(items):
    """The directory of tests.search.builders, made once for the module (conftest.module_db)."""
    return make_directory(items)


@pytest.fixture
def directory(agencies, backend):
    build_index(backend, "agency")
    return agencies


ENV = "云南某某环境科技有限公司"
ALADING = "阿拉丁测绘有限公司"
BEIFANG = "北方工程咨询有限公司"
KMSURVEY = "昆明测绘院有限公司"
LAPSED = "昆明过期环境监测有限公司"


# --- 1. Chinese text ------------------------------------------------------------------------


def test_partial_chinese_names(backend, directory):
    assert found(backend, "环境") == {ENV, LAPSED}  # not the draft 云南草稿环境有限公司
    assert found(backend, "某某环境科") == {ENV}  # a longer substring
    assert found(backend, "环境科技有限") == {ENV}
    assert found(backend, "境技") == set()  # both characters occur, not side by side
    assert found(backend, "测绘") == {ALADING, KMSURVEY}
    assert found(backend, "丁") == {ALADING}  # a single character
    assert found(backend, "昆") == {KMSURVEY, LAPSED}
    assert found(backend, "草稿") == set()  # drafts are not in the directory
    # Every word must match (AND), wherever it is.
    assert found(backend, "昆明 测绘") == {KMSURVEY}
    assert found(backend, "昆明 工程") == set()
    # Full-width spaces are white space: normalised alike at index and query time.
    assert found(backend, "　环境　科技　") == {ENV}


def test_declared_item_titles_match_at_lower_weight(backend, directory, items):
    title = items["two"].title  # declared by 北方工程咨询 only
    assert found(backend, title) == {BEIFANG}


def test_latin_words_match_whole_words_including_stop_words(backend, agencies):
    name = "The Institute of Survey云南分院"
    make_agency(name)
    build_index(backend, "agency")
    # Elasticsearch matches Latin letters by whole words (the database backend by
    # substring), so only whole words are compared; English stop words are words too.
    for q in ("the", "OF", "institute of survey", "Survey 云南", "the 分院"):
        assert found(backend, q) == {name}, q
    assert found(backend, "the institute of mapping") == set()


# --- 2. USCC --------------------------------------------------------------------------------


def test_uscc_matches_whole_code_only(backend, directory):
    uscc = directory.alading.organisation.uscc
    assert found(backend, uscc) == {ALADING}
    assert found(backend, uscc.lower()) == {ALADING}
    assert found(backend, f" {uscc} ") == {ALADING}
    assert found(backend, uscc[:10]) == set()
    assert found(backend, uscc[2:]) == set()


# --- 3. ranking -----------------------------------------------------------------------------


def test_exact_name_ranks_first_then_prefix(backend, agencies, items):
    contains = make_agency("昆明环境监测有限公司", items=[items["eia"]])
    exact = make_agency("环境监测有限公司", items=[items["eia"]])
    prefix = make_agency("环境监测有限公司昆明分公司", items=[items["eia"]])
    build_index(backend, "agency")
    result = find(backend, {"q": "环境监测有限公司"})
    assert result.request.sort == "relevance"  # the default with a text
    # The equal name, then the one starting with it, then those merely containing it (in an
    # order that is the backend's own: scores).
    assert ids(result)[:2] == [pk(exact), pk(prefix)]
    assert set(ids(result)[2:]) == {pk(contains), pk(agencies.lapsed)}
    assert ids(find(backend, {"q": "环境监测有限公司昆明"})) == [pk(prefix)]
    # Sorting by name instead ignores the ranking.
    assert names(find(backend, {"q": "环境监测有限公司", "sort": "name"}))[2:] == [
        LAPSED,  # kun ming guo
        "昆明环境监测有限公司",  # kun ming huan
    ]


def test_a_name_sorts_before_its_extensions(backend, items):
    longer = make_agency("环境监测有限公司昆明分公司", items=[items["eia"]])
    shorter = make_agency("环境监测有限公司", items=[items["eia"]])
    build_index(backend, "agency")
    result = find(backend, {"q": "环境监测有限公司", "sort": "name"})
    assert ids(result)[:2] == [pk(shorter), pk(longer)]


# --- 4. former names ------------------------------------------------------------------------


def test_former_name_still_finds_the_agency(backend, agencies, items):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from agencies.changes import change_request_approve, change_request_submit
    from tests.agencies.factories import kunming, make_regulator_user

    agency = make_agency("滇池旧名咨询有限公司", items=[items["eia"]], certs=[("eia-unit", "")])
    change = change_request_submit(
        actor=agency.admin_user,
        agency=agency,
        kind="name",
        payload={"name": "滇池新名咨询有限公司"},
        attachment=SimpleUploadedFile("licence.pdf", b"%PDF-1.4\n%test\n"),
    )
    reviewer = make_regulator_user(region=kunming(), industries=["ecology"])
    change_request_approve(actor=reviewer, change_request=change)
    build_index(backend, "agency")
    assert found(backend, "旧名") == {"滇池新名咨询有限公司"}
    assert found(backend, "新名") == {"滇池新名咨询有限公司"}
    assert found(backend, "滇池旧名咨询有限公司") == {"滇池新名咨询有限公司"}
    assert found(backend, "滇池") == {"滇池新名咨询有限公司"}
    # The result card shows the current name.
    hit = find(backend, {"q": "旧名"}).hits[0]
    assert hit.id == pk(agency) and hit.data["name"] == "滇池新名咨询有限公司"


# --- 5. facets ------------------------------------------------------------------------------


def test_facets_without_filters(backend, directory, items):
    result = find(backend)
    assert result.total == 5
    assert facet(result, "region") == {"530000": 4, "510000": 1}
    labels = {b.value: b.label for f in result.facets if f.param == "region" for b in f.buckets}
    assert labels == {"530000": "云南省", "510000": "四川省"}
    assert facet(result, "industry") == {"ecology": 2, "natural-resources": 2, "development": 1}
    assert facet(result, "item") == {
        items["eia"].code: 2,
        items["survey_b"].code: 2,
        items["free"].code: 1,
        items["survey_a"].code: 1,
        items["two"].code: 1,
    }
    assert facet(result, "qualification") == {
        "surveying": 2,
        "eia-unit": 1,
        "engineering-consulting": 1,
        "safety-assessment": 1,
    }
    assert facet(result, "level") is None  # only with a qualification
    assert facet(result, "credit") == {"A": 1, "B": 1, "C": 1, "D": 1, "none": 1}
    assert facet(result, "eligible") == {"yes": 4, "no": 1}
    # Buckets come by count, then value.
    industry = next(f for f in result.facets if f.param == "industry")
    assert [b.value for b in industry.buckets] == ["ecology", "natural-resources", "development"]


def test_region_facet_is_hierarchical(backend, directory):
    province = find(backend, {"region": "530000"})
    assert province.total == 4
    assert facet(province, "region") == {"530100": 3, "530300": 1}
    prefecture = find(backend, {"region": "530100"})
    assert set(names(prefecture)) == {ENV, KMSURVEY, LAPSED}
    # 昆明测绘院 is registered at the prefecture itself: in it, under no county.
    assert facet(prefecture, "region") == {"530102": 1, "530103": 1}
    labels = {b.value: b.label for f in prefecture.facets if f.param == "region" for b in f.buckets}
    assert labels == {"530102": "五华区", "530103": "盘龙区"}
    county = find(backend, {"region": "530102"})
    assert names(county) == [ENV]
    assert facet(county, "region") is None  # no level below a county
    assert names(find(backend, {"region": "510000"})) == [BEIFANG]
    assert find(backend, {"region": "530300"}).total == 1


def test_level_means_that_level_or_higher(backend, directory):
    surveying = find(backend, {"qualification": "surveying"})
    assert set(names(surveying)) == {ALADING, KMSURVEY}
    assert facet(surveying, "level") == {"乙级": 2, "甲级": 1}
    level = next(f for f in surveying.facets if f.param == "level")
    assert {b.value: b.label for b in level.buckets} == {
        "乙级": "乙级 or higher",
        "甲级": "甲级 or higher",
    }
    b = find(backend, {"qualification": "surveying", "level": "乙级"})
    assert set(names(b)) == {ALADING, KMSURVEY}  # the 甲级 holder too
    a = find(backend, {"qualification": "surveying", "level": "甲级"})
    assert names(a) == [ALADING]
    selected = next(f for f in a.facets if f.param == "level")
    assert [(b.value, b.selected) for b in selected.buckets] == [("乙级", False), ("甲级", True)]
    # Other types' levels are not offered.
    consulting = find(backend, {"qualification": "engineering-consulting"})
    assert facet(consulting, "level") == {"乙级": 1}


def test_counts_follow_the_filters(backend, directory):
    result = find(backend, {"industry": "natural-resources"})
    assert set(names(result)) == {ALADING, KMSURVEY}
    # A facet is counted without its own filter (disjunctive): the other industries say what
    # choosing them instead would give; every other facet counts within the filter.
    assert facet(result, "industry") == {"natural-resources": 2, "ecology": 2, "development": 1}
    assert facet(result, "region") == {"530000": 2}
    assert facet(result, "credit") == {"B": 1, "C": 1}
    assert facet(result, "eligible") == {"yes": 2}
    result = find(backend, {"credit": "none"})
    assert names(result) == [BEIFANG]
    assert facet(result, "qualification") == {"engineering-consulting": 1, "safety-assessment": 1}
    result = find(backend, {"eligible": "no"})
    assert names(result) == [LAPSED]
    assert facet(result, "qualification") == {}
    result = find(backend, {"region": "530000", "eligible": "yes"})
    assert facet(result, "region") == {"530100": 2, "530300": 1}
    assert facet(result, "industry") == {"ecology": 1, "natural-resources": 2}


# --- 6. text and filters --------------------------------------------------------------------


def test_text_with_two_filters(backend, directory, items):
    assert found(backend, "有限公司", region="530100", industry="natural-resources") == {KMSURVEY}
    assert found(backend, "有限公司", region="530000", eligible="yes") == {
        ENV,
        ALADING,
        KMSURVEY,
    }
    assert found(backend, "环境", region="530100", eligible="no") == {LAPSED}
    assert found(backend, "环境", region="530300", eligible="yes") == set()
    result = find(backend, {"q": "测绘", "item": items["survey_b"].code, "credit": "B"})
    assert names(result) == [ALADING]
    # Credit counted within the text and the item, not within its own choice: C is 昆明测绘院.
    assert facet(result, "credit") == {"B": 1, "C": 1}
    assert facet(result, "item")[items["survey_b"].code] == 1
    assert facet(result, "region") == {"530000": 1}


# --- 7. sorting -----------------------------------------------------------------------------


def test_sort_by_name_in_pinyin_order(backend, directory):
    # 阿 a, 北 bei, 昆 kun (明测 ming ce before 明过 ming guo), 云 yun.
    expected = [ALADING, BEIFANG, KMSURVEY, LAPSED, ENV]
    assert names(find(backend)) == expected  # the default without a text
    assert names(find(backend, {"sort": "name"})) == expected
    assert names(find(backend, {"q": "有限公司", "sort": "name"})) == expected


def test_sort_by_credit_unrated_last(backend, directory):
    result = find(backend, {"sort": "credit"})
    assert names(result) == [ENV, ALADING, KMSURVEY, LAPSED, BEIFANG]
    assert [h.data["credit_score"] for h in result.hits] == [95.0, 80.0, 60.0, 40.0, None]
    assert [h.data["credit_grade"] for h in result.hits] == ["A", "B", "C", "D", ""]
    assert names(find(backend, {"q": "测绘", "sort": "credit"})) == [ALADING, KMSURVEY]


def test_relevance_without_text_sorts_by_name(backend, directory):
    result = find(backend, {"sort": "relevance"})
    assert result.request.sort == "name"
    assert names(result)[0] == ALADING


# --- 8. pagination --------------------------------------------------------------------------


def test_pages(backend, directory, settings):
    first = find(backend, {"page_size": "10"})
    assert first.total == 5 and first.pages == 1 and len(first.hits) == 5
    # The same order, cut into pages; the page past the end is empty, not an error.
    everything = names(find(backend, {"sort": "credit"}))
    pages = [names(find(backend, {"sort": "credit", "page": str(n)})) for n in (1, 2)]
    assert pages == [everything, []]
    settings.SEARCH = {**settings.SEARCH, "MAX_RESULT_WINDOW": 4}
    # page × page size may not exceed the window.
    with pytest.raises(BadSearch) as exc:
        find(backend, {"page_size": "10"})
    assert exc.value.param == "page"
    assert "first 4 results" in exc.value.message


def test_second_page_content(backend, agencies, items):
    made = [make_agency(f"分页测试{n:02d}有限公司", items=[items["free"]]) for n in range(12)]
    build_index(backend, "agency")
    query = {"q": "分页测试", "sort": "name", "page_size": "10"}
    first = find(backend, {**query, "page": "1"})
    second = find(backend, {**query, "page": "2"})
    assert first.total == second.total == 12 and second.pages == 2
    assert ids(first) == [pk(a) for a in made[:10]]
    assert ids(second) == [pk(a) for a in made[10:]]
    assert find(backend, {**query, "page": "3"}).hits == []


def test_deep_pages_and_page_sizes_are_bounded(backend, directory, settings):
    kind = get_kind("agency")
    settings.SEARCH = {**settings.SEARCH, "MAX_RESULT_WINDOW": 1000}
    assert parse(kind, {"page": "50", "page_size": "20"}).offset == 980
    with pytest.raises(BadSearch) as exc:
        find(backend, {"page": "51", "page_size": "20"})
    assert exc.value.param == "page" and "first 1000 results" in exc.value.message
    with pytest.raises(BadSearch) as exc:
        find(backend, {"page": "21", "page_size": "50"})
    assert exc.value.param == "page"
    with pytest.raises(BadSearch) as exc:
        find(backend, {"page_size": "30"})
    assert exc.value.param == "page_size" and "10, 20, 50" in exc.value.message
    assert len(find(backend, {"page_size": "50", "page": "20"}).hits) == 0


# --- 9. special characters ------------------------------------------------------------------


BOTH = {ENV, LAPSED}
# Query -> what it finds: punctuation and query-language syntax only separate words.
INERT = {
    '"环境"': BOTH,
    "(环境)": BOTH,
    "[环境]": BOTH,
    "{环境}": BOTH,
    "环境*": BOTH,
    "环*境": BOTH,  # two words, 环 and 境
    "环境\\": BOTH,
    "\\\\环境": BOTH,
    "环境?": BOTH,
    "环境~": BOTH,
    "环境^": BOTH,
    "环境%_": BOTH,
    "（环境）": BOTH,
    "【环境】": BOTH,
    "＂环境＂": BOTH,
    "-环境": BOTH,
    '环境"科技': {ENV},
    "环境/科技": {ENV},
    "环境，科技。": {ENV},
    "环境\t\n科技": {ENV},
    "环境 OR 测绘": set(),
    "环境 AND NOT 测绘": set(),
    "title:环境": set(),
    "环境 && 测绘 || x": set(),
    "<script>环境</script>": set(),
    "环境'; DROP TABLE x; --": set(),
}


def test_special_characters_are_inert(backend, directory):
    for q, expected in INERT.items():
        assert found(backend, q) == expected, q


BAD_TEXTS = [
    "",
    "   ",
    "环" * 101,
    "环境😀",
    "环境\u200b",
    "环境\x00",
    "*",
    '"()"',
    "%_",
    "【】",
]


def test_documented_bad_texts(backend):
    for q in BAD_TEXTS:
        with pytest.raises(BadSearch) as exc:
            find(backend, {"q": q})
        assert exc.value.param == "q" and exc.value.message, q


# --- 10. the catalog ------------------------------------------------------------------------

FEE_ITEM = "收费标准测试事项"


@pytest.fixture
def catalog_index(catalog, backend):
    """The five items of the module's catalog, plus one under 发展和改革 whose fee is set by
    a fee standard, with a code in the demo catalog's format."""
    from cms.fees.demo import load_fee_rules
    from tests.cms.factories import make_item

    rules = load_fee_rules()
    make_item(
        catalog["industry_pages"]["development"],
        code="YN-ZJ-9001",
        title=FEE_ITEM,
        responsible_department="自然资源部门",
        fee_rule=rules["survey-fixed"],
    )
    build_index(backend, "service_item")
    return catalog["items"]


def test_catalog_by_title_fragment_and_code(backend, catalog_index):
    items = catalog_index
    eia = items["eia"]
    fragment = eia.title[-5:]  # e.g. 服务事项12: the number makes it this item's own
    assert names(find(backend, {"q": fragment}, "service_item")) == [eia.title]
    assert found(backend, "中介服务事项", "service_item") == {i.title for i in items.values()}
    assert found(backend, "收费标准", "service_item") == {FEE_ITEM}
    # The exact code, in any case; a code is one whole keyword.
    for code in (eia.code, eia.code.lower(), "YN-ZJ-9001", "yn-zj-9001", " YN-ZJ-9001 "):
        expected = FEE_ITEM if "9001" in code else eia.title
        assert names(find(backend, {"q": code}, "service_item")) == [expected], code
    assert found(backend, "ZJ-9001", "service_item") == set()  # not a part of a code
    assert found(backend, "YN-ZJ", "service_item") == set()
    # Text of the approval matters and laws matches too.
    assert len(find(backend, {"q": "环境影响评价法"}, "service_item").hits) == 6


def test_catalog_facets(backend, catalog_index):
    result = find(backend, {}, "service_item")
    assert result.total == 6
    assert facet(result, "industry") == {"ecology": 2, "natural-resources": 2, "development": 2}
    assert facet(result, "fee") == {"market": 5, "rule": 1}
    assert facet(result, "department") == {"生态环境部门": 5, "自然资源部门": 1}
    fee = next(f for f in result.facets if f.param == "fee")
    assert {b.value: b.label for b in fee.buckets} == {
        "market": "market-regulated",
        "rule": "set by a fee standard",
    }
    eco = find(backend, {"industry": "ecology"}, "service_item")
    assert {h.data["code"] for h in eco.hits} == {
        catalog_index["eia"].code,
        catalog_index["free"].code,
    }
    assert facet(eco, "fee") == {"market": 2}
    ruled = find(backend, {"fee": "rule"}, "service_item")
    assert names(ruled) == [FEE_ITEM]
    assert ruled.hits[0].data["fee_rule"]
    assert facet(ruled, "industry") == {"development": 1}
    development = find(
        backend, {"q": "事项", "industry": "development", "fee": "market"}, "service_item"
    )
    assert names(development) == [catalog_index["two"].title]
