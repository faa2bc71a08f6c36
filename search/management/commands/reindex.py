"""manage.py reindex — rebuild the search indexes from the database.

Elasticsearch: a new versioned index is loaded (bulk, no refreshes), the alias is switched to it
in one atomic call and the versions it replaced are deleted (SEARCH["KEEP_INDEXES"] kept).
Search answers from the old version until the switch. Changes committed while loading are
synced again into the new version afterwards.
Database index: rewritten in place, batch by batch (changed documents only), stale ones deleted.

    manage.py reindex                       every kind, every configured backend
    manage.py reindex --kind agency --backend elasticsearch --batch-size 1000
    manage.py reindex --reconcile           compare and repair drift instead of rebuilding
"""

from __future__ import annotations

import json
import sys
import time

from django.core.management.base import BaseCommand, CommandError

from search.api import index_backends
from search.backends.base import SearchUnavailable
from search.indexing import reconcile, reindex
from search.kinds import all_kinds, get_kind


class ProgressBar:
    """A one-line progress bar on stderr (redrawn at most 10 times a second)."""

    def __init__(self, label: str, total: int, stream=None, width: int = 30):
        self.label, self.total, self.width = label, max(total, 0), width
        self.stream = stream or sys.stderr
        self.done = 0
        self.started = time.perf_counter()
        self._drawn = 0.0
        self._drawn_at = -1

    def __call__(self, n: int) -> None:
        self.done += n
        now = time.perf_counter()
        if now - self._drawn >= 0.1 or self.done >= self.total:
            self._drawn = now
            self.draw()

    def draw(self) -> None:
        self._drawn_at = self.done
        total = max(self.total, self.done, 1)
        filled = int(self.width * self.done / total)
        rate = self.done / max(time.perf_counter() - self.started, 1e-9)
        self.stream.write(
            f"\r{self.label:<28} [{'#' * filled}{'.' * (self.width - filled)}] "
            f"{self.done}/{total} {rate:,.0f}/s"
        )
        self.stream.flush()

    def close(self) -> None:
        if self._drawn_at != self.done:
            self.draw()
        self.stream.write("\n")


class Command(BaseCommand):
    help = "Rebuild the search indexes (new versioned index + atomic alias switch)."

    def add_arguments(self, parser):
        parser.add_argument("--kind", action="append", help="agency, service_item (repeatable)")
        parser.add_argument("--backend", choices=["database", "elasticsearch"])
        parser.add_argument("--batch-size", type=int, default=500)
        parser.add_argument("--reconcile", action="store_true", help="repair drift only")
        parser.add_argument("--no-progress", action="store_true")
        parser.add_argument("--json", action="store_true", help="print reports as JSON lines")

    def handle(self, *args, **options):
        try:
            kinds = [get_kind(k) for k in options["kind"]] if options["kind"] else all_kinds()
        except LookupError as exc:
            raise CommandError(str(exc)) from exc
        backends = [
            b for b in index_backends() if not options["backend"] or b.name == options["backend"]
        ]
        if not backends:
            raise CommandError(f"backend {options['backend']!r} is not configured (SEARCH)")
        failed = False
        for backend in backends:
            for kind in kinds:
                try:
                    if options["reconcile"]:
                        report = reconcile(kind, backend, batch_size=options["batch_size"])
                    else:
                        bar = None
                        if not options["no_progress"]:
                            bar = ProgressBar(
                                f"{kind.name} → {backend.name}",
                                kind.count(),
                                stream=self.stderr._out,
                            )
                        report = reindex(
                            kind, backend, batch_size=options["batch_size"], progress=bar
                        )
                        if bar:
                            bar.close()
                except SearchUnavailable as exc:
                    failed = True
                    self.stderr.write(f"{kind.name} → {backend.name}: unavailable: {exc}")
                    continue
                self._report(report.as_dict(), options["json"])
        if failed:
            raise CommandError("some indexes could not be rebuilt (see above)")

    def _report(self, data: dict, as_json: bool) -> None:
        if as_json:
            self.stdout.write(json.dumps(data, ensure_ascii=False, default=str))
            return
        self.stdout.write(
            "  ".join(
                f"{k}={v:.2f}" if isinstance(v, float) else f"{k}={v}" for k, v in data.items()
            )
        )
