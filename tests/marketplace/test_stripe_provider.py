"""The Stripe PaymentIntent provider against a real Stripe-protocol server (localstripe over
HTTP on 127.0.0.1, DESIGN §8).

The card is confirmed through the API as Stripe.js would (attach a test payment method to the
intent, confirm it). localstripe cannot deliver webhooks to the Django test client, so webhook
tests take the events localstripe itself recorded (GET /v1/events) — or, for charge.refunded,
which localstripe does not emit, an event around the real charge object — and sign them with
Stripe's scheme (HMAC-SHA256 of "t.payload"), which is what the view verifies. These helpers
are shared with the contract-payment and deposit tests (tests/payments_helpers.py)."""

import json
import time
import uuid
from decimal import Decimal

import pytest
import stripe
from django.urls import reverse
from payments import PaymentError, PaymentStatus

from marketplace.models import Payment
from marketplace.stripe_provider import yuan_to_fen
from tests.payments_helpers import SECRET_KEY, WEBHOOK_SECRET, make_provider
from tests.payments_helpers import event as _event
from tests.payments_helpers import pay as _pay
from tests.payments_helpers import post_event as _post_event
from tests.payments_helpers import refunded_event as _refunded_event
from tests.payments_helpers import stripe_get as _get

pytestmark = pytest.mark.django_db


@pytest.fixture
def provider(localstripe_url):
    return make_provider(localstripe_url)


@pytest.fixture(autouse=True)
def _webhook_secret(settings):
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET


def _payment(total="123.45") -> Payment:
    return Payment.objects.create(variant="stripe", currency="CNY", total=Decimal(total))


# --- amounts ----------------------------------------------------------------------------------


def test_yuan_to_fen_is_exact_and_refuses_fractions_of_a_fen():
    assert yuan_to_fen(Decimal("123.45")) == 12345
    assert yuan_to_fen(Decimal("0.10")) == 10
    with pytest.raises(PaymentError):
        yuan_to_fen(Decimal("1.005"))


# --- intents ----------------------------------------------------------------------------------


def test_get_form_creates_one_intent_in_fen_and_reuses_it(provider, localstripe_url):
    payment = _payment("123.45")
    form = provider.get_form(payment)
    payment.refresh_from_db()
    intent = _get(localstripe_url, f"/v1/payment_intents/{payment.transaction_id}")
    assert intent["amount"] == 12345
    assert intent["currency"] == "cny"
    assert intent["metadata"] == {"payment_id": str(payment.pk), "token": payment.token}
    assert payment.attrs.client_secret == intent["client_secret"]
    html = str(form)
    assert f"{localstripe_url}/js.stripe.com/v3/" in html
    assert intent["client_secret"] in html
    assert payment.status == PaymentStatus.WAITING

    provider.get_form(Payment.objects.get(pk=payment.pk))  # a reload of the page
    payment.refresh_from_db()
    assert payment.transaction_id == intent["id"]
    assert payment.attrs.stripe_intents == [intent["id"]]


def test_a_non_integer_fen_amount_or_another_currency_is_refused(provider):
    with pytest.raises(PaymentError):
        provider.get_form(_payment("10.001"))
    other = Payment.objects.create(variant="stripe", currency="USD", total=Decimal("10.00"))
    with pytest.raises(PaymentError):
        provider.get_form(other)
    assert not Payment.objects.get(pk=other.pk).transaction_id


def test_the_way_back_does_not_mark_paid_before_stripe_says_so(provider, rf):
    payment = _payment()
    provider.get_form(payment)
    payment.refresh_from_db()
    request = rf.get("/back/?redirect_status=succeeded&payment_intent=" + payment.transaction_id)
    provider.process_data(payment, request)
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.WAITING


def test_card_payment_then_poll_confirms(provider):
    payment = _payment("88.00")
    provider.get_form(payment)
    payment.refresh_from_db()
    intent = _pay(provider, payment)
    assert intent["status"] == "succeeded"

    provider.sync_status(payment)
    assert payment.status == PaymentStatus.CONFIRMED
    assert payment.captured_amount == Decimal("88.00")
    provider.sync_status(payment)  # idempotent
    assert payment.status == PaymentStatus.CONFIRMED
    assert payment.captured_amount == Decimal("88.00")
    with pytest.raises(PaymentError):
        provider.get_form(payment)  # no second charge


def test_declined_card_is_an_error_with_reason_and_can_be_retried(provider, localstripe_url):
    payment = _payment("50.00")
    provider.get_form(payment)
    payment.refresh_from_db()
    first_intent = payment.transaction_id
    with pytest.raises(stripe.CardError):
        _pay(provider, payment, card="pm_card_chargeCustomerFail")

    provider.sync_status(payment)
    assert payment.status == PaymentStatus.ERROR
    assert "declined" in payment.message

    provider.get_form(payment)  # the customer tries again
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.WAITING
    assert payment.transaction_id != first_intent
    assert payment.attrs.stripe_intents == [first_intent, payment.transaction_id]
    _pay(provider, payment)
    provider.sync_status(payment)
    assert payment.status == PaymentStatus.CONFIRMED
    assert payment.captured_amount == Decimal("50.00")
    assert _get(localstripe_url, f"/v1/payment_intents/{first_intent}")["status"] == "canceled"


# --- refunds ----------------------------------------------------------------------------------


@pytest.fixture
def paid(provider):
    payment = _payment("100.00")
    provider.get_form(payment)
    payment.refresh_from_db()
    _pay(provider, payment)
    provider.sync_status(payment)
    assert payment.status == PaymentStatus.CONFIRMED
    return payment


def test_partial_then_full_refund(paid, localstripe_url, settings):
    """Through BasePayment.refund, which finds the provider by the payment's variant."""
    from payments import core

    settings.PAYMENT_VARIANTS = {
        "stripe": (
            "marketplace.stripe_provider.StripePaymentIntentProvider",
            {"secret_key": SECRET_KEY, "publishable_key": "pk_test", "api_base": localstripe_url},
        )
    }
    core.PROVIDER_CACHE.pop("stripe", None)
    try:
        paid.refund(Decimal("30.00"))
        paid.refresh_from_db()
        assert paid.status == PaymentStatus.CONFIRMED
        assert paid.captured_amount == Decimal("70.00")

        with pytest.raises((PaymentError, ValueError)):
            paid.refund(Decimal("70.01"))  # never more than captured
        paid.refresh_from_db()
        assert paid.captured_amount == Decimal("70.00")

        paid.refund()  # the rest
        paid.refresh_from_db()
        assert paid.status == PaymentStatus.REFUNDED
        assert paid.captured_amount == Decimal("0.00")
    finally:
        core.PROVIDER_CACHE.pop("stripe", None)
    charge = _refunded_event(localstripe_url, paid)["data"]["object"]
    assert charge["amount_refunded"] == 10000


def test_provider_refund_returns_the_refunded_amount(provider, paid):
    assert provider.refund(paid, Decimal("12.34")) == Decimal("12.34")


# --- webhook ----------------------------------------------------------------------------------


def test_succeeded_webhook_is_applied_once(provider, client, localstripe_url):
    payment = _payment("66.60")
    provider.get_form(payment)
    payment.refresh_from_db()
    _pay(provider, payment)
    event = _event(localstripe_url, "payment_intent.succeeded", payment.transaction_id)

    response = _post_event(client, event)
    assert response.status_code == 200
    assert response.json()["outcome"] == "applied"
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.CONFIRMED
    assert payment.captured_amount == Decimal("66.60")
    modified = payment.modified

    response = _post_event(client, event)  # Stripe retries / replays
    assert response.status_code == 200
    assert response.json()["outcome"] == "replayed"
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.CONFIRMED
    assert payment.modified == modified


def test_payment_failed_webhook_records_the_reason(provider, client, localstripe_url):
    payment = _payment("20.00")
    provider.get_form(payment)
    payment.refresh_from_db()
    with pytest.raises(stripe.CardError):
        _pay(provider, payment, card="pm_card_chargeCustomerFail")
    event = _event(localstripe_url, "payment_intent.payment_failed", payment.transaction_id)
    assert _post_event(client, event).status_code == 200
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.ERROR
    assert "declined" in payment.message


def test_bad_signature_is_refused_and_changes_nothing(provider, client, localstripe_url, caplog):
    payment = _payment("10.00")
    provider.get_form(payment)
    payment.refresh_from_db()
    _pay(provider, payment)
    event = _event(localstripe_url, "payment_intent.succeeded", payment.transaction_id)

    assert _post_event(client, event, secret="whsec_wrong").status_code == 400
    assert _post_event(client, event, timestamp=int(time.time()) - 3600).status_code == 400
    unsigned = client.post(
        reverse("core:stripe_webhook"), data=json.dumps(event), content_type="application/json"
    )
    assert unsigned.status_code == 400
    assert client.get(reverse("core:stripe_webhook")).status_code == 405
    assert "Rejected Stripe webhook" in caplog.text
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.WAITING
    assert payment.captured_amount == Decimal("0.00")


def test_refund_then_late_succeeded_leaves_the_payment_refunded(
    provider, paid, client, localstripe_url
):
    succeeded = _event(localstripe_url, "payment_intent.succeeded", paid.transaction_id)
    provider.refund(paid, None)  # refunded at Stripe (e.g. from its dashboard) …
    refunded = _refunded_event(localstripe_url, paid)
    assert _post_event(client, refunded).json()["outcome"] == "applied"  # … told by webhook
    paid.refresh_from_db()
    assert paid.status == PaymentStatus.REFUNDED
    assert paid.captured_amount == Decimal("0.00")

    assert _post_event(client, succeeded).status_code == 200  # arrives late
    assert _post_event(client, refunded).json()["outcome"] == "replayed"
    paid.refresh_from_db()
    assert paid.status == PaymentStatus.REFUNDED
    assert paid.captured_amount == Decimal("0.00")


def test_partial_refund_webhook_is_absolute_not_a_delta(provider, paid, client, localstripe_url):
    provider.refund(paid, Decimal("25.00"))
    event = _refunded_event(localstripe_url, paid)
    _post_event(client, event)
    again = {**event, "id": f"evt_{uuid.uuid4().hex}"}  # same state, another event id
    assert _post_event(client, again).json()["outcome"] == "unchanged"
    paid.refresh_from_db()
    assert paid.status == PaymentStatus.CONFIRMED
    assert paid.captured_amount == Decimal("75.00")


def test_event_for_an_unknown_intent_changes_nothing(client, paid):
    event = {
        "id": f"evt_{uuid.uuid4().hex}",
        "type": "payment_intent.payment_failed",
        "data": {
            "object": {
                "id": "pi_not_ours",
                "status": "requires_payment_method",
                "metadata": {"payment_id": str(paid.pk), "token": paid.token},
            }
        },
    }
    assert _post_event(client, event).json()["outcome"] == "unknown"
    paid.refresh_from_db()
    assert paid.status == PaymentStatus.CONFIRMED
