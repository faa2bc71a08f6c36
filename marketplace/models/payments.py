from django.utils.translation import gettext_lazy as _
from payments.models import BasePayment


class Payment(BasePayment):
    """django-payments' concrete payment. The contracts issue ties it to an Oscar order and a
    milestone; the provider (PaymentIntent-based Stripe) is configured in PAYMENT_VARIANTS."""

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")

    def get_failure_url(self) -> str:
        return "/"

    def get_success_url(self) -> str:
        return "/"
