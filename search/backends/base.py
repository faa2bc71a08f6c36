"""The interface both backends implement. Callers use search/api.py, not backends directly."""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from search.documents import IndexDoc
from search.kinds.base import SearchKind
from search.query import SearchRequest, SearchResult


class SearchUnavailable(RuntimeError):
    """The backend cannot answer now (not reachable, timed out, refused)."""


@dataclass
class RebuildReport:
    kind: str
    backend: str
    index: str = ""
    documents: int = 0
    written: int = 0
    deleted: int = 0
    extract_seconds: float = 0.0
    load_seconds: float = 0.0
    removed_indexes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return dict(self.__dict__)


Progress = Callable[[int], None]  # called with the number of documents just handled


def timed_batches(kind: SearchKind, batch_size: int, report: RebuildReport):
    """The kind's document batches, the time spent producing them (database extraction)
    added to ``report.extract_seconds``, kept apart from the backends' load time."""
    batches = kind.iter_documents(batch_size=batch_size)
    while True:
        started = time.perf_counter()
        batch = next(batches, None)
        report.extract_seconds += time.perf_counter() - started
        if batch is None:
            return
        yield batch


class Backend(ABC):
    name: str = ""

    @abstractmethod
    def search(self, request: SearchRequest) -> SearchResult:
        raise NotImplementedError

    @abstractmethod
    def upsert(self, kind: SearchKind, docs: list[IndexDoc]) -> None:
        raise NotImplementedError

    @abstractmethod
    def delete(self, kind: SearchKind, ids: Iterable[str]) -> None:
        raise NotImplementedError

    @abstractmethod
    def fingerprints(self, kind: SearchKind) -> dict[str, str]:
        """{object id: fingerprint} of everything in the live index of ``kind``."""
        raise NotImplementedError

    @abstractmethod
    def rebuild(
        self, kind: SearchKind, *, batch_size: int = 500, progress: Progress | None = None
    ) -> RebuildReport:
        """Rebuilds the index of ``kind`` from the database while search keeps serving."""
        raise NotImplementedError

    def ping(self) -> None:
        """Raises ``SearchUnavailable`` when the backend cannot be reached."""
