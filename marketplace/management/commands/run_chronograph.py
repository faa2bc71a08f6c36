import time

from django.conf import settings
from django.core.management.base import BaseCommand

from marketplace import chronograph


class Command(BaseCommand):
    help = "Runs the chronograph's due jobs, once or every SCHEDULER_INTERVAL_SECONDS."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="run one tick and exit")

    def handle(self, *args, once=False, **options):
        interval = float(settings.MARKETPLACE.get("SCHEDULER_INTERVAL_SECONDS", 30))
        while True:
            # The long-running loop refreshes its database connection around each tick.
            results = chronograph.run_due_jobs() if once else chronograph.tick()
            for result in results:
                line = f"{result.name}: {result.status}"
                if result.error:
                    line += f" ({result.error})"
                self.stdout.write(line)
            if once:
                return
            time.sleep(interval)
