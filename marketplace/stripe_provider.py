"""A django-payments provider for Stripe PaymentIntents (支付意向), with its webhook.

Why PaymentIntents and not django-payments' own ``StripeProviderV3``: that one is built on
Checkout Sessions, which the Stripe-protocol server of the tests (localstripe, DESIGN §8) does
not speak. A PaymentIntent is what Checkout creates underneath anyway.

Flow:

1. ``get_form(payment)`` creates the payment's PaymentIntent (or reuses it) and returns a form
   that renders Stripe.js with the intent's client secret. The browser confirms the card with
   Stripe directly; card data never reaches us.
2. The payment's status changes only from what Stripe says server-side: the signed webhook
   (``stripe_webhook``) or polling (``sync_status``). The browser's redirect back is never
   trusted (``process_data`` polls Stripe, then redirects).
3. ``refund(payment, amount)`` refunds through Stripe; ``BasePayment.refund`` does the
   bookkeeping (captured amount, status).

Amounts: ``payment.total`` is Decimal yuan; Stripe wants integer fen. The conversion is exact
or refused (no rounding of money).

Idempotency of the webhook: every event is applied under a row lock on the payment, through
*monotonic* transitions (waiting/input/error → confirmed → refunded; never backwards), and
refunds are applied as the charge's absolute ``amount_refunded``, not as a delta. A replayed
event therefore changes nothing, and an out-of-order one (``succeeded`` after ``refunded``,
``payment_failed`` after ``succeeded``) cannot move a payment backwards. The ids of the last
events applied are kept in the payment's ``attrs`` as well, so an exact replay is recognised
and logged without even evaluating it. No extra table is needed: the state that matters is
the payment's own.
"""

from __future__ import annotations

import json
import logging
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import stripe
from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import redirect
from django.template import engines
from django.templatetags.static import static
from django.urls import NoReverseMatch
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from payments import PaymentError, PaymentStatus, get_payment_model
from payments.core import BasicProvider
from payments.forms import PaymentForm

from marketplace import outbox

logger = logging.getLogger(__name__)

OFFICIAL_API_BASE = "https://api.stripe.com"
# Test mode (a ``sk_test_`` key, or a Stripe-protocol test server such as localstripe): the
# payment page offers these instead of a card field. The server attaches the chosen card to
# the intent and confirms it; a 3-D Secure card then needs Stripe.js's authentication step.
TEST_CARDS: dict[str, tuple[Any, Any]] = {
    "visa": (_("Visa 4242 (succeeds)"), "pm_card_visa"),
    "3ds": (
        _("Visa 3184 (3-D Secure authentication)"),
        {"number": "4000002760003184", "exp_month": 12, "exp_year": 2034, "cvc": "123"},
    ),
    "declined": (_("Visa 0002 (declined)"), "pm_card_visa_chargeDeclined"),
}
OFFICIAL_JS_URL = "https://js.stripe.com/v3/"
#: Seconds a webhook signature stays acceptable (Stripe's own default).
WEBHOOK_TOLERANCE = 300
#: How many applied event ids a payment remembers (for logging exact replays).
REMEMBERED_EVENTS = 50
#: Statuses from which a payment may still become confirmed.
_OPEN = (PaymentStatus.WAITING, PaymentStatus.INPUT, PaymentStatus.ERROR)
#: Intent states in which the customer may still pay (or retry) on the same intent.
_PAYABLE_INTENT = ("requires_payment_method", "requires_confirmation", "requires_action")


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def yuan_to_fen(amount: Decimal) -> int:
    """Exact conversion of Decimal yuan to integer fen; refuses fractions of a fen."""
    fen = Decimal(amount) * 100
    if fen != fen.to_integral_value():
        raise PaymentError(f"Amount {amount} is not a whole number of fen.")
    return int(fen)


def fen_to_yuan(fen: int) -> Decimal:
    return (Decimal(int(fen)) / 100).quantize(Decimal("0.01"))


def _remember_event(payment, event_id: str) -> None:
    seen = list(getattr(payment.attrs, "stripe_events", []))
    seen.append(event_id)
    payment.attrs.stripe_events = seen[-REMEMBERED_EVENTS:]


def _already_applied(payment, event_id: str) -> bool:
    return event_id in getattr(payment.attrs, "stripe_events", [])


def _intent_ids(payment) -> list[str]:
    """Intents of this payment: the current one and those of earlier (declined) attempts."""
    ids = list(getattr(payment.attrs, "stripe_intents", []))
    if payment.transaction_id and payment.transaction_id not in ids:
        ids.append(payment.transaction_id)
    return ids


def _failure_reason(intent: Any) -> str:
    error = intent.get("last_payment_error") or {}
    return str(error.get("message") or error.get("code") or "payment failed")


# --- state changes (called under a row lock; monotonic, hence idempotent) --------------------


def _apply_intent_state(payment, intent: Any) -> bool:
    """Moves ``payment`` towards what ``intent`` says; returns whether anything changed.
    Only the payment's current intent counts: an earlier attempt's failure or cancellation
    says nothing about the current one."""
    if intent["id"] != payment.transaction_id:
        return False
    status = intent["status"]
    if status == "succeeded":
        if payment.status in _OPEN:
            payment.captured_amount = fen_to_yuan(intent.get("amount_received") or intent["amount"])
            payment.save(update_fields=["captured_amount", "extra_data", "modified"])
            payment.change_status(PaymentStatus.CONFIRMED)
            return True
        return False
    if status == "requires_capture":
        if payment.status in _OPEN:
            payment.change_status(PaymentStatus.PREAUTH)
            return True
        return False
    if status == "requires_payment_method" and intent.get("last_payment_error"):
        reason = _failure_reason(intent)
        if payment.status in (PaymentStatus.WAITING, PaymentStatus.INPUT) or (
            payment.status == PaymentStatus.ERROR and payment.message != reason
        ):
            payment.change_status(PaymentStatus.ERROR, reason)
            return True
        return False
    if status == "canceled":
        if payment.status in _OPEN:
            payment.change_status(
                PaymentStatus.REJECTED, str(intent.get("cancellation_reason") or "")
            )
            return True
        return False
    return False  # processing, requires_action, …: nothing to record yet


def _apply_refunded_total(payment, refunded_fen: int) -> bool:
    """Sets the captured amount from the charge's absolute refunded total (never a delta, so
    a replay is harmless); a payment refunded in full becomes REFUNDED. Only a confirmed
    payment is affected (a refund cannot come before the money)."""
    if payment.status != PaymentStatus.CONFIRMED:
        return False
    remaining = max(payment.total - fen_to_yuan(refunded_fen), Decimal("0.00"))
    if remaining >= payment.captured_amount:
        return False  # already accounted for (e.g. by BasePayment.refund), or stale
    payment.captured_amount = remaining
    payment.save(update_fields=["captured_amount", "modified"])
    if remaining <= 0:
        payment.change_status(PaymentStatus.REFUNDED)
    return True


# --- the form ---------------------------------------------------------------------------------

_FORM_TEMPLATE = """\
<form id="stripe-payment-form" method="post" action="{{ action }}"
      data-publishable-key="{{ publishable_key }}" data-client-secret="{{ client_secret }}"
      data-return-url="{{ return_url }}"{% if test_card_url %} data-test-card-url="{{ test_card_url }}"{% endif %}>
  {% if test_card_url %}<p class="muted">{{ test_mode_note }}</p>
  <label for="stripe-test-card">{{ test_card_label }}</label>
  <select id="stripe-test-card" name="test_card">{% for value, label in test_cards %}<option value="{{ value }}">{{ label }}</option>{% endfor %}</select>
  {% else %}<label for="stripe-card-element">{{ card_label }}</label>
  <div id="stripe-card-element"></div>{% endif %}
  <div id="stripe-card-errors" role="alert"></div>
  <button type="submit" id="stripe-pay-button">{{ pay_label }}</button>
</form>
<script src="{{ js_url }}"></script>
<script src="{{ bootstrap_url }}"></script>
"""


class StripePaymentIntentForm(PaymentForm):
    """Renders Stripe.js (card element + ``confirmCardPayment``) for one PaymentIntent.

    The page that shows it must allow, in its Content-Security-Policy, the Stripe.js origin in
    script-src and frame-src and the API origin in connect-src (``csp_directives``); the
    bootstrap is a static file (marketplace/stripe-payment.js), no inline script."""

    def __init__(
        self,
        *,
        client_secret: str,
        publishable_key: str,
        js_url: str,
        return_url: str,
        amount: Decimal,
        test_card_url: str = "",
        **kwargs,
    ) -> None:
        super().__init__(data=None, hidden_inputs=False, **kwargs)
        self.test_card_url = test_card_url
        self.client_secret = client_secret
        self.publishable_key = publishable_key
        self.js_url = js_url
        self.return_url = return_url
        self.amount = amount

    def get_context(self) -> dict[str, Any]:
        context = super().get_context()
        context.update(
            action=self.action,
            client_secret=self.client_secret,
            publishable_key=self.publishable_key,
            js_url=self.js_url,
            return_url=self.return_url,
            bootstrap_url=static("marketplace/stripe-payment.js"),
            test_card_url=self.test_card_url,
            test_cards=[(key, label) for key, (label, _card) in TEST_CARDS.items()],
            test_card_label=_("Test card"),
            test_mode_note=_(
                "Test mode: no real money moves. Pick a test card; the 3-D Secure one asks "
                "for authentication in the provider's own window."
            ),
            card_label=_("Card details"),
            pay_label=_("Pay ¥%(amount)s") % {"amount": self.amount},
        )
        return context

    def render(self, template_name=None, context=None, renderer=None):
        template = engines["django"].from_string(_FORM_TEMPLATE)
        return mark_safe(template.render(context or self.get_context()))  # autoescaped template

    __str__ = render
    __html__ = render


# --- the provider -------------------------------------------------------------------------


class StripePaymentIntentProvider(BasicProvider):
    """django-payments provider on Stripe PaymentIntents, amounts in CNY fen.

    :param secret_key: Stripe secret key (``sk_…``).
    :param publishable_key: Stripe publishable key (``pk_…``), given to Stripe.js.
    :param api_base: Stripe API base URL (tests: localstripe).
    :param js_url: Stripe.js URL (tests: localstripe's fake, ``<base>/js.stripe.com/v3/``).
    :param currency: the only currency accepted (``CNY``).
    """

    form_class = StripePaymentIntentForm

    def __init__(
        self,
        secret_key: str,
        publishable_key: str,
        api_base: str = OFFICIAL_API_BASE,
        js_url: str = OFFICIAL_JS_URL,
        currency: str = "CNY",
        max_network_retries: int = 2,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        if not secret_key:
            raise PaymentError("StripePaymentIntentProvider needs a secret key.")
        self.secret_key = secret_key
        self.publishable_key = publishable_key
        self.api_base = api_base.rstrip("/")
        self.js_url = js_url
        self.currency = currency.upper()
        self.client = stripe.StripeClient(
            secret_key,
            base_addresses={"api": self.api_base},
            max_network_retries=max_network_retries,
        )

    @property
    def test_mode(self) -> bool:
        return self.secret_key.startswith("sk_test_") or self.api_base != OFFICIAL_API_BASE

    def confirm_test_card(self, payment, card: str) -> dict[str, Any]:
        """Test mode only: attaches test card ``card`` (a TEST_CARDS key) to the payment's
        intent and confirms it server-side. Returns the intent; its outcome reaches the
        payment only through the webhook or polling, as for a real card."""
        if not self.test_mode:
            raise PaymentError("Test cards are refused outside test mode.")
        if card not in TEST_CARDS:
            raise PaymentError("Unknown test card.")
        intent = self.create_intent(payment)
        if intent["status"] not in ("requires_payment_method", "requires_confirmation"):
            return intent
        method = TEST_CARDS[card][1]
        if isinstance(method, dict):
            method = self._api(
                self.client.v1.payment_methods.create, {"type": "card", "card": method}
            )["id"]
        self._api(self.client.v1.payment_intents.update, intent["id"], {"payment_method": method})
        try:
            return self._api(self.client.v1.payment_intents.confirm, intent["id"])
        except PaymentError:
            # A decline answers the confirmation with an error; the intent tells the reason.
            return self._retrieve(intent["id"])

    def csp_directives(self) -> dict[str, list[str]]:
        """What a page showing the payment form adds to its Content-Security-Policy: Stripe.js
        (script, its frames) and the API it calls."""
        js_origin = _origin(self.js_url)
        return {
            "script-src": [js_origin],
            "frame-src": [js_origin],
            "connect-src": [_origin(self.api_base), js_origin],
        }

    # -- intents --

    def _amount_fen(self, payment) -> int:
        if (payment.currency or "").upper() != self.currency:
            raise PaymentError(
                f"Currency {payment.currency!r} is not supported (only {self.currency})."
            )
        fen = yuan_to_fen(payment.total)
        if fen <= 0:
            raise PaymentError("The amount to pay must be positive.")
        return fen

    @staticmethod
    def _api(method, *args) -> dict[str, Any]:
        """One Stripe API call; a plain dict back, a PaymentError on failure."""
        try:
            return method(*args).to_dict()
        except stripe.StripeError as exc:
            raise PaymentError(
                str(exc.user_message or exc), code=exc.http_status, gateway_message=str(exc)
            ) from exc

    def _retrieve(self, intent_id: str) -> dict[str, Any]:
        return self._api(self.client.v1.payment_intents.retrieve, intent_id)

    def create_intent(self, payment):
        """The payment's current PaymentIntent, created at most once per attempt: under a row
        lock the stored intent is reused; the Stripe idempotency key (token + attempt) makes a
        retried request after a lost response return the same intent. A declined attempt
        whose intent can take no new card starts a new attempt (new intent); the old one is
        cancelled. Returns the intent."""
        amount = self._amount_fen(payment)
        with transaction.atomic():
            locked = type(payment)._default_manager.select_for_update().get(pk=payment.pk)
            intent = None
            if locked.transaction_id:
                intent = self._retrieve(locked.transaction_id)
                declined = (
                    intent["status"] == "requires_payment_method"
                    and locked.status == PaymentStatus.ERROR
                )
                if declined or intent["status"] == "canceled":
                    # Stripe itself would take a new card on a declined intent; localstripe
                    # cannot confirm it again. A fresh intent per attempt works on both.
                    intent = self._new_attempt(locked, intent)
                elif intent["status"] in _PAYABLE_INTENT and intent["amount"] != amount:
                    intent = self._api(
                        self.client.v1.payment_intents.update, intent["id"], {"amount": amount}
                    )
            if intent is None:
                intent = self._create(locked, amount)
            if locked.status == PaymentStatus.ERROR and intent["status"] in _PAYABLE_INTENT:
                locked.status = PaymentStatus.WAITING  # a retry; the reason stays in message
                locked.save(update_fields=["status", "modified"])
            payment.transaction_id = locked.transaction_id
            payment.extra_data = locked.extra_data
            payment.status = locked.status
        return intent

    def _create(self, payment, amount: int):
        attempt = int(getattr(payment.attrs, "stripe_attempt", 1))
        params = {
            "amount": amount,
            "currency": self.currency.lower(),
            "metadata": {"payment_id": str(payment.pk), "token": payment.token},
        }
        intent = self._api(
            self.client.v1.payment_intents.create,
            params,
            {"idempotency_key": f"payment-{payment.token}-{attempt}"},
        )
        payment.transaction_id = intent["id"]
        payment.attrs.stripe_attempt = attempt
        payment.attrs.client_secret = intent["client_secret"]
        payment.attrs.stripe_intents = [*getattr(payment.attrs, "stripe_intents", []), intent["id"]]
        payment.save(update_fields=["transaction_id", "extra_data", "modified"])
        return intent

    def _new_attempt(self, payment, old_intent):
        try:
            self._api(self.client.v1.payment_intents.cancel, old_intent["id"])
        except PaymentError:
            logger.warning(
                "Could not cancel spent PaymentIntent %s", old_intent["id"], exc_info=True
            )
        payment.attrs.stripe_attempt = int(getattr(payment.attrs, "stripe_attempt", 1)) + 1
        return self._create(payment, self._amount_fen(payment))

    # -- django-payments API --

    def get_form(self, payment, data=None, *, test_card_url: str = ""):
        if payment.status not in _OPEN:
            raise PaymentError("This payment has already been processed.")
        intent = self.create_intent(payment)
        try:
            return_url = self.get_return_url(payment)
        except NoReverseMatch:  # django-payments' process URL is not routed
            return_url = payment.get_success_url()
        return self.form_class(
            client_secret=intent["client_secret"],
            publishable_key=self.publishable_key,
            js_url=self.js_url,
            return_url=return_url,
            amount=payment.total,
            test_card_url=test_card_url if self.test_mode else "",
            action=return_url,
            provider=self,
            payment=payment,
        )

    def process_data(self, payment, request):
        """The customer's way back from Stripe.js: nothing in the request is trusted; Stripe is
        asked for the intent's state."""
        self.sync_status(payment)
        if payment.status in (PaymentStatus.ERROR, PaymentStatus.REJECTED):
            return redirect(payment.get_failure_url())
        return redirect(payment.get_success_url())

    def get_token_from_request(self, payment, request):
        return None  # the webhook has its own view (stripe_webhook)

    def sync_status(self, payment):
        """Polls Stripe for the payment's current intent and records its state (idempotent)."""
        if not payment.transaction_id:
            return payment
        intent = self._retrieve(payment.transaction_id)
        with transaction.atomic():
            locked = type(payment)._default_manager.select_for_update().get(pk=payment.pk)
            _apply_intent_state(locked, intent)
            if locked.status == PaymentStatus.CONFIRMED:
                charge = intent.get("latest_charge")
                if isinstance(charge, str):
                    charge = self._api(self.client.v1.charges.retrieve, charge)
                if charge:
                    _apply_refunded_total(locked, int(charge.get("amount_refunded") or 0))
        payment.refresh_from_db()
        return payment

    status = sync_status

    def capture(self, payment, amount=None):
        fen = yuan_to_fen(amount) if amount is not None else None
        params = {"amount_to_capture": fen} if fen is not None else {}
        intent = self._api(self.client.v1.payment_intents.capture, payment.transaction_id, params)
        return fen_to_yuan(intent.get("amount_received") or fen or intent["amount"])

    def release(self, payment):
        self.cancel(payment)

    def cancel(self, payment):
        if not payment.transaction_id:
            return
        self._api(self.client.v1.payment_intents.cancel, payment.transaction_id)

    def refund(self, payment, amount=None):
        """Refunds ``amount`` yuan (all that is captured if None) and returns the refunded
        amount as Decimal yuan; ``BasePayment.refund`` lowers ``captured_amount`` with it. The
        idempotency key is made of the captured amount before the refund, so a retry after a
        lost response does not refund twice."""
        if payment.status != PaymentStatus.CONFIRMED or not payment.transaction_id:
            raise PaymentError("Only confirmed payments can be refunded.")
        to_refund = payment.captured_amount if amount is None else Decimal(amount)
        if to_refund <= 0:
            raise PaymentError("The refund amount must be positive.")
        if to_refund > payment.captured_amount:
            raise PaymentError("Refund amount can not be greater than the captured amount.")
        fen = yuan_to_fen(to_refund)
        key = f"refund-{payment.token}-{yuan_to_fen(payment.captured_amount)}-{fen}"
        refund = self._api(
            self.client.v1.refunds.create,
            {"payment_intent": payment.transaction_id, "amount": fen},
            {"idempotency_key": key},
        )
        if refund.get("status") == "failed":
            raise PaymentError("Stripe could not refund this payment.")
        refunds = [*getattr(payment.attrs, "stripe_refunds", [])]
        if refund["id"] not in refunds:
            refunds.append(refund["id"])
        payment.attrs.stripe_refunds = refunds
        return fen_to_yuan(refund["amount"])


# --- the webhook --------------------------------------------------------------------------


def _find_payment(obj: dict, *, intent_id: str | None):
    """The payment an event's object belongs to, locked; None when it is not ours."""
    model = get_payment_model()
    manager = model._default_manager.select_for_update()
    metadata = obj.get("metadata") or {}
    payment = None
    if metadata.get("payment_id") and metadata.get("token"):
        payment = manager.filter(pk=metadata["payment_id"], token=metadata["token"]).first()
    if payment is None and intent_id:
        payment = manager.filter(transaction_id=intent_id).first()
    if payment is not None and intent_id and intent_id not in _intent_ids(payment):
        return None  # metadata says ours, but the intent is not one we made: ignore
    return payment


STRAY_REFUND_TOPIC = "payments.refund_stray_intent"


def _refund_stray_intent(payment, intent_id: str, event_id: str) -> None:
    from marketplace import audit

    logger.warning("Payment %s: earlier intent %s succeeded; refunding it", payment.pk, intent_id)
    audit.record(
        actor=None,
        action="payment.stray_intent",
        obj=payment,
        data={"intent": intent_id, "event": event_id},
    )
    outbox.enqueue(
        STRAY_REFUND_TOPIC,
        {"payment_id": payment.pk, "intent_id": intent_id},
        dedupe_key=f"stray-refund:{intent_id}",
    )


@outbox.handler(STRAY_REFUND_TOPIC)
def deliver_stray_refund(payload: dict, *, message=None) -> None:
    """Outbox handler: refunds in full an intent of an earlier attempt that succeeded."""
    from payments.core import provider_factory

    payment = get_payment_model().objects.get(pk=payload["payment_id"])
    provider = provider_factory(payment.variant, payment)
    intent = provider._retrieve(payload["intent_id"])
    if intent["status"] != "succeeded":
        return
    provider._api(
        provider.client.v1.refunds.create,
        {"payment_intent": payload["intent_id"]},
        {"idempotency_key": f"stray-refund-{payload['intent_id']}"},
    )


def apply_event(event: dict) -> str:
    """Applies one verified Stripe event; returns what happened (for logs and tests)."""
    event_type = event.get("type")
    obj = (event.get("data") or {}).get("object") or {}
    if event_type in ("payment_intent.succeeded", "payment_intent.payment_failed"):
        intent_id = obj.get("id")
    elif event_type == "charge.refunded":
        intent_id = obj.get("payment_intent")
    else:
        return "ignored"
    with transaction.atomic():
        payment = _find_payment(obj, intent_id=intent_id)
        if payment is None:
            logger.warning("Stripe event %s (%s): no matching payment", event.get("id"), event_type)
            return "unknown"
        if _already_applied(payment, event["id"]):
            logger.info("Stripe event %s replayed; nothing to do", event["id"])
            return "replayed"
        if event_type == "charge.refunded":
            changed = _apply_refunded_total(payment, int(obj.get("amount_refunded") or 0))
        else:
            state = dict(obj)
            if (
                event_type == "payment_intent.succeeded"
                and intent_id != payment.transaction_id
                and intent_id in _intent_ids(payment)
            ):
                # An earlier attempt's intent was paid after all (an old tab, a failed
                # cancel): the money goes back; the payment follows its current intent.
                _refund_stray_intent(payment, intent_id, event["id"])
            # The event type is the fact; the embedded status may lag (async charges).
            if event_type == "payment_intent.succeeded":
                state["status"] = "succeeded"
            elif not state.get("last_payment_error"):
                state["last_payment_error"] = {"message": "payment failed"}
                state["status"] = "requires_payment_method"
            changed = _apply_intent_state(payment, state)
        _remember_event(payment, event["id"])
        payment.save(update_fields=["extra_data", "modified"])
    return "applied" if changed else "unchanged"


@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest) -> HttpResponse:
    """Stripe's webhook endpoint. Verifies the ``Stripe-Signature`` header (HMAC-SHA256 of
    ``timestamp.payload`` with the endpoint secret, constant-time, 5-minute tolerance) and
    applies payment_intent.succeeded / payment_intent.payment_failed / charge.refunded."""
    secret = getattr(settings, "STRIPE_WEBHOOK_SECRET", "")
    payload = request.body.decode("utf-8", errors="replace")
    try:
        stripe.WebhookSignature.verify_header(
            payload, request.headers.get("Stripe-Signature"), secret, tolerance=WEBHOOK_TOLERANCE
        )
        event = json.loads(payload)
        if not isinstance(event, dict) or not event.get("id") or not event.get("type"):
            raise ValueError("not a Stripe event")
    except (stripe.SignatureVerificationError, ValueError) as exc:
        logger.warning("Rejected Stripe webhook from %s: %s", request.META.get("REMOTE_ADDR"), exc)
        return HttpResponseBadRequest("invalid signature or payload")
    outcome = apply_event(event)
    logger.info("Stripe event %s (%s): %s", event["id"], event["type"], outcome)
    return JsonResponse({"received": True, "outcome": outcome})
