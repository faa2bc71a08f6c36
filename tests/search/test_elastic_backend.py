"""Elasticsearch specifics (against the noida-db emulator, over real HTTP): what a search costs
the database, the fallback to the database backend when Elasticsearch cannot answer, and the
circuit breaker that keeps an outage from costing a timeout per request."""

from __future__ import annotations

import time

import pytest
from django.core.cache import cache

from search import api
from search.backends.base import SearchUnavailable
from search.backends.elastic import ElasticsearchBackend
from search.kinds import get_kind
from search.query import BadSearch, parse
from tests.search.builders import build_index, make_agency, names
from tests.search.conftest import configure_search

pytestmark = pytest.mark.django_db

AGENCY = get_kind("agency")
NAME = "故障切换测绘有限公司"


def test_search_queries_the_database_only_for_labels(es_backend, items, django_assert_num_queries):
    for n in range(3):
        make_agency(
            f"标签测试{n}咨询有限公司",
            items=[items["eia"], items["survey_b"]],
            certs=[("eia-unit", ""), ("surveying", "甲级")],
        )
    build_index(es_backend, "agency")
    # The labels of the region, industry, item and qualification buckets (one query each;
    # credit, eligibility and level labels are constants); hits and counts come from
    # Elasticsearch.
    for params in ({}, {"q": "标签", "page_size": "50"}, {"qualification": "surveying"}):
        request = parse(AGENCY, params)
        with django_assert_num_queries(4):
            result = es_backend.search(request)
        assert result.backend == "elasticsearch" and result.total == 3


@pytest.fixture
def both_indexed(es_backend, items):
    """An agency in both indexes: Elasticsearch's and the database fallback's."""
    make_agency(NAME, items=[items["survey_b"]], certs=[("surveying", "乙级")])
    build_index(es_backend, "agency")
    build_index(api.database_backend(), "agency")
    return es_backend


def test_down_elasticsearch_answers_from_the_database_with_a_notice(
    both_indexed, settings, dead_url, elasticsearch_url
):
    assert api.search("agency", {"q": "故障切换"}).backend == "elasticsearch"
    settings.SEARCH = {**settings.SEARCH, "ELASTICSEARCH_URL": dead_url, "RETRY_AFTER": 60}
    result = api.search("agency", {"q": "故障切换"})
    assert result.backend == "database"
    assert "temporarily unavailable" in result.notice
    assert result.as_dict()["notice"] == result.notice
    assert names(result) == [NAME]
    assert "Elasticsearch" in cache.get(api.BREAKER_KEY)

    # The breaker is open: Elasticsearch is not asked again, even once it is back…
    settings.SEARCH = {**settings.SEARCH, "ELASTICSEARCH_URL": elasticsearch_url}
    again = api.search("agency", {"q": "故障切换"})
    assert again.backend == "database" and again.notice
    # … until the breaker closes (RETRY_AFTER seconds; here by hand).
    cache.delete(api.BREAKER_KEY)
    back = api.search("agency", {"q": "故障切换"})
    assert back.backend == "elasticsearch" and back.notice == ""
    assert names(back) == [NAME]


def test_no_fallback_raises_search_unavailable(both_indexed, settings, dead_url):
    settings.SEARCH = {**settings.SEARCH, "ELASTICSEARCH_URL": dead_url, "FALLBACK": "none"}
    with pytest.raises(SearchUnavailable) as exc:
        api.search("agency", {"q": "故障切换"})
    assert "temporarily unavailable" in str(exc.value)
    # While the breaker is open, the refusal is immediate.
    started = time.monotonic()
    with pytest.raises(SearchUnavailable):
        api.search("agency", {})
    assert time.monotonic() - started < 0.5
    # Bad input is still bad input, not an outage.
    with pytest.raises(BadSearch):
        api.search("agency", {"q": "😀"})
    # Nothing else to keep in step but Elasticsearch itself.
    assert [b.name for b in api.index_backends()] == ["elasticsearch"]


def test_an_index_not_built_yet_is_unavailable(settings, elasticsearch_url):
    configure_search(settings, backend="elasticsearch", url=elasticsearch_url)
    backend = api.primary_backend()
    with pytest.raises(SearchUnavailable):
        backend.search(parse(AGENCY, {}))
    assert backend.live_index(AGENCY) is None
    backend.delete(AGENCY, ["1"])  # nothing to delete from: no error, no index
    assert backend.versions(AGENCY) == []
    # The database answers meanwhile.
    assert api.search("agency", {}).backend == "database"
    backend.ping()  # the server itself is up
    try:
        name = backend.ensure_index(AGENCY)
        assert backend.ensure_index(AGENCY) == name == backend.live_index(AGENCY)
        assert backend.search(parse(AGENCY, {})).total == 0
    finally:
        backend.drop(AGENCY)
    assert backend.versions(AGENCY) == []


def test_unreachable_server(dead_url, settings):
    configure_search(settings, backend="elasticsearch", url=dead_url)
    backend = ElasticsearchBackend(timeout=1)
    started = time.monotonic()
    with pytest.raises(SearchUnavailable):
        backend.ping()
    with pytest.raises(SearchUnavailable):
        backend.search(parse(AGENCY, {}))
    with pytest.raises(SearchUnavailable):
        backend.fingerprints(AGENCY)
    assert time.monotonic() - started < 5  # refused at once: no retries
