"""Fixtures of the search tests.

``backend`` runs a test once per backend (the database one and Elasticsearch, i.e. the
noida-db emulator over real HTTP): the same assertions hold both to one contract. Each test
gets its own Elasticsearch index prefix, dropped at teardown."""

from __future__ import annotations

from uuid import uuid4

import pytest
from django.core.cache import cache

from search.api import BREAKER_KEY, primary_backend
from search.kinds import all_kinds
from tests.agencies.factories import make_catalog, yunnan_regions


def configure_search(settings, *, backend: str, url: str = "", **extra) -> dict:
    """Points settings.SEARCH at ``backend`` with a fresh index prefix; returns the dict."""
    conf = dict(settings.SEARCH)
    conf.update(
        BACKEND=backend,
        FALLBACK="database",
        INDEX_PREFIX=f"t{uuid4().hex[:8]}",
        TIMEOUT=5,
    )
    if url:
        conf["ELASTICSEARCH_URL"] = url
    conf.update(extra)
    settings.SEARCH = conf
    return conf


def drop_indexes(backend) -> None:
    if backend.name == "elasticsearch":
        for kind in all_kinds():
            backend.drop(kind)


@pytest.fixture(params=["database", "elasticsearch"])
def backend(request, settings):
    """The primary search backend, once as the database backend, once as Elasticsearch."""
    url = request.getfixturevalue("elasticsearch_url") if request.param == "elasticsearch" else ""
    configure_search(settings, backend=request.param, url=url)
    found = primary_backend()
    assert found.name == request.param
    yield found
    drop_indexes(found)


@pytest.fixture
def es_backend(settings, elasticsearch_url):
    """Elasticsearch as the primary backend (with the database backend as its fallback)."""
    configure_search(settings, backend="elasticsearch", url=elasticsearch_url)
    found = primary_backend()
    yield found
    drop_indexes(found)


@pytest.fixture
def dead_url():
    """A URL of 127.0.0.1 where nothing listens: Elasticsearch "down" (connection refused)."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture(autouse=True)
def _closed_breaker():
    """The circuit breaker (search.api) lives in the cache: never carry it across tests."""
    cache.delete(BREAKER_KEY)
    yield
    cache.delete(BREAKER_KEY)


@pytest.fixture(autouse=True)
def _english_messages():
    """Assertions match the English msgids."""
    from django.utils import translation

    with translation.override("en"):
        yield


@pytest.fixture(scope="module")
def catalog(module_db):
    """Five live items with qualification requirements (tests.agencies.factories.make_catalog),
    with Yunnan's and Sichuan's regions; made once per module (module_db)."""
    from tests.search.builders import sichuan_regions

    yunnan_regions()
    sichuan_regions()
    return make_catalog()


@pytest.fixture(scope="module")
def items(catalog):
    return catalog["items"]
