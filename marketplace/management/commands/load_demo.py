"""Loads the demo: regions, industries, fee standards, the published catalog, notices,
organisations and one user per role. Idempotent: running it again changes nothing."""

from django.core.management.base import BaseCommand
from django.db import transaction


class Command(BaseCommand):
    help = "Load realistic demo data (labelled as demo data) and print the demo accounts."

    def add_arguments(self, parser):
        parser.add_argument("--quiet-accounts", action="store_true", help="Don't print accounts.")

    def handle(self, *args, **options):
        from agencies import demo as agencies_demo
        from cms.demo import load_catalog
        from cms.fees.demo import load_fee_rules
        from marketplace.demo import load_core_demo

        with transaction.atomic():
            accounts = load_core_demo()
        rules = load_fee_rules()
        catalog = load_catalog()
        accounts = accounts + list(catalog.get("accounts", []))
        self.stdout.write(agencies_demo.summary_line(agencies_demo.load_agencies_demo()))
        from procurement import demo as procurement_demo

        procurement = procurement_demo.load_procurement_demo()
        accounts = accounts + procurement["accounts"]
        self.stdout.write(procurement_demo.summary_line(procurement))
        from ratings import demo as ratings_demo

        self.stdout.write(ratings_demo.summary_line(ratings_demo.load_ratings_demo()))
        self.stdout.write(self._build_search_indexes())

        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data loaded: {len(rules)} fee rules, "
                f"{catalog.get('items', '?')} service items in {catalog.get('industries', '?')} "
                "industries."
            )
        )
        if options["quiet_accounts"]:
            return
        self.stdout.write(
            "\n演示账号 Demo accounts (demo data only — never use these in production):"
        )
        width = max((len(a["role"]) for a in accounts), default=10)
        for account in accounts:
            self.stdout.write(
                f"  {account['role']:<{width}}  {account['email']:<36} "
                f"{account['password']:<16} {account.get('organisation', '')}"
            )
        self.stdout.write("\nSite: http://127.0.0.1:8000/   CMS: http://127.0.0.1:8000/cms/\n")

    def _build_search_indexes(self) -> str:
        """The outbox has synced each change already; a full pass makes sure the indexes are
        complete even when loading ran without a worker (Celery not eager)."""
        from search.api import index_backends
        from search.backends.base import SearchUnavailable
        from search.indexing import reindex
        from search.kinds import all_kinds

        parts = []
        for backend in index_backends():
            for kind in all_kinds():
                try:
                    report = reindex(kind, backend)
                except SearchUnavailable as exc:
                    parts.append(f"{kind.name}@{backend.name}: unavailable ({exc})")
                    continue
                parts.append(f"{report.documents} {kind.name}@{backend.name}")
        return "Search indexes: " + ", ".join(parts)
