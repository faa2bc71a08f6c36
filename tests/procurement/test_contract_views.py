"""The contract pages (procurement/views/contracts.py) through the Django test client: every
action's POST works for the party it belongs to and is a 404 for anyone else (nothing
changes), bad input is a message beside the contract and changes nothing, the PDF is the
parties', the list filters by status, and the page and the list cost a fixed number of
queries whatever the number of milestones or contracts."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from marketplace.models import Payment
from procurement import contracts
from procurement.models import (
    Contract,
    ContractStatus,
    Deliverable,
    Extension,
    ExtensionStatus,
    MilestoneStatus,
)
from tests.marketplace.factories import UserFactory
from tests.payments_helpers import (
    PDF,
    agency_admin,
    contract_to_pay,
    deliver_and_accept,
    pdf_upload,
    set_terms,
    sign_both,
)
from tests.procurement.factories import login, make_awarded_contract, text

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


@pytest.fixture
def contract(world):
    """An awarded draft: one milestone for the whole price."""
    return make_awarded_contract(world)


@pytest.fixture
def owner(world):
    return world.owner.admin_user


@pytest.fixture
def agency(contract):
    return agency_admin(contract)


@pytest.fixture
def outsider(world, contract):
    """The administrator of another agency of the same announcement (not a party)."""
    return next(
        agency_admin_of
        for agency_admin_of in (a.admin_user for a in world.agencies)
        if agency_admin_of != agency_admin(contract)
    )


def url(name, contract, *args):
    return reverse(f"procurement:{name}", args=[contract.code, *args])


def post_as(client, user, path, data=None, **extra):
    login(client, user)
    return client.post(path, data or {}, **extra)


def refreshed(contract) -> Contract:
    return Contract.objects.get(pk=contract.pk)


def in_days(n: int) -> str:
    return (timezone.localdate() + datetime.timedelta(days=n)).isoformat()


def terms_data(price="9000.00", rows=(("报告表初稿", "4000.00", 5), ("取得批复", "5000.00", 10))):
    data = {
        "price": price,
        "scope": "编制环境影响报告表并取得批复",
        "m-TOTAL_FORMS": str(len(rows)),
        "m-INITIAL_FORMS": "0",
        "m-MIN_NUM_FORMS": "0",
        "m-MAX_NUM_FORMS": "12",
    }
    for i, (title, amount, days) in enumerate(rows):
        data |= {f"m-{i}-title": title, f"m-{i}-amount": amount, f"m-{i}-due_date": in_days(days)}
    return data


# --- draft: terms and signatures --------------------------------------------------------------


def test_terms_are_set_by_the_owner_only(client, contract, owner, agency, outsider):
    path = url("contract_terms", contract)
    for user in (agency, outsider):
        login(client, user)
        assert client.get(path).status_code == 404
        assert post_as(client, user, path, terms_data()).status_code == 404
    assert refreshed(contract).price == Decimal("10000.00")

    login(client, owner)
    assert client.get(path).status_code == 200
    bad = client.post(path, terms_data(price="8000.00"))  # milestones add up to 9,000
    assert bad.status_code == 200
    assert "must add up to the contract price" in text(bad)
    assert refreshed(contract).price == Decimal("10000.00")
    response = client.post(path, terms_data())
    assert response.status_code == 302
    contract = refreshed(contract)
    assert contract.price == Decimal("9000.00")
    assert [m.amount for m in contract.milestones.all()] == [Decimal("4000.00"), Decimal("5000.00")]


def test_signing_needs_a_party_and_the_tick(client, contract, owner, agency, outsider):
    set_terms(contract, owner)
    path = url("contract_sign", contract)
    assert post_as(client, outsider, path, {"agree": "on"}).status_code == 404
    no_tick = post_as(client, owner, path, {}, follow=True)
    assert "Tick the box" in text(no_tick)
    assert contract.signatures.count() == 0

    assert post_as(client, owner, path, {"agree": "on"}).status_code == 302
    again = post_as(client, owner, path, {"agree": "on"}, follow=True)
    assert "already signed" in text(again)
    assert contract.signatures.count() == 1
    assert post_as(client, agency, path, {"agree": "on"}).status_code == 302
    contract = refreshed(contract)
    assert contract.status == ContractStatus.SIGNED
    assert {s.ip_address for s in contract.signatures.all()} == {"127.0.0.1"}


def test_the_paper_copy_is_attached_by_a_party(client, contract, owner, agency, outsider):
    set_terms(contract, owner)
    contract = sign_both(contract, owner)
    path = url("contract_paper_copy", contract)
    upload = {"paper_copy": pdf_upload("signed.pdf")}
    assert post_as(client, outsider, path, upload).status_code == 404
    assert not refreshed(contract).paper_copy
    assert (
        post_as(client, agency, path, {"paper_copy": pdf_upload("signed.pdf")}).status_code == 302
    )
    assert refreshed(contract).paper_copy
    login(client, owner)
    download = client.get(url("contract_paper_copy_file", contract))
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == PDF
    login(client, outsider)
    assert client.get(url("contract_paper_copy_file", contract)).status_code == 404


# --- fulfilment -------------------------------------------------------------------------------


@pytest.fixture
def signed(contract, owner):
    set_terms(contract, owner)
    return sign_both(contract, owner)


def test_the_agency_starts_the_service(client, signed, owner, agency, outsider):
    path = url("contract_start", signed)
    assert post_as(client, outsider, path).status_code == 404
    assert post_as(client, owner, path).status_code == 404  # the owner's side cannot
    assert refreshed(signed).status == ContractStatus.SIGNED
    assert post_as(client, agency, path).status_code == 302
    assert refreshed(signed).status == ContractStatus.IN_PROGRESS


def test_a_deliverable_of_the_wrong_type_shows_the_error_and_creates_nothing(
    client, signed, owner, agency, outsider
):
    first = signed.milestones.get(sequence=1)
    path = url("deliverable_submit", signed, first.pk)
    assert post_as(client, outsider, path, {"file": pdf_upload()}).status_code == 404
    assert post_as(client, owner, path, {"file": pdf_upload()}).status_code == 404
    assert not Deliverable.objects.exists()

    wrong = pdf_upload("report.pdf", b"PK\x03\x04 a zip, not a pdf")
    response = post_as(client, agency, path, {"file": wrong, "note": "初稿"}, follow=True)
    assert response.status_code == 200
    assert "not an accepted format" in text(response)
    assert not Deliverable.objects.exists()
    assert refreshed(signed).status == ContractStatus.SIGNED
    no_file = post_as(client, agency, path, {"note": "忘了附件"}, follow=True)
    assert "This field is required" in text(no_file)
    assert not Deliverable.objects.exists()

    response = post_as(client, agency, path, {"file": pdf_upload(), "note": "初稿"})
    assert response.status_code == 302
    [deliverable] = Deliverable.objects.all()
    assert (deliverable.milestone_id, deliverable.note) == (first.pk, "初稿")
    assert refreshed(signed).status == ContractStatus.DELIVERED
    login(client, owner)
    file_url = url("deliverable_file", signed, deliverable.pk)
    assert b"".join(client.get(file_url).streaming_content) == PDF
    login(client, outsider)
    assert client.get(file_url).status_code == 404


def test_the_owner_reviews_a_delivered_result(client, signed, owner, agency, outsider):
    first = signed.milestones.get(sequence=1)
    login(client, agency)
    client.post(url("deliverable_submit", signed, first.pk), {"file": pdf_upload()})
    path = url("deliverable_review", signed, first.pk)
    accept = {"decision": "accept", "reasons": ""}
    assert post_as(client, outsider, path, accept).status_code == 404
    assert post_as(client, agency, path, accept).status_code == 404  # not its own result
    first.refresh_from_db()
    assert first.status == MilestoneStatus.DELIVERED

    vague = post_as(client, owner, path, {"decision": "return", "reasons": " "}, follow=True)
    assert "what must be reworked" in text(vague)
    assert post_as(client, owner, path, {"decision": "maybe"}, follow=True).status_code == 200
    first.refresh_from_db()
    assert first.status == MilestoneStatus.DELIVERED
    assert post_as(client, owner, path, accept).status_code == 302
    first.refresh_from_db()
    assert first.status == MilestoneStatus.ACCEPTED


def test_paying_is_the_owners_and_for_the_exact_amount(client, world, owner, outsider):
    contract = contract_to_pay(world, accept=1)
    first = contract.milestones.get(sequence=1)
    path = url("milestone_pay", contract, first.pk)
    assert post_as(client, outsider, path, {"amount": "4000.00"}).status_code == 404
    assert post_as(client, agency_admin(contract), path, {"amount": "4000.00"}).status_code == 404
    wrong = post_as(client, owner, path, {"amount": "3000.00"}, follow=True)
    assert "amount, 4,000.00 yuan" in text(wrong)
    assert not Payment.objects.exists()


def test_extensions_are_proposed_and_answered_by_the_parties(
    client, signed, owner, agency, outsider
):
    path = url("extension_propose", signed)
    new_due = (signed.due_date + datetime.timedelta(days=7)).isoformat()
    proposal = {"new_due_date": new_due, "reason": "批复部门延期受理"}
    assert post_as(client, outsider, path, proposal).status_code == 404
    assert not Extension.objects.exists()
    missing = post_as(client, agency, path, {"new_due_date": new_due}, follow=True)
    assert "This field is required" in text(missing)
    assert post_as(client, agency, path, proposal).status_code == 302
    [extension] = Extension.objects.all()

    answer = url("extension_answer", signed, extension.pk)
    assert post_as(client, outsider, answer, {"answer": "agree"}).status_code == 404
    assert post_as(client, agency, answer, {"answer": "agree"}).status_code == 404  # its own
    assert post_as(client, owner, answer, {"answer": "withdraw"}).status_code == 404
    extension.refresh_from_db()
    assert extension.status == ExtensionStatus.PROPOSED
    assert post_as(client, owner, answer, {"answer": "agree"}).status_code == 302
    extension.refresh_from_db()
    assert extension.status == ExtensionStatus.AGREED
    assert refreshed(signed).due_date.isoformat() == new_due


def test_termination_by_a_party_with_a_reason(client, signed, owner, outsider):
    path = url("contract_terminate", signed)
    assert post_as(client, outsider, path, {"reason": "项目取消"}).status_code == 404
    no_reason = post_as(client, owner, path, {"reason": ""}, follow=True)
    assert "Give the reason for terminating" in text(no_reason)
    assert refreshed(signed).status == ContractStatus.SIGNED
    assert post_as(client, owner, path, {"reason": "项目取消"}).status_code == 302
    contract = refreshed(signed)
    assert contract.status == ContractStatus.TERMINATED
    assert contract.termination_reason == "项目取消"


def test_every_action_is_a_post(client, signed, agency):
    login(client, agency)
    first = signed.milestones.get(sequence=1)
    for path in (
        url("contract_sign", signed),
        url("contract_start", signed),
        url("deliverable_submit", signed, first.pk),
        url("milestone_pay", signed, first.pk),
        url("contract_terminate", signed),
    ):
        assert client.get(path).status_code == 405, path


# --- the document and the pages ---------------------------------------------------------------


def test_the_pdf_is_the_parties(client, contract, owner, agency, outsider):
    path = url("contract_pdf", contract)
    for user in (owner, agency):
        login(client, user)
        response = client.get(path)
        assert response.status_code == 200
        assert response["Content-Type"] == "application/pdf"
        assert response.content.startswith(b"%PDF")
        assert f'filename="{contract.code}.pdf"' in response["Content-Disposition"]
    for user in (outsider, UserFactory()):
        login(client, user)
        assert client.get(path).status_code == 404
    client.logout()
    assert client.get(path).status_code == 302


def test_the_contract_page_shows_each_party_what_it_can_do(client, signed, owner, agency, outsider):
    path = url("contract", signed)
    login(client, agency)
    page = text(client.get(path))
    assert url("contract_start", signed) in page
    assert url("contract_terms", signed) not in page
    login(client, owner)
    page = text(client.get(path))
    assert url("contract_start", signed) not in page
    login(client, outsider)
    assert client.get(path).status_code == 404


def test_the_list_filters_by_status_and_refuses_an_unknown_one(client, world, owner):
    draft = make_awarded_contract(world)
    signed = make_awarded_contract(world)
    set_terms(signed, owner)
    sign_both(signed, owner)
    login(client, owner)
    path = reverse("procurement:contracts")

    everything = text(client.get(path))
    assert draft.code in everything and signed.code in everything
    only_signed = text(client.get(path, {"status": "signed"}))
    assert signed.code in only_signed and draft.code not in only_signed
    only_drafts = text(client.get(path, {"status": "draft"}))
    assert draft.code in only_drafts and signed.code not in only_drafts
    unknown = client.get(path, {"status": "bogus"})
    assert unknown.status_code == 200
    assert "Unknown status: bogus" in text(unknown)
    assert draft.code in text(unknown) and signed.code in text(unknown)  # the filter is dropped

    login(client, UserFactory())  # a member of nothing sees no contract
    assert draft.code not in text(client.get(path))
    client.logout()
    assert client.get(path).status_code == 302


# --- query counts -----------------------------------------------------------------------------


def test_the_contract_page_costs_the_same_queries_whatever_its_milestones(
    client, world, owner, django_assert_num_queries
):
    """The contract page of a signed contract with two milestones (one accepted), then of
    one with five milestones — three delivered and accepted, one of them after a returned
    round, two payments, an extension agreed and another proposed: the same 13 queries —

    * 2 — the session, then its user (authentication);
    * 1 — the contract with its parties (organisations, regions), project, item,
      announcement, offering and order joined in (``selectors.contract_for_page``) …
    * 6 — … and its prefetches, one query each whatever their number: milestones,
      deliverables, payments, signatures, their signers, extensions;
    * 1 — the user's memberships (``has_perm``; cached on the user for the other checks);
    * 2 — the timeline: the parties' memberships (whose member acted), then the audit events
      of the contract, its milestones and extensions;
    * 1 — the unread-notification count of the page header.
    """
    few = contract_to_pay(world, amounts=("4000.00", "5000.00"), accept=1)
    many = contract_to_pay(world, amounts=("1000.00",) * 5, accept=0)
    milestones = list(many.milestones.order_by("sequence"))
    agency = agency_admin(many)
    contracts.deliverable_submit(actor=agency, milestone=milestones[0], file=pdf_upload())
    contracts.deliverable_return(actor=owner, milestone=milestones[0], reasons="补充数据")
    contracts.deliverable_submit(actor=agency, milestone=milestones[0], file=pdf_upload())
    contracts.deliverable_accept(actor=owner, milestone=milestones[0])
    for m in milestones[1:3]:
        deliver_and_accept(many, m, owner)
    for m in milestones[:2]:
        Payment.objects.create(  # as milestone_payment_start makes them
            variant="stripe",
            purpose="milestone",
            order=many.order,
            milestone=m,
            created_by=owner,
            currency="CNY",
            total=m.amount,
            message="Your card was declined.",
        )
    many.refresh_from_db()
    first = contracts.extension_propose(
        actor=agency,
        contract=many,
        new_due_date=many.due_date + datetime.timedelta(days=3),
        reason="补充监测",
    )
    contracts.extension_answer(actor=owner, extension=first, agree=True)
    many.refresh_from_db()
    contracts.extension_propose(
        actor=owner,
        contract=many,
        new_due_date=many.due_date + datetime.timedelta(days=3),
        reason="等待批复",
    )

    login(client, owner)
    client.get(url("contract", few))
    with django_assert_num_queries(13):
        assert client.get(url("contract", few)).status_code == 200
    client.get(url("contract", many))
    with django_assert_num_queries(13):
        page = client.get(url("contract", many))
    assert page.status_code == 200
    assert "等待批复" in text(page) and "Your card was declined." in text(page)


def test_the_contract_list_costs_the_same_queries_whatever_its_length(
    client, world, owner, django_assert_num_queries
):
    """The owner's contract list with one contract, then with three: the same 6 queries —

    * 2 — the session, then its user (authentication);
    * 1 — the user's memberships (``user_organisations``, cached on the user);
    * 1 — the paginator's count;
    * 1 — the unread-notification count of the page header;
    * 1 — the page of contracts with owner, agency (and their organisations), project and
      service item joined in: nothing more per row.
    """
    make_awarded_contract(world)
    login(client, owner)
    path = reverse("procurement:contracts")
    client.get(path)
    with django_assert_num_queries(6):
        assert client.get(path).status_code == 200
    make_awarded_contract(world)
    make_awarded_contract(world)
    with django_assert_num_queries(6):
        response = client.get(path)
    assert len(response.context["contracts"]) == 3
