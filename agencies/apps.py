from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AgenciesConfig(AppConfig):
    name = "agencies"
    verbose_name = _("Agencies")

    def ready(self):
        # Registration side effects: permission rules, the chronograph's expiry job, the
        # membership signals that keep Oscar partner users in step.
        from agencies import changes, expiry, rules, shelf  # noqa: F401
