"""保证金 (procurement.deposits): an announcement asking for a deposit (at most 2 % of its
ceiling), registrants paying it through the Stripe PaymentIntent provider (localstripe over
real HTTP on 127.0.0.1, DESIGN §8), the refunds the outcome triggers — after the draw for the
agencies out of the running, at the award for the rest — due within one working day and made
by the scheduler through the provider, a provider failure retried on the next run."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from payments import PaymentStatus

from marketplace import workdays
from marketplace.localstripe_launcher import free_port
from marketplace.models import AuditEvent, Membership, Payment, PaymentPurpose, Role
from procurement import deposits, services
from procurement.models import Deposit, DepositStatus, RegistrationStatus
from tests.payments_helpers import (
    clear_provider_cache,
    event,
    pay,
    post_event,
    site_provider,
    stripe_get,
    use_stripe,
)
from tests.procurement.factories import (
    close_and_draw,
    draft,
    login,
    make_announcement,
    register_all,
    text,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

DEPOSIT = Decimal("200.00")  # 2 % of the factories' 10,000 yuan ceiling: the most allowed


@pytest.fixture
def client(client):
    """Requests in English (the language cookie): a request activates its language in this
    thread, and the services called after it would otherwise answer in Chinese."""
    client.cookies["django_language"] = "en"
    return client


@pytest.fixture
def stripe_site(settings, localstripe_url):
    use_stripe(settings, localstripe_url)
    yield localstripe_url
    clear_provider_cache()


@pytest.fixture
def announcement(world, stripe_site):
    return make_announcement(world, deposit_amount=DEPOSIT)


@pytest.fixture
def registrations(announcement, world):
    return register_all(announcement, world.agencies)


def admin_of(agency):
    return Membership.objects.get(organisation_id=agency.organisation_id, role=Role.ADMIN).user


def start(registration):
    return deposits.deposit_payment_start(
        actor=admin_of(registration.agency), registration=registration
    )


def pay_deposit(client, stripe_url, registration) -> Payment:
    """The agency pays its deposit with a card; Stripe's webhook tells the site."""
    payment = start(registration)
    provider = site_provider(payment)
    provider.get_form(payment)
    payment.refresh_from_db()
    pay(provider, payment)
    succeeded = event(stripe_url, "payment_intent.succeeded", payment.transaction_id)
    assert post_event(client, succeeded).json()["outcome"] == "applied"
    payment.refresh_from_db()
    return payment


def deposit_of(registration) -> Deposit:
    return Deposit.objects.get(
        announcement_id=registration.announcement_id, agency_id=registration.agency_id
    )


def refunded_at_stripe(stripe_url, payment) -> int:
    intent = stripe_get(stripe_url, f"/v1/payment_intents/{payment.transaction_id}")
    charge = stripe_get(stripe_url, f"/v1/charges/{intent['latest_charge']['id']}")
    return charge["amount_refunded"]


def test_the_deposit_is_at_most_two_percent_of_the_ceiling(world):
    with pytest.raises(ValidationError) as refused:
        draft(world, deposit_amount=Decimal("200.01"))
    [message] = refused.value.message_dict["deposit_amount"]
    assert "at most 2% of the ceiling, 200.00 yuan" in message
    with pytest.raises(ValidationError) as refused:
        draft(world, deposit_amount=Decimal(-1))
    assert "deposit_amount" in refused.value.message_dict
    assert draft(world, deposit_amount=DEPOSIT).deposit_amount == DEPOSIT


def test_paying_the_deposit(announcement, registrations, client, stripe_site, world):
    registration = registrations[0]
    agency_user = admin_of(registration.agency)
    other = admin_of(registrations[1].agency)
    with pytest.raises(PermissionDenied):
        deposits.deposit_payment_start(actor=other, registration=registration)
    login(client, other)
    assert (
        client.post(reverse("procurement:deposit_pay", args=[registration.pk])).status_code == 404
    )

    login(client, agency_user)
    response = client.post(reverse("procurement:deposit_pay", args=[registration.pk]))
    payment = Payment.objects.get(deposit__agency=registration.agency)
    assert response["Location"] == reverse("procurement:payment", args=[payment.token])
    assert (payment.purpose, payment.total, payment.order_id) == (
        PaymentPurpose.DEPOSIT,
        DEPOSIT,
        None,
    )
    assert start(registration).pk == payment.pk  # resumed, not a second charge
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert reverse("procurement:registration", args=[registration.pk]) in text(page)
    login(client, other)
    assert client.get(response["Location"]).status_code == 404

    payment.refresh_from_db()
    pay(site_provider(payment), payment)
    assert deposit_of(registration).status == DepositStatus.PENDING  # Stripe has not told us
    succeeded = event(stripe_site, "payment_intent.succeeded", payment.transaction_id)
    assert post_event(client, succeeded).json()["outcome"] == "applied"
    deposit = deposit_of(registration)
    assert deposit.status == DepositStatus.PAID
    assert deposit.paid_at is not None
    assert deposit.amount == DEPOSIT
    assert post_event(client, succeeded).json()["outcome"] == "replayed"
    assert (
        AuditEvent.objects.filter(
            content_type__model="deposit", object_id=str(deposit.pk), action="mark_paid"
        ).count()
        == 1
    )
    with pytest.raises(ValidationError, match="already been paid") as refused:
        start(registration)
    assert refused.value.error_dict["__all__"][0].code == "already_paid"


def test_refunds_follow_the_draw_and_the_award_within_one_working_day(
    announcement, registrations, client, stripe_site
):
    paid = {r.pk: pay_deposit(client, stripe_site, r) for r in registrations}
    assert all(p.status == PaymentStatus.CONFIRMED for p in paid.values())
    assert deposits.refund_due() == 0  # nothing triggered yet

    assert close_and_draw(announcement) == "selected"
    by_status = {}
    for registration in announcement.registrations.all():
        by_status.setdefault(registration.status, []).append(registration)
    [selected] = by_status[RegistrationStatus.SELECTED]
    assert len(by_status[RegistrationStatus.ALTERNATE]) == 2
    [out] = by_status[RegistrationStatus.NOT_SELECTED]

    # Out of the running: due back within one working day of the draw.
    deposit = deposit_of(out)
    assert deposit.status == DepositStatus.REFUND_DUE
    assert deposit.refund_triggered_at == announcement.selected_at
    assert deposit.refund_due_by == workdays.deadline_at(deposit.refund_triggered_at, 1)
    assert deposit.refund_reason == "Not selected in the draw."
    # The selected agency and the alternates stay in the running: their deposits stay.
    for registration in [selected, *by_status[RegistrationStatus.ALTERNATE]]:
        assert deposit_of(registration).status == DepositStatus.PAID

    assert deposits.refund_due() == 1  # the scheduler's job, through the provider
    deposit.refresh_from_db()
    payment = paid[out.pk]
    payment.refresh_from_db()
    assert deposit.status == DepositStatus.REFUNDED  # because the provider said so
    assert deposit.refunded_at is not None and deposit.refund_error == ""
    assert payment.status == PaymentStatus.REFUNDED
    assert refunded_at_stripe(stripe_site, payment) == 20000
    assert deposits.refund_due() == 0

    # The selected agency confirms; at the end of publicity the award releases the rest.
    services.registration_confirm(actor=admin_of(selected.agency), registration=selected)
    announcement.refresh_from_db()
    after = announcement.publicity_ends_at + datetime.timedelta(seconds=1)
    assert services.award_due(announcement.pk, now=after) == "awarded"
    for registration in [selected, *by_status[RegistrationStatus.ALTERNATE]]:
        deposit = deposit_of(registration)
        assert deposit.status == DepositStatus.REFUND_DUE
        assert deposit.refund_due_by == workdays.deadline_at(after, 1)
        assert deposit.refund_reason == "The announcement was awarded."
    assert deposits.overdue_refunds(now=after) == 0
    assert deposits.overdue_refunds(now=after + datetime.timedelta(days=10)) == 3
    assert deposits.refund_due() == 3
    for registration in registrations:
        deposit = deposit_of(registration)
        assert deposit.status == DepositStatus.REFUNDED
        assert refunded_at_stripe(stripe_site, paid[registration.pk]) == 20000
    assert deposits.overdue_refunds(now=after + datetime.timedelta(days=10)) == 0


def test_a_deposit_paid_after_the_draw_goes_straight_back(
    announcement, registrations, client, stripe_site
):
    late = registrations[0]
    payment = start(late)
    provider = site_provider(payment)
    provider.get_form(payment)
    payment.refresh_from_db()
    pay(provider, payment)  # paid at Stripe before the deadline …
    close_and_draw(announcement)
    succeeded = event(stripe_site, "payment_intent.succeeded", payment.transaction_id)
    assert post_event(client, succeeded).json()["outcome"] == "applied"  # … told after it
    deposit = deposit_of(late)
    assert deposit.status == DepositStatus.REFUND_DUE
    assert deposit.refund_reason == "The announcement had already moved on."
    assert deposits.refund_due() == 1
    deposit.refresh_from_db()
    assert deposit.status == DepositStatus.REFUNDED


def test_a_failed_provider_refund_stays_due_with_its_error_and_is_retried(
    announcement, registrations, client, stripe_site, settings
):
    paid = {r.pk: pay_deposit(client, stripe_site, r) for r in registrations}
    close_and_draw(announcement)
    [out] = announcement.registrations.filter(status=RegistrationStatus.NOT_SELECTED)
    deposit = deposit_of(out)
    assert deposit.status == DepositStatus.REFUND_DUE

    use_stripe(settings, f"http://127.0.0.1:{free_port()}")  # nothing listens there
    assert deposits.refund_due() == 0
    deposit.refresh_from_db()
    payment = paid[out.pk]
    payment.refresh_from_db()
    assert deposit.status == DepositStatus.REFUND_DUE
    assert deposit.refund_error  # why, for the operators
    assert payment.status == PaymentStatus.CONFIRMED
    assert payment.captured_amount == DEPOSIT
    assert refunded_at_stripe(stripe_site, payment) == 0

    use_stripe(settings, stripe_site)  # the provider is back: the next run refunds
    assert deposits.refund_due() == 1
    deposit.refresh_from_db()
    payment.refresh_from_db()
    assert deposit.status == DepositStatus.REFUNDED
    assert deposit.refund_error == ""
    assert payment.status == PaymentStatus.REFUNDED
    assert refunded_at_stripe(stripe_site, payment) == 20000


def test_no_deposit_is_taken_once_registration_has_closed(announcement, registrations):
    close_and_draw(announcement)
    with pytest.raises(ValidationError, match="no longer be paid"):
        start(registrations[0])
    assert not Payment.objects.exists()


def test_a_registrant_without_its_deposit_paid_is_out_of_the_pool(
    announcement, registrations, client, stripe_site
):
    paying, unpaid = registrations[:3], registrations[3]
    for registration in paying:
        pay_deposit(client, stripe_site, registration)
    start(unpaid)  # started, never paid: still pending
    assert close_and_draw(announcement) == "selected"
    unpaid.refresh_from_db()
    assert unpaid.status == RegistrationStatus.INELIGIBLE
    [check] = [c for c in unpaid.eligibility if c["code"] == "deposit"]
    assert not check["met"]
    assert "was not paid before registration closed" in check["explanation"]
    for registration in paying:
        registration.refresh_from_db()
        assert registration.status != RegistrationStatus.INELIGIBLE
        [check] = [c for c in registration.eligibility if c["code"] == "deposit"]
        assert check["met"]
