from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CmsConfig(AppConfig):
    name = "cms"
    verbose_name = _("Catalog and content")

    def ready(self):
        from cms.cache import connect_invalidation_signals

        connect_invalidation_signals()
