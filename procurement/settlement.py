"""Money for contracts: paying an accepted milestone through the payment provider, what a
payment's status means for its milestone (or deposit), and refunds.

The status of a payment moves only in ``marketplace.stripe_provider`` — from a verified
webhook or from polling Stripe, never from the customer's redirect back — and every move
sends django-payments' ``status_changed`` inside the transaction that holds the payment's
row lock. ``payment_settled`` (connected in ``ProcurementConfig.ready``) then takes the
contract's lock and applies it exactly once: a replayed or out-of-order event does not change
the status again, so it does not reach here again, and the milestone's own state machine
refuses a second "paid". A second payment that succeeds for a milestone already paid (two
tabs) is refunded automatically, after commit.
"""

from __future__ import annotations

import datetime
import logging
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from payments import PaymentStatus

from marketplace import audit, orders, outbox
from marketplace.models import Payment, PaymentPurpose, User
from marketplace.permissions import require_perm
from marketplace.selectors import is_platform_admin
from procurement.contracts import _error, _locked, _notify_party, complete_if_paid
from procurement.models import Milestone, MilestoneStatus, SigningParty

logger = logging.getLogger(__name__)

CENT = Decimal("0.01")
OPEN_STATUSES = (PaymentStatus.WAITING, PaymentStatus.INPUT, PaymentStatus.ERROR)
REFUND_TOPIC = "payments.refund_duplicate"


def payment_variant() -> str:
    """The configured provider's variant; a clear error when payments are not set up (the
    dummy provider, whose status comes from a form, is never used for real payments)."""
    variants = getattr(settings, "PAYMENT_VARIANTS", {})
    if "stripe" in variants:
        return "stripe"
    raise _error(_("Online payment is not configured on this site."), code="no_provider")


def _amount(value) -> Decimal | None:
    try:
        amount = Decimal(str(value).replace(",", "").strip())
    except (InvalidOperation, AttributeError):
        return None
    return amount if amount.is_finite() else None


@transaction.atomic
def milestone_payment_start(*, actor: User, milestone: Milestone, amount) -> Payment:
    """支付: the owner pays an accepted milestone, exactly its amount. An unfinished payment
    of the milestone (waiting, or declined and retried) is reused, so a double click or a
    retry never makes two charges."""
    require_perm(actor, "act_owner", milestone.contract)
    contract = _locked(milestone.contract_id)
    milestone = contract.milestones.select_for_update().get(pk=milestone.pk)
    if milestone.status == MilestoneStatus.PAID:
        raise _error(_("This milestone has already been paid."), code="already_paid")
    if milestone.status != MilestoneStatus.ACCEPTED:
        raise _error(
            _("A milestone is paid once its result has been accepted."), code="not_accepted"
        )
    value = _amount(amount)
    if value is None or value != milestone.amount:
        raise _error(
            _("The amount must be the milestone's amount, %(amount)s yuan.")
            % {"amount": f"{milestone.amount:,.2f}"},
            "amount",
            code="amount_mismatch",
        )
    if contract.order_id is None:
        raise ValidationError({NON_FIELD_ERRORS: _("This contract has no order to pay.")})
    variant = payment_variant()
    existing = (
        milestone.payments.select_for_update()
        .filter(status__in=(*OPEN_STATUSES, PaymentStatus.PREAUTH))
        .order_by("-pk")
        .first()
    )
    if existing is not None:
        return existing
    payment = Payment.objects.create(
        variant=variant,
        purpose=PaymentPurpose.MILESTONE,
        order=contract.order,
        milestone=milestone,
        created_by=actor,
        currency="CNY",
        total=milestone.amount,
        description=_("%(code)s milestone %(n)d: %(title)s")
        % {"code": contract.code, "n": milestone.sequence, "title": milestone.title},
        billing_email=actor.email or "",
    )
    audit.record(
        actor=actor,
        action="payment.start",
        obj=contract,
        data={"payment": payment.pk, "milestone": milestone.sequence, "amount": str(value)},
    )
    return payment


def payment_settled(sender=None, instance: Payment | None = None, **kwargs) -> None:
    """django-payments ``status_changed`` receiver: runs in the transaction that changed the
    status, so the milestone or deposit moves with it or not at all."""
    payment = instance
    if payment is None or not payment.purpose:
        return
    if payment.purpose == PaymentPurpose.MILESTONE and payment.milestone_id:
        _settle_milestone(payment)
    elif payment.purpose == PaymentPurpose.DEPOSIT and payment.deposit_id:
        from procurement import deposits

        deposits.settle(payment)


def _settle_milestone(payment: Payment) -> None:
    milestone = Milestone.objects.only("contract_id").get(pk=payment.milestone_id)
    contract = _locked(milestone.contract_id)
    milestone = contract.milestones.select_for_update().get(pk=payment.milestone_id)
    data = {"payment": payment.pk, "milestone": milestone.sequence, "status": payment.status}
    if payment.status == PaymentStatus.CONFIRMED:
        if milestone.status == MilestoneStatus.PAID:
            # Paid twice (two tabs, two cards): the later one goes back, after commit.
            audit.record(actor=None, action="payment.duplicate", obj=contract, data=data)
            outbox.enqueue(
                REFUND_TOPIC,
                {"payment_id": payment.pk},
                dedupe_key=f"duplicate-refund:{payment.pk}",
            )
            return
        if milestone.status != MilestoneStatus.ACCEPTED:
            logger.error(
                "Payment %s confirmed for milestone %s in state %s",
                payment.pk,
                milestone.pk,
                milestone.status,
            )
            audit.record(actor=None, action="payment.unexpected", obj=contract, data=data)
            return
        milestone.paid_at = timezone.now()
        milestone.mark_paid(by=None, data=data)
        milestone.save()
        orders.order_record_payment(
            contract.order, amount=payment.captured_amount, reference=payment.transaction_id or ""
        )
        _notify_party(
            contract,
            SigningParty.AGENCY,
            verb="contract.paid",
            title=_("Payment received: %(code)s") % {"code": contract.code},
            body=_("Milestone %(n)d, %(amount)s yuan.")
            % {"n": milestone.sequence, "amount": f"{payment.captured_amount:,.2f}"},
        )
        complete_if_paid(contract)
    elif payment.status in (PaymentStatus.ERROR, PaymentStatus.REJECTED):
        audit.record(
            actor=None, action="payment.failed", obj=contract, reason=payment.message, data=data
        )
        _notify_party(
            contract,
            SigningParty.OWNER,
            verb="contract.payment_failed",
            title=_("Payment not completed: %(code)s") % {"code": contract.code},
            body=_("%(reason)s — the milestone stays unpaid; you can try again.")
            % {"reason": payment.message or _("the card was declined")},
        )
    elif payment.status == PaymentStatus.REFUNDED:
        audit.record(actor=None, action="payment.refunded", obj=contract, data=data)


@outbox.handler(REFUND_TOPIC)
def deliver_duplicate_refund(payload: dict, *, message=None) -> None:
    """Outbox handler: refunds a payment that paid an already-paid milestone in full."""
    payment = Payment.objects.get(pk=payload["payment_id"])
    if payment.status != PaymentStatus.CONFIRMED or payment.captured_amount <= 0:
        return  # refunded already (a redelivery)
    # Not recorded on the order: the duplicate was never debited on its payment source
    # (``_settle_milestone`` only audits it), so a refund there would show the milestone's
    # real payment as refunded. The audit trail has both (payment.duplicate, payment.refunded).
    payment.refund()


@transaction.atomic
def payment_refund(*, actor: User, payment: Payment, amount=None, reason: str) -> Payment:
    """退款 of a milestone payment (all or part), by a platform administrator, with a reason
    — e.g. after a termination agreed with the owner. The provider refunds; the order
    records it."""
    if not is_platform_admin(actor):
        raise PermissionDenied(_("Only a platform administrator can refund a payment."))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Give the reason for the refund.")})
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    if payment.status != PaymentStatus.CONFIRMED:
        raise ValidationError({NON_FIELD_ERRORS: _("Only a completed payment can be refunded.")})
    value = payment.captured_amount if amount in (None, "") else _amount(amount)
    if value is None or value <= 0 or value != value.quantize(CENT):
        raise ValidationError({"amount": _("Give the amount to refund in yuan.")})
    if value > payment.captured_amount:
        raise ValidationError(
            {
                "amount": _("At most %(amount)s yuan can be refunded.")
                % {"amount": f"{payment.captured_amount:,.2f}"}
            }
        )
    payment.refund(value)
    if payment.order_id:
        orders.order_record_refund(
            payment.order, amount=value, reference=payment.transaction_id or ""
        )
    obj = payment.milestone.contract if payment.milestone_id else payment.deposit
    audit.record(
        actor=actor,
        action="payment.refund",
        obj=obj,
        reason=reason,
        data={"payment": payment.pk, "amount": str(value)},
    )
    return payment


def sync_open_payments(*, older_than_seconds: int = 60, limit: int = 200) -> int:
    """The scheduler's poll: asks the provider about payments still open a while after they
    started (a lost webhook must not leave a milestone unpaid). Returns how many changed."""
    from payments.core import provider_factory

    cutoff = timezone.now() - datetime.timedelta(seconds=older_than_seconds)
    candidates = list(
        Payment.objects.filter(
            status__in=(PaymentStatus.WAITING, PaymentStatus.INPUT),
            variant="stripe",
            created__lt=cutoff,
        )
        .exclude(transaction_id="")
        .order_by("modified")[:limit]
    )
    changed = 0
    for payment in candidates:
        before = payment.status
        try:
            provider_factory(payment.variant, payment).sync_status(payment)
        except Exception:  # one provider error must not stop the rest
            logger.warning("Polling payment %s failed", payment.pk, exc_info=True)
            continue
        changed += payment.status != before
    return changed
