from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SearchConfig(AppConfig):
    name = "search"
    # Oscar already owns the label "search".
    label = "mp_search"
    verbose_name = _("Search")

    def ready(self) -> None:
        # The built-in kinds, the outbox handler and the reconcile job register on import.
        from search import indexing, signals
        from search.kinds import agencies, announcements, catalog  # noqa: F401

        signals.connect()
        del indexing
