"""Journey of issue 6: a direct purchase of a listed offering, in the browser.

The owner's administrator logs in (Oscar's login page), opens the offering on the shelf
(Oscar's catalogue, /shop/), adds it to the basket, proceeds to checkout, picks the project
and keeps the prefilled scope, previews, places the order and lands on the contract page,
which shows the contract number. Behind it: one Oscar order, one draft contract whose order it
is (marketplace/shop/checkout/views.py).
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.urls import reverse
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e

PASSWORD = "Journey-2026-purchase!"
OWNER_EMAIL = "buyer@owner.example.com"
PRICE = Decimal(8000)


@pytest.fixture
def scene(transactional_db):
    from agencies import shelf
    from tests.agencies.factories import yunnan_regions
    from tests.procurement.factories import make_world

    yunnan_regions()
    world = make_world(agencies=1)
    agency = world.agencies[0]
    world.offering = shelf.offering_save(
        actor=agency.admin_user,
        agency=agency,
        service_item=world.item,
        pricing_mode="price",
        price=PRICE,
        reference_amount=Decimal(1000000),
        turnaround_days=10,
        description="编制环境影响报告表",
    )
    user = world.owner.admin_user
    user.email = OWNER_EMAIL
    user.set_password(PASSWORD)
    user.save()
    return world


def login(page) -> None:
    page.goto("/shop/accounts/login/?next=/shop/catalogue/")
    form = page.locator("#login_form")
    form.locator("input[name='login-username']").fill(OWNER_EMAIL)
    form.locator("input[name='login-password']").fill(PASSWORD)
    with page.expect_navigation():
        form.locator("button[name=login_submit]").click()
    expect(page).to_have_url(re.compile(r"/shop/catalogue/$"))


def test_owner_buys_a_listed_offering_and_lands_on_the_draft_contract(
    scene, browser_page, page_errors
):
    from oscar.core.loading import get_model

    from procurement.models import Contract

    Order = get_model("order", "Order")
    world = scene
    page = browser_page
    product = world.offering.product

    # 1. Log in and open the offering on the shelf.
    # (Oscar's catalogue list at /shop/catalogue/ shows no product with the haystack simple
    # backend, and the agency's profile lists its offerings without a link: the journey opens
    # the offering's product page, where Oscar's "add to basket" form is.)
    login(page)
    page.goto(product.get_absolute_url())
    expect(page.locator("h1")).to_contain_text(world.item.title)

    # 2. Add it to the basket and proceed to checkout.
    with page.expect_navigation():
        page.locator("#add_to_basket_form button[type=submit]").click()
    page.goto("/shop/basket/")
    page.locator(f"a[href='{reverse('checkout:index')}']").last.click()

    # 3. The purchase details: the project and the (prefilled) scope.
    expect(page).to_have_url(re.compile(re.escape(reverse("checkout:payment-details")) + "$"))
    page.locator("#id_project").select_option(value=str(world.project.pk))
    expect(page.locator("#id_scope")).to_have_value(re.compile("编制环境影响报告表"))
    page.locator("#view_preview").click()

    # 4. The preview, then place the order.
    expect(page.locator("#purchase_project")).to_contain_text(world.project.name)
    expect(page.locator("#purchase_total")).to_contain_text("8,000")
    with page.expect_navigation():
        page.locator("#place-order").click()

    # 5. The contract page, with the contract number.
    contract = Contract.objects.get()
    assert contract.order == Order.objects.get()
    assert contract.price == PRICE
    expect(page).to_have_url(
        re.compile(re.escape(reverse("procurement:contract", args=[contract.code])) + "$")
    )
    expect(page.locator("body")).to_contain_text(contract.code)
    assert page_errors == []
