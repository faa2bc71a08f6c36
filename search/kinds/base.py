"""What a kind of searchable thing declares: its facets, sorts, how its documents are built and
how facet values are checked and labelled. Backends know nothing about agencies or items; they
only see ``IndexDoc`` and the declarations here. Adding announcements later is a new module
registering a new kind (search/kinds/__init__.py), not a change to either backend."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from search.documents import IndexDoc


@dataclass(frozen=True)
class Facet:
    """A filter parameter with counted values.

    ``param``      the query-string name (``region``);
    ``field``      the document facet field filters match against;
    ``levels``     for a hierarchical facet, the per-level fields: buckets are counted on the
                   level below the selected value (provinces, then prefectures, then counties);
    ``requires``   another parameter this one only makes sense with (``level`` needs
                   ``qualification``);
    ``size``       how many buckets are returned at most (the largest counts)."""

    param: str
    field: str
    label: object
    levels: tuple[str, ...] = ()
    requires: str | None = None
    size: int = 30


@dataclass(frozen=True)
class Sort:
    """``field`` names a key of ``IndexDoc.sort``; ties always fall back to the name order."""

    param: str
    label: object
    field: str | None  # None: relevance (text score)
    descending: bool = False


class BadFilter(ValueError):
    """A facet value that does not exist; the message is for people."""


@dataclass
class SearchKind(ABC):
    name: str
    label: object
    facets: tuple[Facet, ...]
    sorts: tuple[Sort, ...]
    # The one numeric sort field (besides the name), e.g. "credit"; None for none.
    numeric_sort: str | None = None
    page_sizes: tuple[int, ...] = (10, 20, 50)
    default_page_size: int = 20

    def facet(self, param: str) -> Facet | None:
        return next((f for f in self.facets if f.param == param), None)

    def sort(self, param: str) -> Sort | None:
        return next((s for s in self.sorts if s.param == param), None)

    # --- to be provided by each kind ------------------------------------------------------

    @abstractmethod
    def documents(self, ids: Iterable[str]) -> dict[str, IndexDoc | None]:
        """The current document of each id, or None where the object must not be in the index
        (gone, not public). One id's failure must not hide the others."""
        raise NotImplementedError

    @abstractmethod
    def iter_documents(self, *, batch_size: int = 500) -> Iterator[list[IndexDoc]]:
        """Every indexable document, in batches, for a full rebuild or reconcile."""
        raise NotImplementedError

    @abstractmethod
    def count(self) -> int:
        """How many documents ``iter_documents`` yields (for progress bars)."""
        raise NotImplementedError

    def clean_filter(self, facet: Facet, value: str, filters: dict[str, str]) -> str:
        """The facet field value to filter on for the parameter value given, or ``BadFilter``.
        ``filters`` are the other raw parameters (for dependent facets)."""
        return value

    def bucket_field(self, facet: Facet, filters: dict[str, str]) -> str | None:
        """The field to count for ``facet`` given the current filters; None hides the facet
        (e.g. the level of a qualification before a qualification is chosen)."""
        if facet.levels:
            selected = filters.get(facet.param)
            depth = self.hierarchy_depth(facet, selected) if selected else 0
            return facet.levels[depth] if depth < len(facet.levels) else None
        if facet.requires and facet.requires not in filters:
            return None
        return facet.field

    def hierarchy_depth(self, facet: Facet, value: str) -> int:
        """How many levels deep ``value`` is (1 for a province); hierarchical kinds override."""
        return 1

    def bucket_labels(self, facet: Facet, values: list[str], filters: dict[str, str]) -> dict:
        """Labels for bucket values (one query at most per facet)."""
        return {v: v for v in values}

    def bucket_keep(self, facet: Facet, stored: str, filters: dict[str, str]) -> bool:
        """Whether a counted value is shown (e.g. only the chosen qualification's levels)."""
        return True

    def bucket_value(self, facet: Facet, stored: str, filters: dict[str, str]) -> str:
        """The parameter value that selects a bucket (the inverse of ``clean_filter``)."""
        return stored
