"""保证金: deposits registrants pay in for an announcement that asks for one
(``Announcement.deposit_amount``), and their automatic refund.

The refund is triggered by the outcome, inside the transaction that decides it: after the
draw for agencies not selected (nor alternates), and at the end of the announcement (awarded,
failed or cancelled) for everyone left. A triggered deposit is due back within one working
day (``refund_due_by``, Chinese calendar) — the published provincial figure went from 7 days to
1 — and the ``procurement.deposit_refunds`` job refunds it through the provider, retrying a
failure on the next tick. The deposit becomes "refunded" only when the provider's answer
says so (the payment's status), like every other payment.
"""

from __future__ import annotations

import logging

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from payments import PaymentError, PaymentStatus

from marketplace import audit, workdays
from marketplace.models import Payment, PaymentPurpose, User
from marketplace.permissions import require_perm
from procurement.models import (
    Announcement,
    AnnouncementStatus,
    Deposit,
    DepositStatus,
    Registration,
    RegistrationStatus,
)

logger = logging.getLogger(__name__)

# Registrations still in the running: their deposits stay until the end.
IN_THE_RUNNING = (
    RegistrationStatus.SUBMITTED,
    RegistrationStatus.ELIGIBLE,
    RegistrationStatus.SELECTED,
    RegistrationStatus.ALTERNATE,
    RegistrationStatus.CONFIRMED,
)
OPEN_FOR_DEPOSITS = (AnnouncementStatus.PUBLISHED,)


@transaction.atomic
def deposit_payment_start(*, actor: User, registration: Registration) -> Payment:
    """The registered agency pays the announcement's deposit (while registration is open).
    Reuses an unfinished payment; refuses a second deposit."""
    from procurement.services import _lock
    from procurement.settlement import OPEN_STATUSES, payment_variant

    announcement = _lock(registration.announcement)
    registration = Registration.objects.select_related("agency__organisation").get(
        pk=registration.pk
    )
    deposit, _created = Deposit.objects.select_for_update().get_or_create(
        announcement=announcement,
        agency=registration.agency,
        defaults={"amount": announcement.deposit_amount},
    )
    require_perm(actor, "pay", deposit)
    if announcement.deposit_amount <= 0:
        raise ValidationError({NON_FIELD_ERRORS: _("This announcement asks for no deposit.")})
    if deposit.status != DepositStatus.PENDING:
        raise ValidationError(
            {
                NON_FIELD_ERRORS: ValidationError(
                    _("The deposit has already been paid."), code="already_paid"
                )
            }
        )
    if announcement.status not in OPEN_FOR_DEPOSITS:
        raise ValidationError(
            {NON_FIELD_ERRORS: _("Registration has closed; the deposit can no longer be paid.")}
        )
    variant = payment_variant()
    existing = (
        deposit.payments.filter(status__in=(*OPEN_STATUSES, PaymentStatus.PREAUTH))
        .order_by("-pk")
        .first()
    )
    if existing is not None:
        return existing
    payment = Payment.objects.create(
        variant=variant,
        purpose=PaymentPurpose.DEPOSIT,
        deposit=deposit,
        created_by=actor,
        currency="CNY",
        total=deposit.amount,
        description=_("Deposit for %(code)s") % {"code": announcement.code},
        billing_email=actor.email or "",
    )
    audit.record(
        actor=actor,
        action="deposit.payment_start",
        obj=deposit,
        data={"payment": payment.pk, "amount": str(deposit.amount)},
    )
    return payment


def check_paid(announcement: Announcement, outcomes: dict) -> None:
    """At closing, for an announcement that asks for a deposit: adds the "deposit" check to
    each registrant's eligibility outcome (met only when its deposit is paid). One query."""
    from procurement.eligibility import Check

    paid = set(
        Deposit.objects.filter(
            announcement=announcement,
            agency_id__in=list(outcomes),
            status__in=(DepositStatus.PAID, DepositStatus.REFUND_DUE, DepositStatus.REFUNDED),
        ).values_list("agency_id", flat=True)
    )
    amount = f"{announcement.deposit_amount:,.2f}"
    for agency_id, outcome in outcomes.items():
        if agency_id in paid:
            check = Check(
                "deposit", True, _("Deposit of %(amount)s yuan paid.") % {"amount": amount}
            )
        else:
            check = Check(
                "deposit",
                False,
                _("The deposit of %(amount)s yuan was not paid before registration closed.")
                % {"amount": amount},
            )
        outcome.checks.append(check)


def settle(payment: Payment) -> None:
    """What the payment's new status means for its deposit (called by
    ``procurement.settlement.payment_settled`` under the payment's lock)."""
    deposit = (
        Deposit.objects.select_for_update()
        .select_related("announcement")
        .get(pk=payment.deposit_id)
    )
    data = {"payment": payment.pk, "status": payment.status}
    if payment.status == PaymentStatus.CONFIRMED and deposit.status == DepositStatus.PENDING:
        deposit.paid_at = timezone.now()
        deposit.mark_paid(by=None, data=data)
        deposit.save()
        if deposit.announcement.status not in OPEN_FOR_DEPOSITS:
            # Paid after the outcome was decided (a late webhook): straight back.
            _trigger(deposit, _("The announcement had already moved on."), timezone.now())
    elif payment.status == PaymentStatus.REFUNDED and deposit.status == DepositStatus.REFUND_DUE:
        deposit.refunded_at = timezone.now()
        deposit.refund_error = ""
        deposit.mark_refunded(by=None, data=data)
        deposit.save()
    elif payment.status in (PaymentStatus.ERROR, PaymentStatus.REJECTED):
        audit.record(
            actor=None,
            action="deposit.payment_failed",
            obj=deposit,
            reason=payment.message,
            data=data,
        )


def _trigger(deposit: Deposit, reason: str, now) -> None:
    deposit.refund_triggered_at = now
    deposit.refund_due_by = workdays.deadline_at(now, 1)
    deposit.trigger_refund(by=None, reason=reason, data={"due_by": deposit.refund_due_by})
    deposit.save()


def release(announcement: Announcement, *, reason: str, keep_running: bool, now=None) -> int:
    """Triggers the refund of the announcement's paid deposits — of agencies out of the
    running only when ``keep_running`` (after the draw), of all otherwise (the end). Called
    by the procurement services with the announcement locked; returns how many."""
    now = now or timezone.now()
    paid = Deposit.objects.select_for_update().filter(
        announcement=announcement, status=DepositStatus.PAID
    )
    if keep_running:
        running = Registration.objects.filter(
            announcement=announcement, status__in=IN_THE_RUNNING
        ).values("agency_id")
        paid = paid.exclude(agency_id__in=running)
    count = 0
    for deposit in paid:
        _trigger(deposit, reason, now)
        count += 1
    return count


def refund_due(*, now=None, limit: int = 100) -> int:
    """The scheduler: refunds triggered deposits through the provider, each in its own
    transaction (a failure is recorded on the deposit and retried next tick)."""
    due = list(
        Deposit.objects.filter(status=DepositStatus.REFUND_DUE)
        .order_by("refund_due_by")
        .values_list("pk", flat=True)[:limit]
    )
    refunded = 0
    for pk in due:
        with transaction.atomic():
            deposit = Deposit.objects.select_for_update(skip_locked=True).filter(pk=pk).first()
            if deposit is None or deposit.status != DepositStatus.REFUND_DUE:
                continue
            payment = (
                deposit.payments.select_for_update()
                .filter(status=PaymentStatus.CONFIRMED)
                .order_by("-pk")
                .first()
            )
            if payment is None:
                deposit.refund_error = "no confirmed payment to refund"
                deposit.save(update_fields=["refund_error"])
                continue
            try:
                with transaction.atomic():
                    payment.refund()  # REFUNDED → settle() marks the deposit refunded
            except (PaymentError, ValueError) as exc:  # the provider said no: retry later
                logger.warning("Deposit %s refund failed: %s", pk, exc)
                deposit.refund_error = str(exc)[:300]
                deposit.save(update_fields=["refund_error"])
                continue
            refunded += 1
    return refunded


def overdue_refunds(now=None) -> int:
    """Deposits past their one-working-day refund deadline (for the regulators' figures)."""
    now = now or timezone.now()
    return Deposit.objects.filter(status=DepositStatus.REFUND_DUE, refund_due_by__lt=now).count()


__all__ = [
    "deposit_payment_start",
    "overdue_refunds",
    "refund_due",
    "release",
    "settle",
]
