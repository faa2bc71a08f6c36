from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProcurementConfig(AppConfig):
    name = "procurement"
    verbose_name = _("Procurement")

    def ready(self):
        # Registration side effects: permission rules, the scheduler's jobs, the outbox
        # handlers of the live draw room and of the agencies' feed.
        from payments.signals import status_changed

        from procurement import jobs, room, rules, settlement  # noqa: F401

        status_changed.connect(settlement.payment_settled, dispatch_uid="procurement.settlement")
