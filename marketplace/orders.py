"""Oscar orders as the commercial record of contracts (DESIGN §3).

A direct purchase makes its order through Oscar's own checkout; an award has no basket, so
its order is written here with the same models: one line for the agency's partner, the total
the contract price. The order's status mirrors the contract's stage (``OSCAR_ORDER_STATUS_
PIPELINE``); money that moves through the provider is recorded on it as an Oscar payment
``Source`` (allocated / debited / refunded) and ``PaymentEvent`` rows, so the order dashboard
shows what was paid. Callers hold the contract's lock; nothing here checks permissions."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.contrib.sites.models import Site
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from oscar.core.loading import get_model

Order = get_model("order", "Order")
Line = get_model("order", "Line")
PaymentEventType = get_model("order", "PaymentEventType")
PaymentEvent = get_model("order", "PaymentEvent")
Source = get_model("payment", "Source")
SourceType = get_model("payment", "SourceType")

AWAITING_SIGNATURE = "Awaiting signature"
IN_PROGRESS = "In progress"
COMPLETED = "Completed"
CANCELLED = "Cancelled"

SOURCE_TYPE = "Stripe"

# The pipeline's statuses are stored in English (Oscar's dashboard shows them as they are);
# our pages show these.
STATUS_LABELS = {
    AWAITING_SIGNATURE: _("awaiting signature"),
    IN_PROGRESS: _("in progress"),
    COMPLETED: _("completed"),
    CANCELLED: _("cancelled"),
}


def status_label(order) -> str:
    return str(STATUS_LABELS.get(order.status, order.status))


def order_for_award(*, contract, partner, title: str, reference: str) -> Order:
    """The order of an awarded contract: number = the contract number, no user (the owner
    organisation, not one person, is the buyer; its members reach it through the contract)."""
    now = timezone.now()
    order = Order.objects.create(
        number=contract.code,
        site=Site.objects.get_current(),
        currency=settings.OSCAR_DEFAULT_CURRENCY,
        total_incl_tax=contract.price,
        total_excl_tax=contract.price,
        shipping_incl_tax=Decimal("0.00"),
        shipping_excl_tax=Decimal("0.00"),
        shipping_method="",
        shipping_code="no-shipping-required",
        status=AWAITING_SIGNATURE,
        date_placed=now,
    )
    Line.objects.create(
        order=order,
        partner=partner,
        partner_name=partner.name if partner else "",
        partner_sku=reference[:128],
        title=title[:255],
        quantity=1,
        line_price_incl_tax=contract.price,
        line_price_excl_tax=contract.price,
        line_price_before_discounts_incl_tax=contract.price,
        line_price_before_discounts_excl_tax=contract.price,
        unit_price_incl_tax=contract.price,
        unit_price_excl_tax=contract.price,
        status=AWAITING_SIGNATURE,
        num_allocated=0,
    )
    return order


def order_reprice(order: Order, price: Decimal) -> None:
    """A draft contract's price changed: the order's single line and totals follow."""
    Order.objects.filter(pk=order.pk).update(total_incl_tax=price, total_excl_tax=price)
    order.lines.update(
        line_price_incl_tax=price,
        line_price_excl_tax=price,
        line_price_before_discounts_incl_tax=price,
        line_price_before_discounts_excl_tax=price,
        unit_price_incl_tax=price,
        unit_price_excl_tax=price,
    )
    order.total_incl_tax = order.total_excl_tax = price


def order_set_status(order: Order, status: str) -> None:
    """Moves the order (and its lines) along the pipeline; a no-op when already there, so a
    redelivered step changes nothing twice."""
    if order.status == status:
        return
    order.set_status(status)
    for line in order.lines.all():
        if line.status != status and status in line.available_statuses():
            line.set_status(status)


def _source(order: Order) -> Source:
    source_type, _created = SourceType.objects.get_or_create(
        code=SOURCE_TYPE.lower(), defaults={"name": SOURCE_TYPE}
    )
    source, _created = Source.objects.get_or_create(
        order=order,
        source_type=source_type,
        defaults={"currency": order.currency, "amount_allocated": order.total_incl_tax},
    )
    return source


def order_record_payment(order: Order, *, amount: Decimal, reference: str) -> None:
    """A milestone paid: debited on the order's payment source, with a "Paid" event."""
    source = _source(order)
    source.debit(amount, reference=reference)
    _event(order, "Paid", amount, reference)


def order_record_refund(order: Order, *, amount: Decimal, reference: str) -> None:
    source = _source(order)
    source.refund(amount, reference=reference)
    _event(order, "Refunded", amount, reference)


def _event(order: Order, name: str, amount: Decimal, reference: str) -> None:
    event_type, _created = PaymentEventType.objects.get_or_create(
        code=name.lower(), defaults={"name": name}
    )
    PaymentEvent.objects.create(
        order=order, amount=amount, reference=reference[:128], event_type=event_type
    )
