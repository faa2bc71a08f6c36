"""The Elasticsearch backend, through ``elasticsearch.dsl``.

Indexes: one per kind, versioned (``<prefix>-<kind>-<UTC timestamp>``) behind an alias
(``<prefix>-<kind>``) that reads and writes use. ``rebuild`` loads a new version and swaps the
alias in one ``_aliases`` call, so search serves the old version until the new one is complete.

Chinese text: the index analyzer is the standard tokenizer with ``cjk_width``, ``lowercase`` and
``cjk_bigram`` keeping unigrams, all shipped with Elasticsearch (no plugin); the search analyzer
is the built-in ``cjk`` (bigrams) without its English stop words. Each query word is a
``match_phrase``, i.e. its bigrams at consecutive positions: a substring match, as in the
database backend (环境 finds 云南某某环境科技有限公司; 境技 does not). A single character matches
the indexed unigrams. Latin letters and digits match whole words only (the database backend
matches them as substrings too). The whole text equal to a keyword (USCC, item code) matches.

Every query is built from ``Q``/``A`` objects with the user's text as a value; nothing is
spliced into a query string, so quotes, brackets, ``*`` and ``\\`` are inert.

Failures (refused connection, timeout, 5xx, no index yet) become ``SearchUnavailable``; search/
api.py then answers from the database backend with a notice, or with a 503."""

from __future__ import annotations

import datetime
import logging
import time
from collections.abc import Iterable

from django.conf import settings
from elasticsearch import ApiError, Elasticsearch, NotFoundError, TransportError, helpers
from elasticsearch.dsl import (
    A,
    Document,
    Float,
    Index,
    Keyword,
    Object,
    Q,
    Search,
    Text,
    analyzer,
    token_filter,
)

from search.backends.base import Backend, Progress, RebuildReport, SearchUnavailable, timed_batches
from search.documents import IndexDoc
from search.kinds.base import SearchKind
from search.query import Hit, SearchRequest, SearchResult

logger = logging.getLogger(__name__)

cjk_index = analyzer(
    "cjk_index",
    tokenizer="standard",
    filter=[
        "cjk_width",
        "lowercase",
        token_filter("cjk_bigram_unigrams", "cjk_bigram", output_unigrams=True),
    ],
)

# The built-in ``cjk`` analyzer without its English stop words: with them, a query word such
# as "the" or "of" analyses to nothing, its phrase matches nothing, and the whole search
# (every word must match) finds nothing, where the database backend finds the name.
cjk_search = analyzer(
    "cjk_search", tokenizer="standard", filter=["cjk_width", "lowercase", "cjk_bigram"]
)


def _text() -> Text:
    return Text(analyzer=cjk_index, search_analyzer=cjk_search)


class BaseDocument(Document):
    """The fields every kind shares; ``facets`` and ``sort`` get their sub-fields per kind."""

    oid = Keyword()
    title = _text()
    title_norm = Keyword()
    names = _text()
    text = _text()
    keywords = Keyword()
    data = Object(enabled=False)
    fingerprint = Keyword()


def document_class(kind: SearchKind) -> type[Document]:
    facet_fields = sorted(
        {f.field for f in kind.facets} | {lv for f in kind.facets for lv in f.levels}
    )
    sort_props = {"name": Keyword()}
    if kind.numeric_sort:
        sort_props[kind.numeric_sort] = Float()
    attrs = {
        "facets": Object(properties={name: Keyword() for name in facet_fields}),
        "sort": Object(properties=sort_props),
        "__module__": __name__,
    }
    return type(f"{kind.name.title().replace('_', '')}Document", (BaseDocument,), attrs)


def _source(doc: IndexDoc) -> dict:
    return {
        "oid": doc.id,
        "title": doc.title,
        "title_norm": doc.title_norm,
        "names": doc.names,
        "text": doc.text,
        "keywords": [k.upper() for k in doc.keywords if k],
        "facets": {f: [str(v) for v in vs if v not in (None, "")] for f, vs in doc.facets.items()},
        "sort": doc.sort,
        "data": doc.data,
        "fingerprint": doc.fingerprint(),
    }


class ElasticsearchBackend(Backend):
    name = "elasticsearch"

    def __init__(self, url: str | None = None, *, prefix: str | None = None, timeout=None):
        conf = settings.SEARCH
        self.url = url or conf["ELASTICSEARCH_URL"]
        self.prefix = prefix if prefix is not None else conf.get("INDEX_PREFIX", "marketplace")
        self.timeout = float(timeout if timeout is not None else conf.get("TIMEOUT", 3))
        self._client: Elasticsearch | None = None

    @property
    def client(self) -> Elasticsearch:
        if self._client is None:
            # No retries: a search waits at most one timeout before the fallback answers.
            self._client = Elasticsearch(
                self.url, request_timeout=self.timeout, max_retries=0, retry_on_timeout=False
            )
        return self._client

    def alias(self, kind: SearchKind) -> str:
        return f"{self.prefix}-{kind.name}"

    def _call(self, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except NotFoundError as exc:
            raise SearchUnavailable(f"no search index: {exc}") from exc
        except (TransportError, ApiError) as exc:
            # TransportError: refused, reset, timed out. ApiError: the server answered with an
            # error; a 4xx here is our bug or an emulator gap, logged loudly, never a 500.
            status = getattr(getattr(exc, "meta", None), "status", None)
            if status is not None and status < 500:
                logger.error("search: Elasticsearch refused a request (%s): %s", status, exc)
            raise SearchUnavailable(f"Elasticsearch: {type(exc).__name__}: {exc}") from exc

    def ping(self) -> None:
        self._call(self.client.info)

    # --- reading --------------------------------------------------------------------------

    @staticmethod
    def _filters(request: SearchRequest, *, exclude: str | None = None) -> list:
        return [
            Q("term", **{f"facets.{field}": value})
            for param, (field, value) in request.filters.items()
            if param != exclude
        ]

    def _query(self, request: SearchRequest):
        must = []
        for term in request.terms:
            must.append(
                Q(
                    "bool",
                    should=[
                        Q("match_phrase", title={"query": term, "boost": 5}),
                        Q("match_phrase", names={"query": term, "boost": 3}),
                        Q("match_phrase", text={"query": term}),
                        Q("term", keywords={"value": term.upper(), "boost": 50}),
                    ],
                    minimum_should_match=1,
                )
            )
        should = []
        if request.text:
            # The whole text equal to a keyword matches too (an item code such as YN-ZJ-0001
            # is split into words by its hyphens, and those words are in no text).
            must = [
                Q(
                    "bool",
                    should=[
                        Q("bool", must=must),
                        Q("term", keywords={"value": request.text.upper(), "boost": 50}),
                    ],
                    minimum_should_match=1,
                )
            ]
            should = [
                Q("term", title_norm={"value": request.text, "boost": 100}),
                Q("prefix", title_norm={"value": request.text, "boost": 20}),
            ]
        # The filters are a post_filter (search()): aggregations see the text match only and
        # apply the filters themselves, each facet without its own (disjunctive counts).
        return Q("bool", must=must or [Q("match_all")], should=should)

    def _sort(self, request: SearchRequest) -> list:
        sort = request.kind.sort(request.sort)
        tail = [{"sort.name": {"order": "asc"}}, {"oid": {"order": "asc"}}]
        if sort is not None and sort.field is None and request.text:
            return ["_score", *tail]
        if sort is not None and sort.field and sort.field == request.kind.numeric_sort:
            order = "desc" if sort.descending else "asc"
            return [{f"sort.{sort.field}": {"order": order, "missing": "_last"}}, *tail]
        return tail

    def search(self, request: SearchRequest) -> SearchResult:
        from search.backends.database import _facet_result

        kind = request.kind
        s = (
            Search(using=self.client, index=self.alias(kind))
            .query(self._query(request))
            .post_filter(Q("bool", filter=self._filters(request)))
            .sort(*self._sort(request))
            .source(["data"])
            .extra(track_total_hits=True, from_=request.offset, size=request.page_size)
        )
        counted = []
        for facet in kind.facets:
            field = kind.bucket_field(facet, request.raw_filters)
            if field is None:
                continue
            counted.append(facet)
            # As in the database backend: each facet counted without its own filter, except
            # the hierarchical one (its buckets are the chosen region's children).
            own = None if facet.levels else facet.param
            s.aggs.bucket(
                facet.param,
                "filter",
                filter=Q("bool", filter=self._filters(request, exclude=own)),
            ).bucket(
                "values",
                A(
                    "terms",
                    field=f"facets.{field}",
                    size=facet.size,
                    order=[{"_count": "desc"}, {"_key": "asc"}],
                ),
            )
        response = self._call(s.execute)
        hits = [Hit(id=h.meta.id, data=(h.to_dict().get("data") or {})) for h in response.hits]
        aggs = response.aggregations.to_dict() if "aggregations" in response else {}
        facets = [
            _facet_result(
                kind,
                facet,
                [
                    (str(b["key"]), b["doc_count"])
                    for b in aggs.get(facet.param, {}).get("values", {}).get("buckets", [])
                ],
                request,
            )
            for facet in counted
        ]
        return SearchResult(
            request=request,
            total=response.hits.total.value,
            hits=hits,
            facets=facets,
            backend=self.name,
        )

    def fingerprints(self, kind: SearchKind) -> dict[str, str]:
        def scan():
            return {
                hit["_id"]: (hit.get("_source") or {}).get("fingerprint", "")
                for hit in helpers.scan(
                    self.client,
                    index=self.alias(kind),
                    query={"query": {"match_all": {}}, "_source": ["fingerprint"]},
                    size=1000,
                )
            }

        return self._call(scan)

    # --- writing --------------------------------------------------------------------------

    def _index(self, kind: SearchKind, name: str) -> Index:
        index = Index(name, using=self.client)
        index.document(document_class(kind))
        index.settings(number_of_shards=1, number_of_replicas=settings.SEARCH.get("REPLICAS", 0))
        return index

    def versions(self, kind: SearchKind) -> list[str]:
        """The concrete indexes of ``kind`` (any version), oldest first."""
        prefix = self.alias(kind) + "-"
        rows = self._call(self.client.cat.indices, format="json")
        return sorted(r["index"] for r in rows if r["index"].startswith(prefix))

    def live_index(self, kind: SearchKind) -> str | None:
        alias = self.alias(kind)
        try:
            found = self.client.indices.get_alias(name=alias)
        except NotFoundError:
            return None
        except (TransportError, ApiError) as exc:
            raise SearchUnavailable(str(exc)) from exc
        names = sorted(found.body)
        return names[-1] if names else None

    def _new_version(self, kind: SearchKind) -> str:
        stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%d%H%M%S%f")
        return f"{self.alias(kind)}-{stamp}"

    def ensure_index(self, kind: SearchKind) -> str:
        """The live index, created (empty, behind the alias) when there is none yet."""
        live = self.live_index(kind)
        if live is not None:
            return live
        name = self._new_version(kind)
        self._call(self._index(kind, name).create)
        self._call(
            self.client.indices.update_aliases,
            actions=[{"add": {"index": name, "alias": self.alias(kind)}}],
        )
        return name

    def _bulk(self, actions: list[dict], *, refresh=False) -> None:
        if not actions:
            return
        _ok, errors = self._call(
            helpers.bulk, self.client, actions, refresh=refresh, raise_on_error=False
        )
        # A delete of a document that is not there is fine (idempotent delete).
        real = [e for e in errors if next(iter(e.values())).get("status") != 404]
        if real:
            raise SearchUnavailable(f"bulk indexing failed for {len(real)} documents: {real[:3]}")

    def upsert(self, kind: SearchKind, docs: list[IndexDoc], *, refresh: bool = True) -> None:
        if not docs:
            return
        self.ensure_index(kind)
        alias = self.alias(kind)
        # refresh=True: a change is searchable when the outbox message is marked delivered.
        self._bulk(
            [
                {"_op_type": "index", "_index": alias, "_id": d.id, "_source": _source(d)}
                for d in docs
            ],
            refresh=refresh,
        )

    def delete(self, kind: SearchKind, ids: Iterable[str], *, refresh: bool = True) -> None:
        ids = list(ids)
        if not ids or self.live_index(kind) is None:
            return
        alias = self.alias(kind)
        self._bulk(
            [{"_op_type": "delete", "_index": alias, "_id": i} for i in ids], refresh=refresh
        )

    def rebuild(
        self, kind: SearchKind, *, batch_size: int = 500, progress: Progress | None = None
    ) -> RebuildReport:
        """Loads a new version, then swaps the alias to it atomically and deletes the versions
        it replaced (``SEARCH["KEEP_INDEXES"]`` of them are kept for a rollback)."""
        alias = self.alias(kind)
        name = self._new_version(kind)
        report = RebuildReport(kind=kind.name, backend=self.name, index=name)
        index = self._index(kind, name)
        self._call(index.create)
        # No refreshes while loading; one at the end.
        self._call(
            self.client.indices.put_settings,
            index=name,
            settings={"index": {"refresh_interval": "-1"}},
        )
        for batch in timed_batches(kind, batch_size, report):
            started = time.perf_counter()
            self._bulk(
                [
                    {"_op_type": "index", "_index": name, "_id": d.id, "_source": _source(d)}
                    for d in batch
                ]
            )
            report.load_seconds += time.perf_counter() - started
            report.documents += len(batch)
            report.written += len(batch)
            if progress:
                progress(len(batch))
        started = time.perf_counter()
        self._call(
            self.client.indices.put_settings,
            index=name,
            settings={"index": {"refresh_interval": "1s"}},
        )
        self._call(self.client.indices.refresh, index=name)
        report.load_seconds += time.perf_counter() - started

        previous = [v for v in self.versions(kind) if v != name]
        current = []
        try:
            current = sorted(self.client.indices.get_alias(name=alias).body)
        except NotFoundError:
            pass
        except (TransportError, ApiError) as exc:
            raise SearchUnavailable(str(exc)) from exc
        actions = [{"remove": {"index": old, "alias": alias}} for old in current]
        actions.append({"add": {"index": name, "alias": alias}})
        self._call(self.client.indices.update_aliases, actions=actions)

        keep = int(settings.SEARCH.get("KEEP_INDEXES", 0))
        doomed = previous[: max(len(previous) - keep, 0)]
        for old in doomed:
            self._call(self.client.options(ignore_status=404).indices.delete, index=old)
        report.removed_indexes = doomed
        return report

    def drop(self, kind: SearchKind) -> None:
        """Deletes every version of ``kind`` (tests, and ``reindex --drop``)."""
        for name in self.versions(kind):
            self._call(self.client.options(ignore_status=404).indices.delete, index=name)
