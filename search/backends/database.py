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

Queries per search: the count, the page, one per counted facet (the document filter is a
subquery, not a list of ids) — see tests/search/test_database_backend.py."""

from __future__ import annotations

import time
from collections.abc import Iterable

from django.db import transaction
from django.db.models import Case, Count, Exists, F, IntegerField, OuterRef, Q, Value, When

from search.backends.base import Backend, Progress, RebuildReport, timed_batches
from search.documents import IndexDoc
from search.kinds.base import SearchKind
from search.models import KEYWORD_FIELD, SearchDocument, SearchFacetValue
from search.query import Bucket, FacetResult, Hit, SearchRequest, SearchResult


def _has(kind: str, field: str, value: str) -> Exists:
    return Exists(
        SearchFacetValue.objects.filter(
            document=OuterRef("pk"), kind=kind, field=field, value=value
        )
    )


class DatabaseBackend(Backend):
    name = "database"

    # --- reading --------------------------------------------------------------------------

    def _matching(self, request: SearchRequest, *, exclude: str | None = None):
        kind = request.kind.name
        docs = SearchDocument.objects.filter(kind=kind)
        if request.text:
            words = Q()
            for term in request.terms:
                words &= Q(search_text__contains=term) | _has(kind, KEYWORD_FIELD, term.upper())
            # The whole text equal to a keyword matches too: an item code such as YN-ZJ-0001
            # is split into words by its hyphens, and those words are in no text.
            docs = docs.filter(words | _has(kind, KEYWORD_FIELD, request.text.upper()))
        for param, (field, value) in request.filters.items():
            if param != exclude:
                docs = docs.filter(_has(kind, field, value))
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
        docs = self._matching(request)
        total = docs.count()
        rows = list(
            self._ordered(docs, request).values_list("object_id", "data")[
                request.offset : request.offset + request.page_size
            ]
        )
        facets = []
        for facet in kind.facets:
            field = kind.bucket_field(facet, request.raw_filters)
            if field is None:
                continue
            # Each facet is counted without its own filter, so the other values' counts say
            # what choosing them instead would give; a hierarchical facet keeps its filter
            # (its buckets are the chosen region's children).
            scope = docs if facet.levels else self._matching(request, exclude=facet.param)
            counts = list(
                SearchFacetValue.objects.filter(
                    kind=kind.name, field=field, document__in=scope.values("pk")
                )
                .values_list("value")
                .annotate(n=Count("id"))
                .order_by("-n", "value")[: facet.size]
            )
            facets.append(_facet_result(kind, facet, counts, request))
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
