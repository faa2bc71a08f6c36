"""Parsing search parameters (search.query.parse): whitelisted parameters, checked values,
bounded pages; no backend involved."""

from __future__ import annotations

import pytest
from django.http import QueryDict

from search.kinds import get_kind
from search.query import MAX_QUERY_LENGTH, BadSearch, SearchResult, parse

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def reference(module_db):
    """Regions (Yunnan), industries and qualification types: what facet values are checked
    against."""
    from marketplace.reference import ensure_industries, ensure_qualification_types
    from tests.agencies.factories import yunnan_regions

    yunnan_regions()
    ensure_industries()
    return ensure_qualification_types()


AGENCY = "agency"


def bad(params, kind: str = AGENCY) -> BadSearch:
    with pytest.raises(BadSearch) as exc:
        parse(get_kind(kind), params)
    assert exc.value.message == str(exc.value)
    return exc.value


def test_defaults(reference):
    request = parse(get_kind(AGENCY), {})
    assert (request.text, request.terms, request.filters) == ("", (), {})
    assert (request.sort, request.page, request.page_size, request.offset) == ("name", 1, 20, 0)
    with_text = parse(get_kind(AGENCY), {"q": "环境"})
    assert with_text.sort == "relevance"
    # Relevance without a text means nothing: by name.
    assert parse(get_kind(AGENCY), {"sort": "relevance"}).sort == "name"
    assert parse(get_kind(AGENCY), {"q": "x", "sort": "credit"}).sort == "credit"


def test_text_is_normalised_and_split_into_words(reference):
    request = parse(get_kind(AGENCY), {"q": "  ＡＢＣ　（环境）科技  abc 环境 "})
    assert request.text == "abc (环境)科技 abc 环境"
    # Runs of ideographs or of other letters and digits; punctuation separates; repeated
    # words count once.
    assert request.terms == ("abc", "环境", "科技")
    assert parse(get_kind(AGENCY), {"q": "yn-zj-0001"}).terms == ("yn", "zj", "0001")
    assert parse(get_kind(AGENCY), {"q": "环境_科技"}).terms == ("环境", "科技")
    assert parse(get_kind(AGENCY), {"q": "云南ABC环境123"}).terms == ("云南", "abc", "环境", "123")


def test_query_dict_and_dict_of_lists(reference):
    request = parse(get_kind(AGENCY), QueryDict("q=%E7%8E%AF%E5%A2%83&region=530100&page=2"))
    assert request.text == "环境" and request.page == 2
    assert request.filters == {"region": ("region", "530100")}
    assert request.raw_filters == {"region": "530100"}
    request = parse(get_kind(AGENCY), {"q": ["测绘"], "credit": ["A"]})
    assert request.text == "测绘" and request.filters == {"credit": ("credit", "A")}


def test_unknown_parameter_is_named(reference):
    error = bad({"q": "x", "city": "昆明"})
    assert error.param == "city"
    assert "Unknown search parameter: city" in error.message
    assert "region" in error.message and "page_size" in error.message  # what is allowed
    error = bad({"zz": "1", "aa": "2"})
    assert error.param == "aa" and "aa, zz" in error.message
    # A facet of another kind is unknown here.
    assert bad({"department": "生态环境部门"}).param == "department"
    assert bad({"credit": "A"}, "service_item").param == "credit"


def test_repeated_parameter(reference):
    error = bad(QueryDict("q=a&q=b"))
    assert error.param == "q" and "more than once" in error.message
    assert bad(QueryDict("region=530000&region=530100")).param == "region"
    assert bad({"page": ["1", "2"]}).param == "page"


@pytest.mark.parametrize(
    "params, param, words",
    [
        ({"region": "999999"}, "region", "Unknown region code"),
        ({"region": "5301"}, "region", "Unknown region code"),
        ({"region": "云南"}, "region", "Unknown region code"),
        ({"region": "５３０１００"}, "region", "Unknown region code"),
        ({"industry": "x"}, "industry", "Unknown industry “x”"),
        ({"item": "NO-SUCH-ITEM"}, "item", "Unknown service item"),
        ({"qualification": "pilot"}, "qualification", "Unknown qualification"),
        ({"credit": "E"}, "credit", "Unknown credit grade “E”"),
        ({"credit": "a"}, "credit", "Unknown credit grade"),
        ({"eligible": "maybe"}, "eligible", "“yes” or “no”"),
        ({"level": "甲级"}, "level", "can only be used together with “qualification”"),
        ({"qualification": "surveying", "level": "丙级"}, "level", "Unknown level “丙级”"),
        ({"qualification": "eia-unit", "level": "甲级"}, "level", "Unknown level"),
        ({"industry": "x" * 101}, "industry", "too long"),
    ],
)
def test_unknown_facet_values(reference, params, param, words):
    error = bad(params)
    assert error.param == param
    assert words in error.message


def test_known_facet_values_become_filters(reference):
    request = parse(
        get_kind(AGENCY),
        {"region": " 530100 ", "qualification": "surveying", "level": "乙级", "credit": "none"},
    )
    assert request.filters == {
        "region": ("region", "530100"),
        "qualification": ("qualification", "surveying"),
        "level": ("qualification_level", "surveying:乙级"),
        "credit": ("credit", "none"),
    }
    # Blank values are no filter at all.
    assert parse(get_kind(AGENCY), {"region": "", "credit": "  "}).filters == {}


def test_catalog_facet_values(reference):
    assert bad({"fee": "free"}, "service_item").param == "fee"
    assert bad({"department": "无此部门"}, "service_item").param == "department"
    assert bad({"industry": "x"}, "service_item").param == "industry"
    request = parse(get_kind("service_item"), {"fee": "rule", "industry": "ecology"})
    assert request.filters == {"fee": ("fee", "rule"), "industry": ("industry", "ecology")}
    assert bad({"sort": "credit"}, "service_item").param == "sort"


@pytest.mark.parametrize("value", ["0", "-1", "abc", "1.5", "１", "1e3", "9999999", "2 3"])
def test_malformed_page(reference, value):
    error = bad({"page": value})
    assert error.param == "page" and "whole number" in error.message


@pytest.mark.parametrize("value", ["abc", "0", "-10", "20.0"])
def test_malformed_page_size(reference, value):
    error = bad({"page_size": value})
    assert error.param == "page_size" and "whole number" in error.message


@pytest.mark.parametrize("value", ["30", "100", "1", "1000"])
def test_page_size_outside_the_whitelist(reference, value):
    error = bad({"page_size": value})
    assert error.param == "page_size" and "one of 10, 20, 50" in error.message


def test_page_sizes_allowed(reference):
    for size in (10, 20, 50):
        assert parse(get_kind(AGENCY), {"page_size": str(size)}).page_size == size


@pytest.mark.parametrize("value", ["price", "NAME", "name desc", "-credit", "_score"])
def test_unknown_sort(reference, value):
    error = bad({"sort": value})
    assert error.param == "sort"
    assert "Unknown sort" in error.message and "relevance, credit, name" in error.message


def test_the_result_window_bounds_pages(reference, settings):
    settings.SEARCH = {**settings.SEARCH, "MAX_RESULT_WINDOW": 1000}
    assert parse(get_kind(AGENCY), {"page": "50"}).offset == 980
    assert parse(get_kind(AGENCY), {"page": "20", "page_size": "50"}).offset == 950
    error = bad({"page": "51"})
    assert error.param == "page" and "first 1000 results" in error.message
    assert bad({"page": "21", "page_size": "50"}).param == "page"
    # Pages are counted within the window too.
    request = parse(get_kind(AGENCY), {})
    assert SearchResult(request, total=5000, hits=[], facets=[], backend="x").pages == 50
    assert SearchResult(request, total=21, hits=[], facets=[], backend="x").pages == 2
    assert SearchResult(request, total=0, hits=[], facets=[], backend="x").pages == 1


@pytest.mark.parametrize(
    "q, words",
    [
        ("", "Enter something"),
        (" \u3000 ", "Enter something"),
        ("环" * (MAX_QUERY_LENGTH + 1), "too long: at most 100"),
        ("环境😀", "emoji or control"),
        ("🇨🇳", "emoji or control"),
        ("环境\u200b科技", "emoji or control"),
        ("环境\u202e", "emoji or control"),
        ("环境\x00", "emoji or control"),
        ("环境\x1b[31m", "emoji or control"),
        ("\ue000", "emoji or control"),
        ("*", "only punctuation"),
        ("？！。，", "only punctuation"),
        ('"()" \\ []', "only punctuation"),
        ("%_", "only punctuation"),
        ("一 二 三 四 五 六 七 八 九", "Too many words"),
    ],
)
def test_bad_texts(reference, q, words):
    error = bad({"q": q})
    assert error.param == "q"
    assert words in error.message


def test_texts_at_the_limits(reference):
    assert len(parse(get_kind(AGENCY), {"q": "环" * MAX_QUERY_LENGTH}).text) == MAX_QUERY_LENGTH
    # Surrounding white space does not count.
    assert parse(get_kind(AGENCY), {"q": "  " + "环" * MAX_QUERY_LENGTH + "  "}).text
    assert len(parse(get_kind(AGENCY), {"q": "一 二 三 四 五 六 七 八"}).terms) == 8
    assert parse(get_kind(AGENCY), {"q": "一 一 一 一 一 一 一 一 一"}).terms == ("一",)
