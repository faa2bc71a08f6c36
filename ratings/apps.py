from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RatingsConfig(AppConfig):
    name = "ratings"
    verbose_name = _("Ratings, credit and sanctions")

    def ready(self):
        # Registration side effects: permission rules of each part (ratings and credit,
        # complaints, sanctions and appeals).
        # credit: its outbox handler and chronograph job; credit_signals: procurement events.
        from ratings import (  # noqa: F401  # noqa: F401  (sanction provider, job)
            complaint_jobs,
            complaint_rules,
            credit,
            credit_signals,
            enforcement,
            rating_rules,
            sanction_jobs,
            sanction_rules,
        )
