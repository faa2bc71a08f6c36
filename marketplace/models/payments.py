from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from payments import PaymentStatus
from payments.models import BasePayment

# django-payments ships no Chinese; the labels our pages show, in our catalogue.
STATUS_LABELS = {
    PaymentStatus.WAITING: _("awaiting payment"),
    PaymentStatus.INPUT: _("awaiting payment"),
    PaymentStatus.PREAUTH: _("authorised, not captured"),
    PaymentStatus.CONFIRMED: _("paid"),
    PaymentStatus.REJECTED: _("cancelled"),
    PaymentStatus.REFUNDED: _("refunded"),
    PaymentStatus.ERROR: _("not completed"),
    PaymentStatus.CANCELLED: _("cancelled"),
}


class PaymentPurpose(models.TextChoices):
    MILESTONE = "milestone", _("milestone payment")  # 节点付款
    DEPOSIT = "deposit", _("deposit")  # 保证金


class Payment(BasePayment):
    """django-payments' concrete payment, always for one purpose: a contract milestone (tied to
    the contract's Oscar order too) or an announcement deposit. Its status moves only from the
    provider's webhook or from polling it (``marketplace.stripe_provider``); what the status
    means for the milestone or deposit is settled in ``procurement.settlement``."""

    purpose = models.CharField(
        _("purpose"), max_length=10, choices=PaymentPurpose.choices, blank=True
    )
    order = models.ForeignKey(
        "order.Order",
        verbose_name=_("commercial order"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="payments",
    )
    milestone = models.ForeignKey(
        "procurement.Milestone",
        verbose_name=_("milestone"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="payments",
    )
    deposit = models.ForeignKey(
        "procurement.Deposit",
        verbose_name=_("deposit"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="payments",
    )
    # Who started it (the owner's or agency's member), for the page that shows it.
    created_by = models.ForeignKey(
        "marketplace.User",
        verbose_name=_("started by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        constraints = (
            models.CheckConstraint(
                condition=Q(purpose="")
                | Q(purpose="milestone", milestone__isnull=False, order__isnull=False)
                | Q(purpose="deposit", deposit__isnull=False),
                name="payment_tied_to_its_purpose",
            ),
        )

    @property
    def status_label(self) -> str:
        return str(STATUS_LABELS.get(self.status, self.status))

    def get_failure_url(self) -> str:
        return self.get_process_page_url()

    def get_success_url(self) -> str:
        return self.get_process_page_url()

    def get_process_page_url(self) -> str:
        from django.urls import reverse

        return reverse("procurement:payment", args=[self.token])
