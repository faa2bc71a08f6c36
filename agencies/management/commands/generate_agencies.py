"""manage.py generate_agencies --count 100000 [--seed N] [--batch 5000] [--practitioners 2]

Bulk-inserts realistic agencies for benchmarks (agencies.generate.bulk_generate): organisations,
enrolments (mostly approved), certificates, practitioners and declared items, with bulk_create,
one transaction per batch, no services, signals or audit events. Needs Yunnan's regions, the
qualification types and the catalog (manage.py load_demo). Names and USCCs never collide with
existing organisations, so it can run again on the same database."""

import json

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Bulk-generate realistic agencies for benchmarks (not for real data)."

    def add_arguments(self, parser):
        parser.add_argument("--count", type=int, required=True)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--batch", type=int, default=5000)
        parser.add_argument("--practitioners", type=int, default=2, help="per agency")
        parser.add_argument("--json", action="store_true", help="print the result as JSON")

    def handle(self, *args, count, seed, batch, practitioners, json=False, **options):
        from agencies.generate import bulk_generate

        if count < 0 or batch < 1 or practitioners < 0:
            raise CommandError("--count >= 0, --batch >= 1 and --practitioners >= 0")

        def progress(done, total, seconds):
            self.stderr.write(f"  {done}/{total} agencies, {seconds:.1f}s")

        try:
            result = bulk_generate(
                count, seed=seed, batch=batch, practitioners=practitioners,
                progress=progress if options["verbosity"] >= 2 else None,
            )
        except RuntimeError as exc:
            raise CommandError(str(exc)) from exc
        if json:
            self.stdout.write(_json.dumps(result.as_dict(), ensure_ascii=False))
        else:
            self.stdout.write(
                f"Generated {result.agencies} agencies ({result.rows} rows) in "
                f"{result.seconds:.1f}s: {result.rows_per_second:,.0f} rows/s, "
                f"{result.agencies_per_second:,.0f} agencies/s."
            )


_json = json
