"""Paying contract milestones (procurement.settlement) through the Stripe PaymentIntent provider,
against a real Stripe-protocol server (localstripe over HTTP on 127.0.0.1, DESIGN §8).

The customer's side is played as Stripe.js plays it (a test card on the intent, confirm:
tests/payments_helpers.py ``pay``); Stripe's side by the events localstripe recorded, signed
and posted to the webhook. A payment's status — and so the milestone's — moves only when the
signed webhook arrives or the provider is polled (the payment page, ``sync_open_payments``),
never because the customer came back to the success URL."""

from __future__ import annotations

import datetime
import logging
import uuid
from decimal import Decimal

import pytest
import stripe
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone
from oscar.core.loading import get_model
from payments import PaymentStatus

from marketplace import outbox
from marketplace.models import AuditEvent, OutboxMessage, OutboxStatus, Payment, PaymentPurpose
from procurement import settlement
from procurement.models import ContractStatus, MilestoneStatus
from tests.marketplace.factories import UserFactory, platform_admin
from tests.payments_helpers import (
    DECLINED_CARD,
    agency_admin,
    clear_provider_cache,
    contract_to_pay,
    event,
    pay,
    post_event,
    site_provider,
    stripe_get,
    use_stripe,
)
from tests.procurement.factories import login, owner_member, text

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

PaymentEvent = get_model("order", "PaymentEvent")
Source = get_model("payment", "Source")


@pytest.fixture
def client(client):
    """Requests in English (the language cookie): a request activates its language in this
    thread, and the services called after it would otherwise answer in Chinese."""
    client.cookies["django_language"] = "en"
    return client


@pytest.fixture
def stripe_site(settings, localstripe_url):
    """The site's "stripe" payment variant on localstripe."""
    use_stripe(settings, localstripe_url)
    yield localstripe_url
    clear_provider_cache()


@pytest.fixture
def owner(world):
    return world.owner.admin_user


@pytest.fixture
def contract(world, stripe_site):
    """Signed, two milestones (4,000 + 5,000 yuan), the first accepted: payable."""
    return contract_to_pay(world, accept=1)


def milestone(contract, sequence: int = 1):
    return contract.milestones.get(sequence=sequence)


def start(owner, m):
    return settlement.milestone_payment_start(actor=owner, milestone=m, amount=m.amount)


def show_form(payment) -> Payment:
    """What the payment page does first: the provider makes (or reuses) the intent."""
    site_provider(payment).get_form(payment)
    payment.refresh_from_db()
    return payment


def paid_events(order) -> int:
    return PaymentEvent.objects.filter(order=order, event_type__code="paid").count()


def transitions(m, name: str) -> int:
    return AuditEvent.objects.filter(
        content_type__model="milestone", object_id=str(m.pk), action=name
    ).count()


def contract_actions(contract, action: str) -> list[AuditEvent]:
    return list(
        AuditEvent.objects.filter(
            content_type__model="contract", object_id=str(contract.pk), action=action
        )
    )


def webhook_pays(client, stripe_url, payment) -> None:
    """The card is charged at Stripe and its payment_intent.succeeded reaches the webhook."""
    pay(site_provider(payment), payment)
    response = post_event(
        client, event(stripe_url, "payment_intent.succeeded", payment.transaction_id)
    )
    assert response.status_code == 200
    assert response.json()["outcome"] == "applied"


# --- starting a payment -----------------------------------------------------------------------


def test_the_amount_must_be_the_milestones_or_nothing_is_made(contract, owner):
    m = milestone(contract)
    for amount in ("3999.99", "4000.01", "", "four thousand", "NaN", "4000.001"):
        with pytest.raises(ValidationError) as refused:
            settlement.milestone_payment_start(actor=owner, milestone=m, amount=amount)
        [error] = refused.value.error_dict["amount"]
        assert error.code == "amount_mismatch"
        assert "4,000.00 yuan" in error.message
    assert Payment.objects.count() == 0

    payment = settlement.milestone_payment_start(actor=owner, milestone=m, amount="4,000.00")
    assert (payment.purpose, payment.milestone, payment.order) == (
        PaymentPurpose.MILESTONE,
        m,
        contract.order,
    )
    assert (payment.total, payment.currency, payment.status) == (
        Decimal("4000.00"),
        "CNY",
        PaymentStatus.WAITING,
    )
    # A double click (or a second tab) resumes the unfinished payment: one charge at most.
    assert start(owner, m).pk == payment.pk
    assert Payment.objects.count() == 1
    [audit] = contract_actions(contract, "payment.start")
    assert audit.data["payment"] == payment.pk


def test_only_the_owner_pays_only_an_accepted_milestone_and_only_once(
    contract, owner, client, stripe_site
):
    pending = milestone(contract, 2)
    with pytest.raises(ValidationError, match="once its result has been accepted") as refused:
        start(owner, pending)
    assert refused.value.error_dict["__all__"][0].code == "not_accepted"
    with pytest.raises(PermissionDenied):
        start(agency_admin(contract), milestone(contract))
    assert Payment.objects.count() == 0

    payment = show_form(start(owner, milestone(contract)))
    webhook_pays(client, stripe_site, payment)
    with pytest.raises(ValidationError, match="already been paid") as refused:
        start(owner, milestone(contract))
    assert refused.value.error_dict["__all__"][0].code == "already_paid"
    assert Payment.objects.count() == 1


# --- the happy path ---------------------------------------------------------------------------


def test_paid_only_when_the_signed_webhook_says_so(contract, owner, client, stripe_site):
    m = milestone(contract)
    login(client, owner)
    response = client.post(
        reverse("procurement:milestone_pay", args=[contract.code, m.pk]), {"amount": "4000.00"}
    )
    payment = Payment.objects.get(milestone=m)
    assert response.status_code == 302
    assert response["Location"] == reverse("procurement:payment", args=[payment.token])

    page = client.get(response["Location"])  # renders Stripe.js with the intent's secret
    assert page.status_code == 200
    payment.refresh_from_db()
    assert payment.transaction_id.startswith("pi_")
    assert payment.attrs.client_secret in text(page)
    assert f"{stripe_site}/js.stripe.com/v3/" in text(page)

    intent = pay(site_provider(payment), payment)  # the customer's card, as Stripe.js sends it
    assert intent["status"] == "succeeded"
    # Stripe has the money, but nobody told the site yet: nothing is paid.
    payment.refresh_from_db()
    m.refresh_from_db()
    assert payment.status == PaymentStatus.WAITING
    assert m.status == MilestoneStatus.ACCEPTED
    assert paid_events(contract.order) == 0

    succeeded = event(stripe_site, "payment_intent.succeeded", payment.transaction_id)
    response = post_event(client, succeeded)
    assert (response.status_code, response.json()["outcome"]) == (200, "applied")
    payment.refresh_from_db()
    m.refresh_from_db()
    assert payment.status == PaymentStatus.CONFIRMED
    assert payment.captured_amount == Decimal("4000.00")
    assert m.status == MilestoneStatus.PAID
    assert m.paid_at is not None
    assert transitions(m, "mark_paid") == 1

    # Oscar's order records the money: a payment source debited, a "Paid" event.
    order = contract.order
    source = Source.objects.get(order=order)
    assert source.amount_debited == Decimal("4000.00")
    assert source.amount_refunded == Decimal("0.00")
    [paid] = PaymentEvent.objects.filter(order=order, event_type__code="paid")
    assert paid.amount == Decimal("4000.00")
    assert paid.event_type.name == "Paid"
    assert paid.reference == payment.transaction_id
    contract.refresh_from_db()
    order.refresh_from_db()
    assert contract.status == ContractStatus.IN_PROGRESS  # the second milestone is still due
    assert order.status == "In progress"

    page = client.get(reverse("procurement:payment", args=[payment.token]))
    assert 'data-status="confirmed"' in text(page)
    assert "The provider confirmed the payment" in text(page)
    assert "stripe-payment-form" not in text(page)  # no second charge offered


def test_coming_back_to_the_success_url_alone_pays_nothing(contract, owner, client, stripe_site):
    m = milestone(contract)
    payment = start(owner, m)
    login(client, owner)
    url = reverse("procurement:payment", args=[payment.token])
    client.get(url)  # the intent is made
    payment.refresh_from_db()
    # What Stripe.js appends on its redirect — forgeable, so never believed: the page asks
    # the provider, which says the intent still waits for a card.
    back = client.get(f"{url}?redirect_status=succeeded&payment_intent={payment.transaction_id}")
    assert back.status_code == 200
    assert 'data-status="waiting"' in text(back)
    payment.refresh_from_db()
    m.refresh_from_db()
    assert payment.status == PaymentStatus.WAITING
    assert m.status == MilestoneStatus.ACCEPTED
    assert paid_events(contract.order) == 0

    # Once the provider does say "succeeded", the page's own poll records it (allowed: the
    # answer comes from Stripe's API, not from the browser).
    pay(site_provider(payment), payment)
    back = client.get(url)
    assert 'data-status="confirmed"' in text(back)
    m.refresh_from_db()
    assert m.status == MilestoneStatus.PAID
    assert paid_events(contract.order) == 1


def test_the_last_milestone_paid_completes_the_contract_and_its_order(
    world, owner, client, stripe_site
):
    contract = contract_to_pay(world)  # both milestones accepted
    assert contract.status == ContractStatus.ACCEPTED
    first = show_form(start(owner, milestone(contract, 1)))
    webhook_pays(client, stripe_site, first)
    contract.refresh_from_db()
    assert contract.status == ContractStatus.ACCEPTED  # one milestone still unpaid

    second = show_form(start(owner, milestone(contract, 2)))
    pay(site_provider(second), second)
    site_provider(second).sync_status(second)  # this time by polling
    contract.refresh_from_db()
    contract.order.refresh_from_db()
    assert contract.status == ContractStatus.COMPLETED
    assert contract.completed_at is not None
    assert contract.order.status == "Completed"
    source = Source.objects.get(order=contract.order)
    assert source.amount_debited == Decimal("9000.00")
    assert sorted(
        PaymentEvent.objects.filter(order=contract.order, event_type__code="paid").values_list(
            "amount", flat=True
        )
    ) == [Decimal("4000.00"), Decimal("5000.00")]
    assert len(contract_actions(contract, "complete")) == 1


# --- a declined card --------------------------------------------------------------------------


def test_a_declined_card_keeps_the_milestone_unpaid_shows_why_and_can_be_retried(
    contract, owner, client, stripe_site
):
    m = milestone(contract)
    payment = show_form(start(owner, m))
    first_intent = payment.transaction_id
    with pytest.raises(stripe.CardError):
        pay(site_provider(payment), payment, card=DECLINED_CARD)
    failed = event(stripe_site, "payment_intent.payment_failed", first_intent)
    assert post_event(client, failed).json()["outcome"] == "applied"

    payment.refresh_from_db()
    m.refresh_from_db()
    assert payment.status == PaymentStatus.ERROR
    assert "declined" in payment.message
    assert m.status == MilestoneStatus.ACCEPTED
    assert paid_events(contract.order) == 0
    [audit] = contract_actions(contract, "payment.failed")
    assert audit.reason == payment.message

    # The owner comes back: the page says why, and offers the card form again.
    login(client, owner)
    again = client.post(
        reverse("procurement:milestone_pay", args=[contract.code, m.pk]), {"amount": "4000"}
    )
    assert again["Location"] == reverse("procurement:payment", args=[payment.token])  # reused
    page = client.get(again["Location"])
    assert page.status_code == 200
    assert 'id="payment-declined"' in text(page)
    assert payment.message in text(page)
    assert "stripe-payment-form" in text(page)

    payment.refresh_from_db()
    assert Payment.objects.filter(milestone=m).count() == 1
    assert payment.transaction_id != first_intent  # the provider made a new intent
    assert payment.status == PaymentStatus.WAITING
    assert stripe_get(stripe_site, f"/v1/payment_intents/{first_intent}")["status"] == "canceled"
    webhook_pays(client, stripe_site, payment)
    payment.refresh_from_db()
    m.refresh_from_db()
    assert payment.status == PaymentStatus.CONFIRMED
    assert m.status == MilestoneStatus.PAID
    assert paid_events(contract.order) == 1


# --- the webhook ------------------------------------------------------------------------------


def test_a_badly_signed_event_is_refused_logged_and_changes_nothing(
    contract, owner, client, stripe_site, caplog
):
    m = milestone(contract)
    payment = show_form(start(owner, m))
    pay(site_provider(payment), payment)
    succeeded = event(stripe_site, "payment_intent.succeeded", payment.transaction_id)
    caplog.set_level(logging.WARNING, logger="marketplace.stripe_provider")

    assert post_event(client, succeeded, secret="whsec_not_ours").status_code == 400
    stale = int(timezone.now().timestamp()) - 3600
    assert post_event(client, succeeded, timestamp=stale).status_code == 400
    assert "Rejected Stripe webhook" in caplog.text
    payment.refresh_from_db()
    m.refresh_from_db()
    assert payment.status == PaymentStatus.WAITING
    assert m.status == MilestoneStatus.ACCEPTED
    assert paid_events(contract.order) == 0


def test_a_replayed_succeeded_event_pays_once(contract, owner, client, stripe_site):
    m = milestone(contract)
    payment = show_form(start(owner, m))
    pay(site_provider(payment), payment)
    succeeded = event(stripe_site, "payment_intent.succeeded", payment.transaction_id)
    assert post_event(client, succeeded).json()["outcome"] == "applied"
    for _ in range(2):  # Stripe retries, or someone replays it
        assert post_event(client, succeeded).json()["outcome"] == "replayed"
    # The same facts under another event id: nothing left to change.
    assert (
        post_event(client, {**succeeded, "id": f"evt_{uuid.uuid4().hex}"}).json()["outcome"]
        == "unchanged"
    )
    m.refresh_from_db()
    assert m.status == MilestoneStatus.PAID
    assert paid_events(contract.order) == 1
    assert transitions(m, "mark_paid") == 1
    assert Source.objects.get(order=contract.order).amount_debited == Decimal("4000.00")


def test_a_failure_arriving_after_the_success_changes_nothing(contract, owner, client, stripe_site):
    m = milestone(contract)
    payment = show_form(start(owner, m))
    declined_intent = payment.transaction_id
    with pytest.raises(stripe.CardError):
        pay(site_provider(payment), payment, card=DECLINED_CARD)
    # The retry, as the payment page does it: poll (the decline is recorded), then the form
    # (a new intent). The decline's own webhook is still on its way.
    site_provider(payment).sync_status(payment)
    assert payment.status == PaymentStatus.ERROR
    show_form(payment)
    assert payment.transaction_id != declined_intent
    pay(site_provider(payment), payment)
    succeeded = event(stripe_site, "payment_intent.succeeded", payment.transaction_id)
    failed = event(stripe_site, "payment_intent.payment_failed", declined_intent)

    assert post_event(client, succeeded).json()["outcome"] == "applied"
    assert post_event(client, failed).json()["outcome"] == "unchanged"  # the earlier attempt
    # Even a failure naming the very intent that succeeded cannot move it backwards.
    contrary = {
        "id": f"evt_{uuid.uuid4().hex}",
        "type": "payment_intent.payment_failed",
        "data": {
            "object": {
                **succeeded["data"]["object"],
                "status": "requires_payment_method",
                "last_payment_error": {"message": "Your card was declined."},
            }
        },
    }
    assert post_event(client, contrary).json()["outcome"] == "unchanged"
    payment.refresh_from_db()
    m.refresh_from_db()
    assert payment.status == PaymentStatus.CONFIRMED
    assert payment.message == ""
    assert m.status == MilestoneStatus.PAID
    assert paid_events(contract.order) == 1
    assert len(contract_actions(contract, "payment.failed")) == 1  # the poll's, none since


def test_an_earlier_attempts_intent_reported_paid_is_refunded_not_counted(
    contract, owner, client, stripe_site
):
    """A success of an intent the payment has moved on from (an old tab paying a spent
    attempt) must not pay the milestone, nor be kept: audited and queued for a refund."""
    from marketplace.models import OutboxMessage
    from marketplace.stripe_provider import STRAY_REFUND_TOPIC

    m = milestone(contract)
    payment = show_form(start(owner, m))
    old_intent = payment.transaction_id
    with pytest.raises(stripe.CardError):
        pay(site_provider(payment), payment, card=DECLINED_CARD)
    site_provider(payment).sync_status(payment)
    show_form(payment)  # the retry: a new intent
    assert payment.transaction_id != old_intent
    stray = {
        "id": f"evt_{uuid.uuid4().hex}",
        "type": "payment_intent.succeeded",
        "data": {
            "object": {
                "id": old_intent,
                "object": "payment_intent",
                "amount": 400000,
                "amount_received": 400000,
                "status": "succeeded",
                "metadata": {"payment_id": str(payment.pk), "token": payment.token},
            }
        },
    }
    assert post_event(client, stray).json()["outcome"] == "unchanged"
    payment.refresh_from_db()
    m.refresh_from_db()
    assert m.status == MilestoneStatus.ACCEPTED  # not paid by the stray success
    assert payment.status != PaymentStatus.CONFIRMED
    assert AuditEvent.objects.filter(action="payment.stray_intent").count() == 1
    queued = OutboxMessage.objects.filter(topic=STRAY_REFUND_TOPIC)
    assert [q.payload["intent_id"] for q in queued] == [old_intent]
    post_event(client, {**stray, "id": f"evt_{uuid.uuid4().hex}"})
    assert queued.count() == 1  # one refund per intent, however often it is reported


def test_a_milestone_paid_twice_from_two_tabs_is_refunded_once_after_commit(
    contract, owner, client, stripe_site
):
    m = milestone(contract)
    first = show_form(start(owner, m))
    # The service resumes an open payment, so a second one for the same milestone cannot come
    # from it; it stands for any second charge (another tab holding an older intent, a payment
    # made before a reset). The settlement must cope whatever its origin.
    second = show_form(
        Payment.objects.create(
            variant="stripe",
            purpose=PaymentPurpose.MILESTONE,
            order=contract.order,
            milestone=m,
            created_by=owner,
            currency="CNY",
            total=m.amount,
            description="second tab",
        )
    )
    assert first.transaction_id != second.transaction_id
    webhook_pays(client, stripe_site, first)
    webhook_pays(client, stripe_site, second)

    second.refresh_from_db()
    m.refresh_from_db()
    assert m.status == MilestoneStatus.PAID
    assert transitions(m, "mark_paid") == 1
    assert paid_events(contract.order) == 1
    [duplicate] = contract_actions(contract, "payment.duplicate")
    assert duplicate.data["payment"] == second.pk
    # The refund is a side effect: queued in the transaction, made after commit.
    assert second.status == PaymentStatus.CONFIRMED
    [message] = OutboxMessage.objects.filter(topic=settlement.REFUND_TOPIC)
    assert message.payload == {"payment_id": second.pk}
    assert outbox.deliver(message.pk)
    assert not outbox.deliver(message.pk)  # a redelivery does nothing
    message.refresh_from_db()
    assert message.status == OutboxStatus.DELIVERED

    second.refresh_from_db()
    assert second.status == PaymentStatus.REFUNDED
    assert second.captured_amount == Decimal("0.00")
    intent = stripe_get(stripe_site, f"/v1/payment_intents/{second.transaction_id}")
    charge = stripe_get(stripe_site, f"/v1/charges/{intent['latest_charge']['id']}")
    assert charge["amount_refunded"] == 400000
    [refunded] = contract_actions(contract, "payment.refunded")
    assert refunded.data["payment"] == second.pk
    # The order keeps what was paid once: the duplicate never reached its payment source.
    source = Source.objects.get(order=contract.order)
    assert (source.amount_debited, source.amount_refunded) == (Decimal("4000.00"), Decimal(0))
    first.refresh_from_db()
    assert first.status == PaymentStatus.CONFIRMED


# --- who may pay ------------------------------------------------------------------------------


def test_the_payment_page_and_paying_are_the_owners_alone(contract, owner, client, world):
    m = milestone(contract)
    payment = start(owner, m)
    url = reverse("procurement:payment", args=[payment.token])
    agency = agency_admin(contract)
    other_agency = next(a.admin_user for a in world.agencies if a.admin_user != agency)
    for outsider in (agency, other_agency, UserFactory()):
        login(client, outsider)
        assert client.get(url).status_code == 404
    login(client, owner_member(world.owner))  # any member of the owner unit
    assert client.get(url).status_code == 200
    login(client, platform_admin())  # sees it, to refund it
    assert client.get(url).status_code == 200

    login(client, agency)
    response = client.post(
        reverse("procurement:milestone_pay", args=[contract.code, m.pk]), {"amount": "4000.00"}
    )
    assert response.status_code == 404
    assert Payment.objects.count() == 1
    client.logout()
    assert client.get(url).status_code == 302  # to the login page


# --- refunds ----------------------------------------------------------------------------------


def test_refunds_by_a_platform_administrator_in_parts(contract, owner, client, stripe_site):
    m = milestone(contract)
    payment = show_form(start(owner, m))
    webhook_pays(client, stripe_site, payment)
    admin = platform_admin()

    with pytest.raises(PermissionDenied):
        settlement.payment_refund(actor=owner, payment=payment, amount="100", reason="协商")
    with pytest.raises(ValidationError, match="At most 4,000.00 yuan"):
        settlement.payment_refund(actor=admin, payment=payment, amount="4000.01", reason="协商")
    with pytest.raises(ValidationError, match="reason"):
        settlement.payment_refund(actor=admin, payment=payment, amount="100", reason=" ")
    source = Source.objects.get(order=contract.order)
    assert source.amount_refunded == Decimal(0)
    payment.refresh_from_db()
    assert payment.captured_amount == Decimal("4000.00")

    settlement.payment_refund(
        actor=admin, payment=payment, amount="1500.00", reason="终止协议：退还部分款项"
    )
    payment.refresh_from_db()
    source.refresh_from_db()
    assert payment.status == PaymentStatus.CONFIRMED
    assert payment.captured_amount == Decimal("2500.00")
    assert source.amount_refunded == Decimal("1500.00")
    with pytest.raises(ValidationError, match="At most 2,500.00 yuan"):
        settlement.payment_refund(actor=admin, payment=payment, amount="2500.01", reason="x")

    settlement.payment_refund(actor=admin, payment=payment, reason="终止协议：退还余款")  # the rest
    payment.refresh_from_db()
    source.refresh_from_db()
    assert payment.status == PaymentStatus.REFUNDED
    assert payment.captured_amount == Decimal("0.00")
    assert source.amount_refunded == Decimal("4000.00")
    assert source.amount_debited == Decimal("4000.00")
    assert (
        PaymentEvent.objects.filter(order=contract.order, event_type__code="refunded").count() == 2
    )
    intent = stripe_get(stripe_site, f"/v1/payment_intents/{payment.transaction_id}")
    charge = stripe_get(stripe_site, f"/v1/charges/{intent['latest_charge']['id']}")
    assert charge["amount_refunded"] == 400000
    refunds = contract_actions(contract, "payment.refund")
    assert sorted(e.data["amount"] for e in refunds) == ["1500.00", "2500.00"]
    assert all(e.actor == admin for e in refunds)
    with pytest.raises(ValidationError, match="Only a completed payment"):
        settlement.payment_refund(actor=admin, payment=payment, amount="1", reason="again")


# --- the scheduler's poll ---------------------------------------------------------------------


def test_the_poll_pays_a_milestone_whose_webhook_never_came(contract, owner, stripe_site):
    m = milestone(contract)
    payment = show_form(start(owner, m))
    pay(site_provider(payment), payment)  # succeeded at Stripe; the webhook is lost

    assert settlement.sync_open_payments() == 0  # too recent: the webhook may still come
    Payment.objects.filter(pk=payment.pk).update(
        created=timezone.now() - datetime.timedelta(minutes=5)
    )
    assert settlement.sync_open_payments() == 1
    assert settlement.sync_open_payments() == 0  # nothing open any more
    payment.refresh_from_db()
    m.refresh_from_db()
    assert payment.status == PaymentStatus.CONFIRMED
    assert m.status == MilestoneStatus.PAID
    assert paid_events(contract.order) == 1
