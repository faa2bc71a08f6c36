"""Direct purchase (直接购买, issue 6): a listed offering through Oscar's basket → checkout →
order → draft contract (marketplace/shop/checkout, procurement/purchase.py). Through the real
views with the test client, as an owner's browser would: Oscar's basket URL, the checkout
steps, the preview, "place order"."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.urls import reverse
from oscar.core.loading import get_model

from agencies import services as agency_services
from agencies import shelf
from marketplace.models import Role
from procurement import eligibility, purchase
from procurement.models import Contract, ContractSource, ContractStatus
from tests.agencies.factories import UserFactory, add_member, make_regulator_user, region
from tests.procurement.factories import (
    login,
    make_base,
    make_eligible_agency,
    make_project,
    make_world,
)

Order = get_model("order", "Order")
Basket = get_model("basket", "Basket")

pytestmark = pytest.mark.django_db

PRICE = Decimal("8000.00")
SCOPE = "编制五华区老旧小区改造项目环境影响报告表并取得批复"


@pytest.fixture(scope="module")
def base(module_db):
    """The catalog with fee rules, once per module (Wagtail pages take seconds to publish)."""
    return make_base()


@pytest.fixture
def world(base):
    """An owner with a project in 五华区 and two approved agencies qualified for ``eia``."""
    return make_world(base=base, agencies=2)


def list_offering(agency, item, price=PRICE):
    """A fixed-price offering of ``item`` (``eia`` is priced by an amount-based rule: the
    price is quoted for a reference amount of 1,000,000, ceiling 18,000)."""
    return shelf.offering_save(
        actor=agency.admin_user,
        agency=agency,
        service_item=item,
        pricing_mode="price",
        price=price,
        reference_amount=Decimal(1000000),
        turnaround_days=10,
        description="编制环境影响报告表",
    )


@pytest.fixture
def offering(world):
    return list_offering(world.agencies[0], world.item)


@pytest.fixture
def owner_client(client, world):
    return login(client, world.owner.admin_user)


def add_to_basket(client, offering, quantity: int = 1):
    response = client.post(
        reverse("basket:add", kwargs={"pk": offering.product_id}), {"quantity": quantity}
    )
    assert response.status_code == 302, response.content[:500]
    return response


def open_checkout(client):
    """Oscar's checkout from its start: no shipping, no payment method, so the steps pass
    straight through to the purchase details."""
    return client.get(reverse("checkout:index"), follow=True)


def post_details(client, project, scope: str = SCOPE, **extra):
    return client.post(
        reverse("checkout:preview"), {"project": project.pk, "scope": scope, **extra}
    )


def place_order(client, project, scope: str = SCOPE):
    return post_details(client, project, scope, action="place_order")


def text(response) -> str:
    return response.content.decode()


def open_basket(user):
    return Basket.objects.filter(owner=user, status=Basket.OPEN).first()


# --- the happy path ---------------------------------------------------------------------------


def test_an_owner_buys_a_listed_offering_and_gets_an_order_and_a_draft_contract(
    owner_client, world, offering
):
    add_to_basket(owner_client, offering)

    details = open_checkout(owner_client)
    assert details.status_code == 200
    assert details.redirect_chain[-1][0] == reverse("checkout:payment-details")
    page = text(details)
    assert 'id="purchase_form"' in page
    assert world.project.name in page
    assert "编制环境影响报告表" in page  # the scope is prefilled from the offering

    preview = post_details(owner_client, world.project)
    assert preview.status_code == 200
    page = text(preview)
    assert 'id="place-order"' in page
    assert SCOPE in page
    assert not Order.objects.exists()

    placed = place_order(owner_client, world.project)

    order = Order.objects.get()
    contract = Contract.objects.get()
    assert placed.status_code == 302
    assert placed["Location"] == reverse("procurement:contract", args=[contract.code])
    assert contract.order == order
    assert contract.source == ContractSource.DIRECT_PURCHASE
    assert contract.status == ContractStatus.DRAFT
    assert contract.offering == offering
    assert contract.project == world.project
    assert contract.owner == world.owner
    assert contract.agency == offering.agency
    assert contract.scope == SCOPE
    assert contract.price == PRICE
    assert order.total_incl_tax == PRICE
    assert order.user == world.owner.admin_user
    assert order.status == "Awaiting signature"
    [line] = order.lines.all()
    assert line.product_id == offering.product_id
    assert line.quantity == 1
    assert line.partner_id == offering.agency.partner_id
    assert line.line_price_incl_tax == PRICE
    assert order.status_changes.count() == 0  # placed in its initial status
    # The basket is spent: a new one is empty.
    assert open_basket(world.owner.admin_user) is None
    assert Basket.objects.get(pk=order.basket_id).status == Basket.SUBMITTED


def test_placing_the_same_basket_twice_makes_one_order_and_shows_its_contract(
    owner_client, world, offering
):
    """A double click or a second tab: the second "place order" read the basket while it was
    still open. It waits for the first (the agency's lock), finds its order and shows its
    contract; the basket stays submitted (Oscar would otherwise thaw it on the error)."""
    add_to_basket(owner_client, offering)
    open_checkout(owner_client)
    first = place_order(owner_client, world.project)
    order = Order.objects.get()
    Basket.objects.filter(pk=order.basket_id).update(status=Basket.OPEN)  # the second's view
    open_checkout(owner_client)

    second = place_order(owner_client, world.project)

    contract = Contract.objects.get()
    assert second.status_code == 302
    assert (
        second["Location"]
        == first["Location"]
        == reverse("procurement:contract", args=[contract.code])
    )
    assert Order.objects.count() == 1
    assert Basket.objects.get(pk=order.basket_id).status == Basket.SUBMITTED


def test_a_staff_member_of_the_owner_may_buy_too(client, world, offering):
    staff = add_member(world.owner.organisation, Role.STAFF)
    login(client, staff)
    add_to_basket(client, offering)
    open_checkout(client)
    response = place_order(client, world.project)
    assert response.status_code == 302
    assert Contract.objects.get().order.user == staff


# --- who may buy ------------------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_log_in(client, offering):
    add_to_basket(client, offering)
    response = client.get(reverse("checkout:index"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("customer:login"))


@pytest.mark.parametrize("who", ["agency member", "regulator", "member of nothing"])
def test_users_who_do_not_act_for_an_owner_are_refused(client, world, offering, who):
    if who == "agency member":
        user = world.agencies[0].admin_user
    elif who == "regulator":
        user = make_regulator_user(industries=["ecology"])
    else:
        user = UserFactory()
    login(client, user)
    add_to_basket(client, offering)

    for name in ("checkout:index", "checkout:payment-details"):
        response = client.get(reverse(name))
        assert response.status_code == 403
        assert "Only the administrators and staff of a project owner unit" in text(response)
    response = place_order(client, world.project)
    assert response.status_code == 403
    assert not Order.objects.exists()
    assert not Contract.objects.exists()


def test_a_project_of_another_owner_cannot_be_chosen(owner_client, world, offering):
    from tests.procurement.factories import make_owner

    other = make_project(make_owner(name="另一家业主单位", legal="孙八"))
    add_to_basket(owner_client, offering)
    open_checkout(owner_client)

    response = place_order(owner_client, other)

    assert response.status_code == 200
    assert "Select a valid choice" in text(response)
    assert not Order.objects.exists()


# --- the basket: one offering, once -----------------------------------------------------------


def test_two_offerings_in_the_basket_are_refused(owner_client, world, offering):
    second = list_offering(world.agencies[1], world.item, price=Decimal(7000))
    add_to_basket(owner_client, offering)
    add_to_basket(owner_client, second)

    response = open_checkout(owner_client)

    assert response.redirect_chain[-1][0] == reverse("basket:summary")
    assert "keep only one offering in your basket (it holds 2)" in text(response)
    response = place_order(owner_client, world.project)
    assert response.status_code == 302
    assert response["Location"] == reverse("basket:summary")
    assert not Order.objects.exists()
    assert not Contract.objects.exists()


def test_a_quantity_above_one_is_refused(owner_client, world, offering):
    add_to_basket(owner_client, offering, quantity=2)

    response = open_checkout(owner_client)

    assert response.redirect_chain[-1][0] == reverse("basket:summary")
    assert "Buy an offering once (quantity 1)" in text(response)
    assert place_order(owner_client, world.project)["Location"] == reverse("basket:summary")
    assert not Order.objects.exists()


# --- re-checked at checkout -------------------------------------------------------------------


@pytest.mark.parametrize("limit", ["8000", "5000"])
def test_an_amount_at_or_above_the_direct_selection_maximum_is_refused(
    owner_client, world, offering, settings, limit
):
    settings.PROCUREMENT = {**settings.PROCUREMENT, "DIRECT_SELECTION_MAX": limit}
    add_to_basket(owner_client, offering)
    open_checkout(owner_client)

    preview = post_details(owner_client, world.project)
    placed = place_order(owner_client, world.project)

    for response in (preview, placed):
        assert response.status_code == 200
        page = text(response)
        assert "A direct purchase is allowed only for an amount below" in page
        assert 'id="place-order"' not in page
    assert not Order.objects.exists()
    assert not Contract.objects.exists()


def test_an_agency_suspended_after_the_basket_was_filled_cannot_be_bought(
    owner_client, world, offering
):
    add_to_basket(owner_client, offering)
    open_checkout(owner_client)
    assert 'id="place-order"' in text(post_details(owner_client, world.project))

    agency_services.agency_suspend(agency=offering.agency, reason="资质证书被吊销")
    response = place_order(owner_client, world.project)

    assert response.status_code == 200
    page = text(response)
    assert "The agency is suspended: 资质证书被吊销." in page
    assert not Order.objects.exists()
    assert not Contract.objects.exists()
    # The basket is kept, open, with its line.
    basket = open_basket(world.owner.admin_user)
    assert basket is not None
    assert [line.product_id for line in basket.all_lines()] == [offering.product_id]
    # And the preview refuses it too.
    assert "The agency is suspended" in text(post_details(owner_client, world.project))


def test_the_locked_recheck_at_placement_refuses_and_keeps_the_basket(
    owner_client, world, offering
):
    """A check that passes at the preview and fails inside the placing transaction (a sanction
    provider that answers "barred" from its second call on: the pre-check of "place order"
    passes, the re-check under the agency's lock fails): no order, no contract, the basket
    open again (it was frozen for the submission)."""
    calls = []

    def provider(ids, day):
        calls.append(ids)
        return {offering.agency_id: "市场禁入（黑名单）"} if len(calls) > 1 else {}

    add_to_basket(owner_client, offering)
    open_checkout(owner_client)
    post_details(owner_client, world.project)
    eligibility.register_sanction_provider(provider)
    try:
        response = place_order(owner_client, world.project)
    finally:
        eligibility._sanction_providers.remove(provider)

    assert len(calls) == 2
    assert response.status_code == 200
    assert "市场禁入（黑名单）" in text(response)
    assert not Order.objects.exists()
    assert not Contract.objects.exists()
    basket = open_basket(world.owner.admin_user)
    assert basket is not None and basket.num_lines == 1


def test_a_contract_refused_after_the_order_was_placed_rolls_the_order_back(
    owner_client, world, offering, monkeypatch
):
    """Oscar's order exists when ``contract_from_purchase`` runs; if it refuses, the order goes
    with it (one transaction) and the owner sees why."""
    from django.core.exceptions import ValidationError

    from procurement import contracts

    seen = []

    def refuse(*, actor, order, offering, project, scope):
        seen.append(Order.objects.filter(pk=order.pk).exists())
        raise ValidationError({"scope": ["The scope is refused (test)."]})

    monkeypatch.setattr(contracts, "contract_from_purchase", refuse)
    add_to_basket(owner_client, offering)
    open_checkout(owner_client)

    response = place_order(owner_client, world.project)

    assert seen == [True]
    assert response.status_code == 200
    assert "The scope is refused (test)." in text(response)
    assert not Order.objects.exists()
    assert not Contract.objects.exists()
    basket = open_basket(world.owner.admin_user)
    assert basket is not None and basket.num_lines == 1


def test_an_offering_withdrawn_after_the_basket_was_filled_cannot_be_bought(
    owner_client, world, offering
):
    add_to_basket(owner_client, offering)
    open_checkout(owner_client)
    shelf.offering_withdraw(actor=world.agencies[0].admin_user, offering=offering)

    response = place_order(owner_client, world.project)

    assert "The agency has withdrawn this offering from the shelf." in text(response)
    assert not Order.objects.exists()


def test_the_preview_is_reached_by_posting_the_details(owner_client, world, offering):
    add_to_basket(owner_client, offering)
    open_checkout(owner_client)
    response = owner_client.get(reverse("checkout:preview"))
    assert response.status_code == 302
    assert response["Location"] == reverse("checkout:payment-details")


def test_the_preview_costs_a_fixed_number_of_queries(
    owner_client, world, offering, django_assert_num_queries
):
    add_to_basket(owner_client, offering)
    open_checkout(owner_client)
    post_details(owner_client, world.project)  # warm the caches (site, content types)
    for _ in range(3):
        make_project(world.owner)
    # 25, whatever the number of the owner's projects: the session, the user, the user's
    # memberships, the owners (user_owners); Oscar's basket middleware: the basket, its line
    # count, vouchers, offers, the lines (with product and stock record), their attributes,
    # the product images; our line check: the offering; Oscar's basket checks: the stock
    # record, the product class (shipping); the form's project; the stock record (the
    # basket's total, the amount checked); purchase_problems: the offering (agency,
    # organisation, region, item), the project, the item's requirements, the agency's usable
    # certificates, the owner's members, the agencies sharing one, the sanctions in effect
    # (ratings/enforcement.py; a province-wide agency has no service regions to load); the
    # page: unread notifications, flat pages.
    with django_assert_num_queries(25):
        response = post_details(owner_client, world.project)
    assert response.status_code == 200


# --- purchase_problems, the rules one by one -------------------------------------------------


def test_purchase_problems_are_empty_for_an_eligible_purchase(world, offering):
    assert (
        purchase.purchase_problems(owner=world.owner, offering=offering, project=world.project)
        == []
    )
    purchase.purchase_check(owner=world.owner, offering=offering, project=world.project)


def test_purchase_problems_explain_a_conflict_of_interest(world, offering):
    agency = offering.agency
    agency.legal_representative = world.owner.legal_representative
    type(agency).objects.filter(pk=agency.pk).update(
        legal_representative=world.owner.legal_representative
    )
    add_member(agency.organisation, Role.STAFF, user=world.owner.admin_user)

    problems = purchase.purchase_problems(
        owner=world.owner, offering=offering, project=world.project
    )

    assert any("same legal representative" in p for p in problems)
    assert any("also a member of the project owner" in p for p in problems)


def test_purchase_problems_explain_a_service_area_that_does_not_cover_the_project(world, base):
    from agencies.models import ServiceScope

    agency = make_eligible_agency(world.item)
    type(agency).objects.filter(pk=agency.pk).update(service_scope=ServiceScope.REGIONS)
    agency.service_regions.set([region("530300")])  # 曲靖市, not 五华区
    offering = list_offering(agency, world.item)

    problems = purchase.purchase_problems(
        owner=world.owner, offering=offering, project=world.project
    )

    assert problems == ["The agency's service area does not cover the project's location (五华区)."]


def test_purchase_problems_explain_a_sanction(world, offering):
    def provider(ids, day):
        return {offering.agency_id: "市场禁入（黑名单）至 2027-12-31"}

    eligibility.register_sanction_provider(provider)
    try:
        problems = purchase.purchase_problems(
            owner=world.owner, offering=offering, project=world.project
        )
    finally:
        eligibility._sanction_providers.remove(provider)
    assert problems == ["市场禁入（黑名单）至 2027-12-31"]


def test_purchase_check_raises_with_every_reason(world, offering, settings):
    settings.PROCUREMENT = {**settings.PROCUREMENT, "DIRECT_SELECTION_MAX": "100"}
    shelf.offering_withdraw(actor=world.agencies[0].admin_user, offering=offering)
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as info:
        purchase.purchase_check(owner=world.owner, offering=offering, project=world.project)
    messages = info.value.messages
    assert len(messages) == 2
    assert re.search(r"below 100\.00 yuan \(this one is 8,000\.00 yuan\)", messages[1])
