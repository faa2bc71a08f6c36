"""Journey of issue 6's first "Done when", in the browser, with payments through localstripe
(its fake Stripe.js in the page, its signed webhooks posted back to the live server):

award → contract → the owner sets the price and signs → the agency signs → the agency
delivers → the owner returns it with reasons → the agency reworks → the owner accepts → the
owner pays the milestone (a 3-D Secure test card: the fake Stripe.js's authentication window)
→ the provider's webhook marks it paid → the contract is completed. The contract PDF is served
to the parties in Chinese.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e

PASSWORD = "Journey-2026-contract!"
WEBHOOK_SECRET = "whsec_journey_contract"
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def scene(transactional_db, settings, localstripe_url, live_server):
    from marketplace.localstripe_launcher import register_webhook
    from marketplace.models import Membership, Role
    from tests.agencies.factories import yunnan_regions
    from tests.procurement.factories import make_awarded_contract, make_world

    settings.PAYMENT_VARIANTS = {
        "stripe": (
            "marketplace.stripe_provider.StripePaymentIntentProvider",
            {
                "secret_key": "sk_test_journey",
                "publishable_key": "pk_test_journey",
                "api_base": localstripe_url,
                "js_url": f"{localstripe_url}/js.stripe.com/v3/",
                "max_network_retries": 0,
            },
        )
    }
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    register_webhook(
        localstripe_url,
        endpoint=f"{live_server.url}/payments/stripe/webhook/",
        secret=WEBHOOK_SECRET,
    )
    yunnan_regions()
    world = make_world(agencies=3)
    contract = make_awarded_contract(world)
    agency_user = Membership.objects.get(
        organisation_id=contract.agency.organisation_id, role=Role.ADMIN
    ).user
    for number, user in enumerate([world.owner.admin_user, agency_user]):
        user.email = f"party{number}@journey.example.com"
        user.set_password(PASSWORD)
        user.save()
    return contract, world.owner.admin_user, agency_user


def login(page, email: str, next_path: str) -> None:
    page.goto(next_path)
    expect(page).to_have_url(re.compile(r"/shop/accounts/login/"))
    form = page.locator("#login_form")
    form.locator("input[name='login-username']").fill(email)
    form.locator("input[name='login-password']").fill(PASSWORD)
    with page.expect_navigation():
        form.locator("button[name=login_submit]").click()
    expect(page).to_have_url(re.compile(re.escape(next_path) + "$"))


def sign(page) -> None:
    page.locator("#signatures input[name=agree]").check()
    page.locator("#sign-button").click()


def deliver(page, tmp_path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(PDF)
    form = page.locator("#milestones form[action$='/deliver/']")
    form.locator("input[name=file]").set_input_files(str(path))
    form.locator("button[type=submit]").click()


def review(page, decision: str, reasons: str = "") -> None:
    form = page.locator("#milestones form[action$='/review/']")
    form.locator(f"input[name=decision][value={decision}]").check()
    form.locator("textarea[name=reasons]").fill(reasons)
    form.locator("button[type=submit]").click()


def test_award_to_completion_with_rework_and_a_payment_through_the_provider(
    scene, new_browser_page, live_url, tmp_path
):
    from procurement.models import ContractStatus, MilestoneStatus

    contract, owner_user, agency_user = scene
    url = f"/procurement/contracts/{contract.code}/"

    # The owner sets the price (below the ceiling) and signs.
    owner = new_browser_page()
    login(owner, owner_user.email, url)
    owner.locator(f"a[href='{url}terms/']").click()
    owner.locator("input[name=price]").fill("9000.00")
    owner.locator("input[name='m-0-amount']").fill("9000.00")
    owner.locator("form.form button[type=submit]").click()
    expect(owner).to_have_url(re.compile(re.escape(url) + "$"))
    expect(owner.locator("#contract-price")).to_contain_text("9000.00")
    sign(owner)
    expect(owner.locator("#signatures")).to_contain_text("127.0.0.1")

    # The agency signs: the contract is signed, the due date runs.
    agency = new_browser_page()
    login(agency, agency_user.email, url)
    sign(agency)
    expect(agency.locator("#due-date")).to_be_visible()
    contract.refresh_from_db()
    assert contract.status == ContractStatus.SIGNED

    # Deliver, return with reasons, rework, accept.
    deliver(agency, tmp_path, "环评报告表（送审稿）.pdf")
    owner.reload()
    review(owner, "return", "缺少噪声环境现状监测数据，请补充后重新提交")
    agency.reload()
    expect(agency.locator("#milestones")).to_contain_text("缺少噪声环境现状监测数据")
    deliver(agency, tmp_path, "环评报告表（修改稿）.pdf")
    owner.reload()
    review(owner, "accept")
    contract.refresh_from_db()
    assert contract.status == ContractStatus.ACCEPTED

    # Pay: the provider's fake Stripe.js asks for 3-D Secure; the webhook says paid.
    owner.locator("#milestones form[action$='/pay/'] button").click()
    expect(owner).to_have_url(re.compile(r"/procurement/payments/"))
    owner.locator("#stripe-test-card").select_option("3ds")
    owner.locator("#stripe-pay-button").click()
    owner.get_by_role("button", name="Complete authentication").click()
    expect(owner.locator("#payment-status")).to_have_attribute(
        "data-status", "confirmed", timeout=20_000
    )
    milestone = contract.milestones.get()
    for _ in range(40):  # the webhook arrives a second after the charge (localstripe's delay)
        milestone.refresh_from_db()
        if milestone.status == MilestoneStatus.PAID:
            break
        owner.wait_for_timeout(250)
    assert milestone.status == MilestoneStatus.PAID
    contract.refresh_from_db()
    assert contract.status == ContractStatus.COMPLETED
    owner.goto(url)
    expect(owner.locator("#milestones")).to_contain_text("9000.00")

    # The contract document, in Chinese, for the parties.
    response = owner.request.get(live_url(f"{url}document.pdf"))
    assert response.ok
    assert response.headers["content-type"] == "application/pdf"
    assert response.body().startswith(b"%PDF")
