from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RatingsConfig(AppConfig):
    name = "ratings"
    verbose_name = _("Ratings, credit and sanctions")

    def ready(self):
        # Registration side effects: permission rules of each part (ratings and credit,
        # complaints, sanctions and appeals).
        from ratings import complaint_rules, rating_rules, sanction_rules  # noqa: F401
