"""Paying as a customer and calling back as Stripe, against localstripe (real HTTP on
127.0.0.1, DESIGN §8) — shared by the provider tests, the contract-payment and deposit tests
and bench/payments.py.

* ``pay(provider, payment)``: what Stripe.js does on the customer's click — a test card on the
  intent, then confirm. ``pm_card_visa`` succeeds; ``DECLINED_CARD`` (localstripe's
  4000000000000341, ``pm_card_chargeCustomerFail``) attaches but its charge is declined.
* ``event(url, type, object_id)``: an event localstripe itself recorded (GET /v1/events).
  localstripe cannot deliver webhooks to the Django test client; for charge.refunded, which it
  does not emit, ``refunded_event`` wraps the real charge object.
* ``sign(payload)`` / ``post_event(client, event)``: Stripe's signature scheme (HMAC-SHA256 of
  ``"t.payload"`` with the endpoint secret), which the webhook view verifies.
* ``use_stripe(settings, url)``: ``PAYMENT_VARIANTS["stripe"]`` pointing at ``url`` (and the
  webhook secret), with django-payments' provider cache cleared so the change takes effect.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.parse
import urllib.request
import uuid

SECRET_KEY = "sk_test_marketplace"
PUBLISHABLE_KEY = "pk_test_marketplace"
WEBHOOK_SECRET = "whsec_test_marketplace"
PROVIDER_CLASS = "marketplace.stripe_provider.StripePaymentIntentProvider"
GOOD_CARD = "pm_card_visa"
DECLINED_CARD = "pm_card_chargeCustomerFail"  # 4000000000000341: the charge is declined
WEBHOOK_PATH = "/payments/stripe/webhook/"


def provider_options(api_base: str) -> dict:
    return {
        "secret_key": SECRET_KEY,
        "publishable_key": PUBLISHABLE_KEY,
        "api_base": api_base,
        "js_url": f"{api_base}/js.stripe.com/v3/",
        "max_network_retries": 0,
    }


def make_provider(api_base: str):
    from marketplace.stripe_provider import StripePaymentIntentProvider

    return StripePaymentIntentProvider(**provider_options(api_base))


def clear_provider_cache() -> None:
    """django-payments builds one provider per variant and caches it for the process."""
    from payments import core

    core.PROVIDER_CACHE.pop("stripe", None)
    core.PROVIDER_CACHE.pop("default", None)


def use_stripe(settings, api_base: str) -> None:
    """Points the site's "stripe" variant at ``api_base`` (pytest-django ``settings``)."""
    settings.PAYMENT_VARIANTS = {"stripe": (PROVIDER_CLASS, provider_options(api_base))}
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    clear_provider_cache()


def site_provider(payment):
    """The provider the site uses for ``payment`` (its variant, through django-payments)."""
    from payments.core import provider_factory

    return provider_factory(payment.variant, payment)


def stripe_get(api_base: str, path: str) -> dict:
    """Raw JSON from localstripe (no proxy: 127.0.0.1 only)."""
    request = urllib.request.Request(
        api_base + path, headers={"Authorization": f"Bearer {SECRET_KEY}"}
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=10) as response:
        return json.loads(response.read())


def pay(provider, payment, card: str = GOOD_CARD):
    """What Stripe.js does on the customer's click: a card on the payment's current intent,
    then confirm. A declined card raises ``stripe.CardError`` (as Stripe.js reports it)."""
    intent_id = payment.transaction_id
    assert intent_id, "the payment has no intent yet: show its form (get_form) first"
    provider.client.v1.payment_intents.update(intent_id, {"payment_method": card})
    return provider.client.v1.payment_intents.confirm(intent_id)


def events(api_base: str, event_type: str) -> list[dict]:
    """Every event of ``event_type`` localstripe recorded, oldest first (all pages)."""
    found: list[dict] = []
    after = None
    while True:
        query = {"type": event_type, "limit": 100}
        if after:
            query["starting_after"] = after
        page = stripe_get(api_base, "/v1/events?" + urllib.parse.urlencode(query))
        found += page["data"]
        if not page.get("has_more") or not page["data"]:
            return found
        after = page["data"][-1]["id"]


def event(api_base: str, event_type: str, object_id: str) -> dict:
    """The event of ``event_type`` localstripe recorded for the object ``object_id``."""
    matching = [e for e in events(api_base, event_type) if e["data"]["object"]["id"] == object_id]
    assert matching, f"localstripe recorded no {event_type} for {object_id}"
    return matching[0]


def refunded_event(api_base: str, payment) -> dict:
    """A charge.refunded event around the payment's real charge (localstripe emits none)."""
    intent = stripe_get(api_base, f"/v1/payment_intents/{payment.transaction_id}")
    charge = stripe_get(api_base, f"/v1/charges/{intent['latest_charge']['id']}")
    return {"id": f"evt_{uuid.uuid4().hex}", "type": "charge.refunded", "data": {"object": charge}}


def sign(payload: str, *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """The ``Stripe-Signature`` header Stripe sends with ``payload``."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    signature = hmac.new(
        secret.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256
    ).hexdigest()
    return f"t={timestamp},v1={signature}"


def post_event(client, event: dict, *, secret: str = WEBHOOK_SECRET, timestamp=None):
    """Posts ``event`` to the webhook through the Django test client, signed."""
    from django.urls import reverse

    payload = json.dumps(event)
    return client.post(
        reverse("core:stripe_webhook"),
        data=payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=sign(payload, secret=secret, timestamp=timestamp),
    )


# --- contracts to pay (procurement) -----------------------------------------------------------

PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def pdf_upload(name: str = "report.pdf", content: bytes = PDF):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content, content_type="application/pdf")


def agency_admin(contract):
    """The administrator of the contract's agency (party B)."""
    from marketplace.models import Membership, Role

    return Membership.objects.get(
        organisation_id=contract.agency.organisation_id, role=Role.ADMIN
    ).user


def set_terms(contract, owner_user, amounts=("4000.00", "5000.00")):
    """The owner's terms for a draft: one milestone per amount, the price their sum."""
    import datetime
    from decimal import Decimal

    from django.utils import timezone

    from procurement import contracts

    today = timezone.localdate()
    milestones = [
        {
            "title": f"第{n}阶段成果",
            "amount": amount,
            "due_date": today + datetime.timedelta(days=2 * n),
        }
        for n, amount in enumerate(amounts, start=1)
    ]
    return contracts.contract_update_terms(
        actor=owner_user,
        contract=contract,
        price=str(sum(Decimal(a) for a in amounts)),
        scope=contract.scope,
        milestones=milestones,
    )


def sign_both(contract, owner_user):
    from procurement import contracts

    contracts.contract_sign(actor=owner_user, contract=contract, ip_address="127.0.0.1")
    contracts.contract_sign(actor=agency_admin(contract), contract=contract, ip_address="127.0.0.2")
    contract.refresh_from_db()
    return contract


def deliver_and_accept(contract, milestone, owner_user):
    """The agency delivers ``milestone``'s result and the owner accepts it."""
    from procurement import contracts

    contracts.deliverable_submit(
        actor=agency_admin(contract), milestone=milestone, file=pdf_upload()
    )
    contracts.deliverable_accept(actor=owner_user, milestone=milestone)
    milestone.refresh_from_db()
    return milestone


def contract_to_pay(world, *, amounts=("4000.00", "5000.00"), accept: int | None = None):
    """An awarded contract (tests.procurement.factories.make_awarded_contract) with one
    milestone per amount, signed by both parties, the first ``accept`` milestones (all when
    None) delivered and accepted: those can be paid."""
    from tests.procurement.factories import make_awarded_contract

    owner_user = world.owner.admin_user
    contract = make_awarded_contract(world)
    set_terms(contract, owner_user, amounts)
    contract = sign_both(contract, owner_user)
    milestones = list(contract.milestones.order_by("sequence"))
    for milestone in milestones[: len(milestones) if accept is None else accept]:
        deliver_and_accept(contract, milestone, owner_user)
    contract.refresh_from_db()
    return contract
