"""Keeping the indexes in step with the database.

1. Changes: ``mark_dirty(kind, ids)`` (called by search/signals.py inside the business
   transaction) writes one outbox message per index backend; after commit the outbox delivers
   it (at once through Celery, or the sweep): ``sync`` reads the objects' current state and
   writes or deletes their documents. Delivery is at-least-once and ``sync`` reads the state at
   delivery time, so a late or repeated message can only write the newest state. A backend
   that is down makes the message retry; the business change never waits for it or fails.
2. Drift: the chronograph job ``search.reconcile`` compares fingerprints of every document
   the database would produce with those in each index and repairs what differs.
3. Rebuild: ``reindex`` (``manage.py reindex``) builds a new Elasticsearch index version and
   swaps the alias; changes made while it loaded are synced again into the new version."""

from __future__ import annotations

import datetime
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from marketplace import chronograph, outbox
from search.api import backend_named, index_backends
from search.backends.base import Backend, RebuildReport
from search.kinds import all_kinds, get_kind
from search.kinds.base import SearchKind

logger = logging.getLogger(__name__)

TOPIC = "search.sync"
MESSAGE_IDS = 500  # ids per outbox message


# --- marking changes -------------------------------------------------------------------------


def _marker():
    def marker() -> None:  # the on_commit callback proving the mark belongs to this transaction
        return None

    return marker


def mark_dirty(kind_name: str, ids: Iterable) -> None:
    """Queues an index sync of ``ids`` of ``kind_name`` for after commit, once per transaction
    (an agency approved, its offerings refreshed and its partner renamed in one transaction
    is synced once)."""
    ids = sorted({str(i) for i in ids if i is not None})
    if not ids:
        return
    conn = transaction.get_connection()
    if conn.in_atomic_block:
        # The set of (kind, id) already queued in the current transaction: an entry is valid
        # while its marker is among the transaction's pending on_commit callbacks, which
        # Django drops on rollback of the (savepoint) block that queued it.
        queued: dict = conn.__dict__.setdefault("_mp_search_queued", {})
        pending = {id(fn) for _sids, fn, *_rest in conn.run_on_commit}
        ids = [i for i in ids if id(queued.get((kind_name, i))) not in pending]
        if not ids:
            return
        marker = _marker()
        transaction.on_commit(marker)
        if len(queued) > 10_000:
            queued.clear()
        for i in ids:
            queued[(kind_name, i)] = marker
    for backend in index_backends():
        for start in range(0, len(ids), MESSAGE_IDS):
            outbox.enqueue(
                TOPIC,
                {
                    "backend": backend.name,
                    "kind": kind_name,
                    "ids": ids[start : start + MESSAGE_IDS],
                },
            )


def _forget(kind_name: str, ids: Iterable[str]) -> None:
    """Drops ``ids`` from the current transaction's queued set: they are synced now, so a
    later change in the same transaction must queue them again (a delivery inside the
    transaction that marked them: a sweep within an atomic block, a test)."""
    queued = transaction.get_connection().__dict__.get("_mp_search_queued")
    if queued:
        for i in ids:
            queued.pop((kind_name, str(i)), None)


@outbox.handler(TOPIC)
def deliver_sync(payload: dict, *, message=None) -> None:
    sync(get_kind(payload["kind"]), payload["ids"], backend=backend_named(payload["backend"]))
    _forget(payload["kind"], payload["ids"])


@dataclass
class SyncReport:
    written: int = 0
    deleted: int = 0


def sync(kind: SearchKind, ids: Iterable[str], *, backend: Backend) -> SyncReport:
    """Writes the current documents of ``ids`` and deletes those that must not be indexed."""
    docs = kind.documents(ids)
    present = [d for d in docs.values() if d is not None]
    absent = [i for i, d in docs.items() if d is None]
    backend.upsert(kind, present)
    backend.delete(kind, absent)
    return SyncReport(written=len(present), deleted=len(absent))


# --- rebuilding --------------------------------------------------------------------------


def changed_since(kind: SearchKind, since: datetime.datetime, backend: str) -> set[str]:
    from marketplace.models import OutboxMessage

    ids: set[str] = set()
    for payload in OutboxMessage.objects.filter(topic=TOPIC, created_at__gte=since).values_list(
        "payload", flat=True
    ):
        if payload.get("kind") == kind.name and payload.get("backend") == backend:
            ids.update(str(i) for i in payload.get("ids", []))
    return ids


def reindex(
    kind: SearchKind, backend: Backend, *, batch_size: int = 500, progress=None
) -> RebuildReport:
    """Rebuilds ``kind`` in ``backend`` while search keeps serving, then re-syncs what
    changed while it loaded (the loader may have read it before the change)."""
    started = timezone.now() - datetime.timedelta(seconds=1)
    report = backend.rebuild(kind, batch_size=batch_size, progress=progress)
    catch_up = changed_since(kind, started, backend.name)
    if catch_up:
        sync(kind, sorted(catch_up), backend=backend)
    return report


# --- reconciling --------------------------------------------------------------------------


@dataclass
class ReconcileReport:
    kind: str
    backend: str
    checked: int = 0
    missing: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def repaired(self) -> int:
        return len(self.missing) + len(self.stale) + len(self.extra)

    def as_dict(self) -> dict:
        return {
            "kind": self.kind,
            "backend": self.backend,
            "checked": self.checked,
            "missing": len(self.missing),
            "stale": len(self.stale),
            "extra": len(self.extra),
            "seconds": round(self.seconds, 3),
        }


def reconcile(kind: SearchKind, backend: Backend, *, batch_size: int = 500) -> ReconcileReport:
    """Compares the documents the database gives with the index's fingerprints and repairs the
    difference: missing and stale documents are written, extra ones deleted."""
    started = time.perf_counter()
    report = ReconcileReport(kind=kind.name, backend=backend.name)
    indexed = backend.fingerprints(kind)
    seen: set[str] = set()
    for batch in kind.iter_documents(batch_size=batch_size):
        repair = []
        for doc in batch:
            seen.add(doc.id)
            have = indexed.get(doc.id)
            if have is None:
                report.missing.append(doc.id)
                repair.append(doc)
            elif have != doc.fingerprint():
                report.stale.append(doc.id)
                repair.append(doc)
        report.checked += len(batch)
        backend.upsert(kind, repair)
    report.extra = sorted(i for i in indexed if i not in seen)
    backend.delete(kind, report.extra)
    report.seconds = time.perf_counter() - started
    if report.repaired:
        logger.warning("search: reconcile repaired drift %s", report.as_dict())
    return report


@chronograph.job("search.reconcile", every=datetime.timedelta(minutes=30))
def reconcile_job(now) -> int:
    from search.backends.base import SearchUnavailable

    repaired = 0
    for backend in index_backends():
        for kind in all_kinds():
            try:
                repaired += reconcile(kind, backend).repaired
            except SearchUnavailable as exc:
                # The next run tries again; the outbox keeps the individual changes meanwhile.
                logger.warning(
                    "search: reconcile of %s in %s skipped: %s", kind.name, backend.name, exc
                )
    return repaired
