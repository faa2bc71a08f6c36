"""The database backend: the embedded default (SQLite in the demo) and the fallback when
Elasticsearch is down. Its index is the relational copy in search/models.py.

Matching: every word of the query must occur in the document's text (a substring match on the
normalised text: 环境 finds 云南某某环境科技有限公司) or equal one of its keywords (a USCC, an
item code); or the whole text equals a keyword (YN-ZJ-0001, whose words are in no text).
Ranking: exact title, then title prefix, then every word in the title, then the rest; ties by
name (pinyin order). The same rules as the Elasticsearch backend, which the
contract tests (tests/search/test_contract.py) hold both to.

Facets are counted "disjunctively": each without its own filter (but with all the others), so
a facet's other values show what choosing them instead would give; the hierarchical region
facet keeps its filter and counts the chosen region's children.

Queries per search: the keywords (with a text only), the count, the page, one for the facets
that share the result's scope and one per facet with a value chosen — whatever the number of
documents (tests/search/test_database_backend.py; bench/search.py measures it at 100k)."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable

from django.db import transaction
from django.db.models import Case, Count, F, IntegerField, Q, Value, When

from search.backends.base import Backend, Progress, RebuildReport, timed_batches
from search.documents import IndexDoc
from search.kinds.base import SearchKind
from search.models import KEYWORD_FIELD, SearchDocument, SearchFacetValue
from search.query import Bucket, FacetResult, Hit, SearchRequest, SearchResult


def _with(kind: str, field: str, value: str):
    """The ids of the documents having ``field`` = ``value`` (an index-only scan of
    mp_search_fv), as a subquery."""
    return SearchFacetValue.objects.filter(kind=kind, field=field, value=value).values(
        "document_id"
    )


class DatabaseBackend(Backend):
    name = "database"

    # --- reading --------------------------------------------------------------------------

    def _keyword_hits(self, request: SearchRequest) -> dict[str, list[int]]:
        """{keyword: document ids} for the query's words and whole text (one query, a handful
        of rows): exact identifiers are looked up first, so that the text condition stays a
        plain LIKE that PostgreSQL's trigram index can serve (an OR with a correlated EXISTS
        made it scan every document)."""
        if not request.text:
            return {}
        wanted = {t.upper() for t in request.terms} | {request.text.upper()}
        hits: dict[str, list[int]] = defaultdict(list)
        for value, document_id in SearchFacetValue.objects.filter(
            kind=request.kind.name, field=KEYWORD_FIELD, value__in=wanted
        ).values_list("value", "document_id"):
            hits[value].append(document_id)
        return hits

    def _matching(
        self, request: SearchRequest, keywords: dict[str, list[int]], *, exclude: str | None = None
    ):
        kind = request.kind.name
        docs = SearchDocument.objects.filter(kind=kind)
        if request.text:
            words = Q()
            for term in request.terms:
                words &= Q(search_text__contains=term) | Q(pk__in=keywords.get(term.upper(), []))
            # The whole text equal to a keyword matches too: an item code such as YN-ZJ-0001
            # is split into words by its hyphens, and those words are in no text.
            docs = docs.filter(words | Q(pk__in=keywords.get(request.text.upper(), [])))
        for param, (field, value) in request.filters.items():
            if param != exclude:
                docs = docs.filter(pk__in=_with(kind, field, value))
        return docs

    def _ordered(self, docs, request: SearchRequest):
        sort = request.kind.sort(request.sort)
        if sort is not None and sort.field is None and request.text:
            title_words = Q()
            for term in request.terms:
                title_words &= Q(title_norm__contains=term)
            rank = Case(
                When(title_norm=request.text, then=Value(100)),
                When(title_norm__startswith=request.text, then=Value(20)),
                When(title_words, then=Value(5)),
                default=Value(1),
                output_field=IntegerField(),
            )
            return docs.annotate(rank=rank).order_by("-rank", "sort_name", "object_id")
        if sort is not None and sort.field and sort.field == request.kind.numeric_sort:
            number = (
                F("sort_number").desc(nulls_last=True)
                if sort.descending
                else F("sort_number").asc(nulls_last=True)
            )
            return docs.order_by(number, "sort_name", "object_id")
        return docs.order_by("sort_name", "object_id")

    def search(self, request: SearchRequest) -> SearchResult:
        kind = request.kind
        keywords = self._keyword_hits(request)
        docs = self._matching(request, keywords)
        total = docs.count()
        # The page is chosen on the narrow sort columns in a subquery, then only its rows are
        # read whole and put in order again: sorting whole rows (with the card data) of
        # thousands of matches cost more than the match itself (bench/search.py).
        page = self._ordered(docs, request).values("pk")[
            request.offset : request.offset + request.page_size
        ]
        rows = list(
            self._ordered(SearchDocument.objects.filter(pk__in=page), request).values_list(
                "object_id", "data"
            )
        )
        # Facets are counted without their own filter, so the other values' counts say what
        # choosing them instead would give; the hierarchical facet keeps its filter (its
        # buckets are the chosen region's children). Facets sharing a scope are counted in
        # one GROUP BY: one query for all of them, plus one per facet with a value chosen.
        scopes: dict[str | None, list[tuple]] = defaultdict(list)
        for facet in kind.facets:
            field = kind.bucket_field(facet, request.raw_filters)
            if field is None:
                continue
            own = facet.param if facet.param in request.filters and not facet.levels else None
            scopes[own].append((facet, field))
        counted: dict[str, list[tuple[str, int]]] = {}
        for own, members in scopes.items():
            scope = docs if own is None else self._matching(request, keywords, exclude=own)
            by_field: dict[str, list[tuple[str, int]]] = defaultdict(list)
            for field, value, n in (
                SearchFacetValue.objects.filter(
                    kind=kind.name,
                    field__in=[field for _facet, field in members],
                    document__in=scope.values("pk"),
                )
                .values_list("field", "value")
                # COUNT(*), not COUNT(id): the counts come from the index alone.
                .annotate(n=Count("*"))
                .order_by()
            ):
                by_field[field].append((value, n))
            for facet, field in members:
                top = sorted(by_field.get(field, []), key=lambda vn: (-vn[1], vn[0]))
                counted[facet.param] = top[: facet.size]
        facets = [
            _facet_result(kind, facet, counted[facet.param], request)
            for facet in kind.facets
            if facet.param in counted
        ]
        return SearchResult(
            request=request,
            total=total,
            hits=[Hit(id=object_id, data=data) for object_id, data in rows],
            facets=facets,
            backend=self.name,
        )

    def fingerprints(self, kind: SearchKind) -> dict[str, str]:
        return dict(
            SearchDocument.objects.filter(kind=kind.name).values_list("object_id", "fingerprint")
        )

    # --- writing --------------------------------------------------------------------------

    @transaction.atomic
    def upsert(self, kind: SearchKind, docs: list[IndexDoc]) -> None:
        if not docs:
            return
        SearchDocument.objects.filter(kind=kind.name, object_id__in=[d.id for d in docs]).delete()
        rows = SearchDocument.objects.bulk_create(
            [
                SearchDocument(
                    kind=kind.name,
                    object_id=d.id,
                    title=d.title[:300],
                    title_norm=d.title_norm[:300],
                    search_text=d.search_text,
                    sort_name=str(d.sort.get("name") or "")[:300],
                    sort_number=d.sort.get(kind.numeric_sort) if kind.numeric_sort else None,
                    data=d.data,
                    fingerprint=d.fingerprint(),
                )
                for d in docs
            ]
        )
        values = []
        for row, doc in zip(rows, docs, strict=True):
            pairs = {(KEYWORD_FIELD, k.upper()) for k in doc.keywords if k}
            pairs |= {(f, v) for f, vs in doc.facets.items() for v in vs if v not in (None, "")}
            values.extend(
                SearchFacetValue(document=row, kind=kind.name, field=f, value=str(v)[:120])
                for f, v in pairs
            )
        SearchFacetValue.objects.bulk_create(values, batch_size=2000)

    def delete(self, kind: SearchKind, ids: Iterable[str]) -> None:
        ids = list(ids)
        if ids:
            SearchDocument.objects.filter(kind=kind.name, object_id__in=ids).delete()

    def rebuild(
        self, kind: SearchKind, *, batch_size: int = 500, progress: Progress | None = None
    ) -> RebuildReport:
        """In place and batch by batch (each its own transaction), so search keeps serving:
        changed documents are rewritten, unchanged ones left alone, vanished ones deleted."""
        report = RebuildReport(
            kind=kind.name, backend=self.name, index=SearchDocument._meta.db_table
        )
        existing = self.fingerprints(kind)
        seen: set[str] = set()
        for batch in timed_batches(kind, batch_size, report):
            started = time.perf_counter()
            changed = [d for d in batch if existing.get(d.id) != d.fingerprint()]
            self.upsert(kind, changed)
            report.load_seconds += time.perf_counter() - started
            seen.update(d.id for d in batch)
            report.documents += len(batch)
            report.written += len(changed)
            if progress:
                progress(len(batch))
        stale = [i for i in existing if i not in seen]
        for start in range(0, len(stale), 1000):
            self.delete(kind, stale[start : start + 1000])
        report.deleted = len(stale)
        return report


def _facet_result(kind: SearchKind, facet, counts, request: SearchRequest) -> FacetResult:
    raw = request.raw_filters
    counts = [(v, n) for v, n in counts if kind.bucket_keep(facet, v, raw)]
    labels = kind.bucket_labels(facet, [v for v, _ in counts], raw)
    selected = request.filters.get(facet.param, (None, None))[1]
    buckets = [
        Bucket(
            value=kind.bucket_value(facet, v, raw),
            label=str(labels.get(v, v)),
            count=n,
            selected=(v == selected),
        )
        for v, n in counts
    ]
    return FacetResult(param=facet.param, label=str(facet.label), buckets=buckets)


__all__ = ["DatabaseBackend", "_facet_result"]
