from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MarketplaceConfig(AppConfig):
    name = "marketplace"
    label = "marketplace"
    verbose_name = _("Marketplace core")

    def ready(self):
        from . import scheduler

        scheduler.start_inprocess_scheduler_if_configured()
