"""The database backend's own properties: a fixed number of queries per search whatever the
page size and the number of documents, and an index that is rewritten, never accumulated."""

from __future__ import annotations

import pytest

from search.api import primary_backend
from search.documents import IndexDoc
from search.kinds import get_kind
from search.models import KEYWORD_FIELD, SearchDocument, SearchFacetValue
from search.query import parse
from tests.search.builders import build_index, make_agency
from tests.search.conftest import configure_search

pytestmark = pytest.mark.django_db

AGENCY = get_kind("agency")


@pytest.fixture
def db_backend(settings):
    configure_search(settings, backend="database")
    return primary_backend()


def make_agencies(items, start: int, stop: int) -> None:
    for n in range(start, stop):
        make_agency(
            f"计数测试{n:02d}咨询有限公司",
            region_code=("530102", "530302")[n % 2],
            items=[items["eia"], items["survey_b"]],
            certs=[("eia-unit", ""), ("surveying", "乙级")],
        )


def test_search_costs_a_fixed_number_of_queries(db_backend, items, django_assert_num_queries):
    """1 count + 1 page + 1 GROUP BY for every facet sharing the result's scope (region,
    industry, item, qualification, credit, eligible) + 4 label lookups (regions, industries,
    items, qualifications; credit and eligibility labels are constants) = 7; a text adds the
    exact-keyword lookup: 8. The same whatever the page size and the number of documents (the
    document filter is a subquery, not a list of ids)."""
    make_agencies(items, 0, 3)
    build_index(db_backend, "agency")
    cases = [
        ({}, 7),
        ({"q": "计数测试"}, 8),
        ({"q": "计数 咨询", "sort": "credit", "page_size": "50"}, 8),
    ]
    for params, queries in cases:
        request = parse(AGENCY, params)  # the parameters' own checks query too: not counted
        with django_assert_num_queries(queries):
            result = db_backend.search(request)
        assert result.total == 3 and len(result.hits) == 3

    make_agencies(items, 3, 14)
    build_index(db_backend, "agency")
    for params, hits in (({"page_size": "10"}, 10), ({"page_size": "50"}, 14)):
        request = parse(AGENCY, params)
        with django_assert_num_queries(7):
            result = db_backend.search(request)
        assert result.total == 14 and len(result.hits) == hits
    # The hierarchical region keeps its filter (counted with the rest); a chosen
    # qualification and a chosen level are each counted without their own filter, one
    # GROUP BY each: 7 + 2 = 9 (level labels are computed).
    request = parse(AGENCY, {"region": "530000", "qualification": "surveying", "level": "乙级"})
    with django_assert_num_queries(9):
        result = db_backend.search(request)
    assert result.total == 14


def test_upsert_rewrites_a_document_and_its_facet_values(db_backend):
    def doc(credit: str, name: str) -> IndexDoc:
        return IndexDoc(
            id="42",
            title=name,
            keywords=["ab12cd"],
            facets={"credit": [credit], "region": ["530000", "530100"], "item": [""]},
            sort={"name": name, "credit": 1.5},
            data={"name": name},
        )

    db_backend.upsert(AGENCY, [doc("A", "甲公司")])
    db_backend.upsert(AGENCY, [doc("B", "乙公司")])
    row = SearchDocument.objects.get(kind="agency", object_id="42")
    assert (row.title, row.sort_number, row.data) == ("乙公司", 1.5, {"name": "乙公司"})
    assert row.fingerprint == doc("B", "乙公司").fingerprint()
    values = set(SearchFacetValue.objects.filter(document=row).values_list("field", "value"))
    assert values == {
        ("credit", "B"),
        ("region", "530000"),
        ("region", "530100"),
        (KEYWORD_FIELD, "AB12CD"),  # keywords are matched upper-cased
    }
    db_backend.delete(AGENCY, ["42", "43"])
    assert not SearchDocument.objects.filter(kind="agency").exists()
    assert not SearchFacetValue.objects.exists()


def test_rebuild_rewrites_only_what_changed(db_backend, items):
    make_agencies(items, 0, 3)
    first = db_backend.rebuild(AGENCY, batch_size=2)
    assert (first.documents, first.written, first.deleted) == (3, 3, 0)
    db_backend.upsert(AGENCY, [IndexDoc(id="99999999", title="幽灵")])
    again = db_backend.rebuild(AGENCY)
    assert (again.documents, again.written, again.deleted) == (3, 0, 1)
    assert SearchDocument.objects.filter(kind="agency").count() == 3
