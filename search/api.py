"""The one entry point for searching: ``search(kind_name, params)``.

The configured backend answers (``SEARCH["BACKEND"]``). When it is Elasticsearch and
Elasticsearch cannot answer, the database backend answers instead with a visible notice
(``SEARCH["FALLBACK"] = "database"``, the default), or ``SearchUnavailable`` is raised and the
views answer 503 (``"none"``). After a failure Elasticsearch is not asked again for
``SEARCH["RETRY_AFTER"]`` seconds (a circuit breaker, kept in the shared cache so every
process backs off), so an outage costs one timeout, not one per request."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext as _

from search.backends.base import Backend, SearchUnavailable
from search.kinds import get_kind
from search.query import SearchResult, parse

logger = logging.getLogger(__name__)

BREAKER_KEY = "search:elasticsearch:down"


def conf(key: str, default=None):
    return settings.SEARCH.get(key, default)


_clients: dict[tuple, Backend] = {}


def primary_backend() -> Backend:
    name = conf("BACKEND", "database")
    if name == "elasticsearch":
        from search.backends.elastic import ElasticsearchBackend

        # One backend (one client, one connection pool) per configuration and process:
        # a new client per search would open a new connection each time.
        key = (conf("ELASTICSEARCH_URL"), conf("INDEX_PREFIX"), conf("TIMEOUT"))
        if key not in _clients:
            if len(_clients) > 8:  # only tests switch configurations
                _clients.clear()
            _clients[key] = ElasticsearchBackend()
        return _clients[key]
    if name == "database":
        from search.backends.database import DatabaseBackend

        return DatabaseBackend()
    raise ValueError(f"SEARCH['BACKEND'] must be 'database' or 'elasticsearch', not {name!r}")


def database_backend() -> Backend:
    from search.backends.database import DatabaseBackend

    return DatabaseBackend()


def index_backends() -> list[Backend]:
    """Every backend whose index must be kept up to date: the primary one, and the database
    one too when it is Elasticsearch's fallback."""
    primary = primary_backend()
    backends = [primary]
    if primary.name != "database" and conf("FALLBACK", "database") == "database":
        backends.append(database_backend())
    return backends


def backend_named(name: str) -> Backend:
    for backend in index_backends():
        if backend.name == name:
            return backend
    if name == "database":
        return database_backend()
    raise LookupError(f"search backend {name!r} is not configured")


def unavailable_message() -> str:
    """What people are told when no backend can answer (pages, API, catalog)."""
    return _("Search is temporarily unavailable. Please try again shortly.")


def search(kind_name: str, params) -> SearchResult:
    """Parses ``params`` (``BadSearch`` for bad input) and answers. Raises
    ``SearchUnavailable`` only when no backend can answer."""
    request = parse(get_kind(kind_name), params)
    primary = primary_backend()
    if primary.name == "database":
        return primary.search(request)
    fallback = conf("FALLBACK", "database") == "database"
    if not cache.get(BREAKER_KEY):
        try:
            return primary.search(request)
        except SearchUnavailable as exc:
            logger.warning(
                "search: %s unavailable, %s: %s",
                primary.name,
                "answering from the database" if fallback else "answering 503",
                exc,
            )
            cache.set(BREAKER_KEY, str(exc)[:500], timeout=int(conf("RETRY_AFTER", 15)))
    if not fallback:
        raise SearchUnavailable(unavailable_message())
    result = database_backend().search(request)
    result.notice = _(
        "The search service is temporarily unavailable: these results come from the database "
        "and may be ranked differently."
    )
    return result
