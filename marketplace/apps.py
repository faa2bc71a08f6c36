from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MarketplaceConfig(AppConfig):
    name = "marketplace"
    label = "marketplace"
    verbose_name = _("Marketplace core")

    def ready(self):
        from django_fsm.signals import post_transition

        # Imported for their registrations: permission rules, outbox handlers (notify, e-mail)
        # and the outbox sweep job of the chronograph.
        from . import (  # noqa: F401
            audit,
            notifications,
            outbox,
            permissions,
            scheduler,
            stripe_provider,
        )

        # One audit event per state-machine transition, for every app's models.
        post_transition.connect(audit.on_fsm_transition, dispatch_uid="marketplace.audit.fsm")
        scheduler.start_inprocess_scheduler_if_configured()
