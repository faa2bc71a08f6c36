from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SearchConfig(AppConfig):
    name = "search"
    # Oscar already owns the label "search".
    label = "mp_search"
    verbose_name = _("Search")
