"""Contracts and fulfilment (procurement.contracts): creation at the award with its Oscar
order, the draft's terms, the two signatures, deliverables with rework, extensions, overdue,
termination — each transition allowed for the right party and refused for the others, bad
input refused with nothing changed."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from marketplace import workdays
from marketplace.models import AuditEvent, Membership, Notification, OutboxMessage, Role
from procurement import contracts
from procurement.models import (
    AnnouncementStatus,
    ContractStatus,
    ExtensionStatus,
    MilestoneStatus,
    SigningParty,
)
from tests.procurement.factories import make_awarded_contract

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def pdf(name="report.pdf", content=PDF):
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def agency_admin(contract):
    return Membership.objects.get(
        organisation_id=contract.agency.organisation_id, role=Role.ADMIN
    ).user


@pytest.fixture
def contract(world):
    return make_awarded_contract(world)


@pytest.fixture
def owner(world):
    return world.owner.admin_user


def in_days(n):
    return timezone.localdate() + datetime.timedelta(days=n)


def set_terms(contract, owner, price="9000.00", milestones=None):
    milestones = milestones or [
        {"title": "报告表初稿", "amount": "4000.00", "due_date": in_days(5)},
        {"title": "取得批复", "amount": "5000.00", "due_date": in_days(10)},
    ]
    return contracts.contract_update_terms(
        actor=owner, contract=contract, price=price, scope=contract.scope, milestones=milestones
    )


def sign_both(contract, owner):
    contracts.contract_sign(actor=owner, contract=contract, ip_address="127.0.0.1")
    contracts.contract_sign(actor=agency_admin(contract), contract=contract, ip_address="127.0.0.2")
    contract.refresh_from_db()
    return contract


def test_the_award_makes_a_draft_with_an_oscar_order_and_one_milestone(contract):
    assert contract.status == ContractStatus.DRAFT
    assert contract.code.startswith("HT-")
    assert contract.price == contract.price_ceiling == contract.announcement.budget_ceiling
    order = contract.order
    assert order.number == contract.code
    assert order.total_incl_tax == contract.price
    assert order.status == "Awaiting signature"
    [line] = order.lines.all()
    assert line.partner_id == contract.agency.partner_id
    [milestone] = contract.milestones.all()
    assert milestone.amount == contract.price
    # The standard fee comes from the announcement's published fee computation.
    assert contract.standard_fee is not None and contract.standard_fee > 0


def test_terms_are_the_owners_and_bounded(contract, owner):
    with pytest.raises(PermissionDenied):
        set_terms(contract, agency_admin(contract))
    with pytest.raises(ValidationError, match="may not exceed the ceiling"):
        set_terms(contract, owner, price="10000.01")
    with pytest.raises(ValidationError, match="must add up to the contract price"):
        set_terms(
            contract,
            owner,
            milestones=[{"title": "全部", "amount": "8000", "due_date": in_days(3)}],
        )
    with pytest.raises(ValidationError, match="has passed"):
        set_terms(
            contract,
            owner,
            milestones=[{"title": "全部", "amount": "9000", "due_date": in_days(-1)}],
        )
    with pytest.raises(ValidationError, match="after the end of the time limit"):
        set_terms(
            contract,
            owner,
            milestones=[{"title": "全部", "amount": "9000", "due_date": in_days(400)}],
        )
    contract.refresh_from_db()
    assert contract.price == Decimal("10000.00")  # nothing changed
    assert contract.milestones.count() == 1
    set_terms(contract, owner)
    contract.refresh_from_db()
    assert contract.price == Decimal("9000.00")
    assert [m.amount for m in contract.milestones.all()] == [Decimal(4000), Decimal(5000)]
    contract.order.refresh_from_db()
    assert contract.order.total_incl_tax == Decimal("9000.00")
    assert contract.order.lines.get().line_price_incl_tax == Decimal("9000.00")


def test_both_parties_sign_and_the_due_date_starts(contract, owner, world):
    set_terms(contract, owner)
    outsider = world.agencies[-1].admin_user
    if outsider == agency_admin(contract):
        outsider = world.agencies[0].admin_user
    with pytest.raises(PermissionDenied):
        contracts.contract_sign(actor=outsider, contract=contract)
    contracts.contract_sign(actor=owner, contract=contract, ip_address="10.0.0.1")
    with pytest.raises(ValidationError, match="already signed"):
        contracts.contract_sign(actor=owner, contract=contract)
    contract.refresh_from_db()
    assert contract.status == ContractStatus.DRAFT
    [signature] = contract.signatures.all()
    assert (signature.party, signature.signed_by, signature.ip_address) == (
        SigningParty.OWNER,
        owner,
        "10.0.0.1",
    )
    assert signature.terms_hash == contracts.terms_hash(contract)
    contracts.contract_sign(actor=agency_admin(contract), contract=contract)
    contract.refresh_from_db()
    assert contract.status == ContractStatus.SIGNED
    assert contract.due_date == workdays.add_working_days(
        timezone.localdate(), contract.time_limit_days
    )
    contract.order.refresh_from_db()
    assert contract.order.status == "In progress"
    actions = list(
        AuditEvent.objects.filter(object_id=str(contract.pk), content_type__model="contract")
        .order_by("pk")
        .values_list("action", flat=True)
    )
    assert actions.count("contract.signature") == 2
    assert actions.count("sign") == 1


def test_changing_the_terms_voids_a_signature(contract, owner):
    set_terms(contract, owner)
    contracts.contract_sign(actor=agency_admin(contract), contract=contract)
    set_terms(
        contract,
        owner,
        price="8000.00",
        milestones=[{"title": "全部", "amount": "8000", "due_date": in_days(4)}],
    )
    assert contract.signatures.count() == 0
    assert AuditEvent.objects.filter(action="contract.signatures_voided").count() == 1


def test_no_signing_while_the_result_is_under_objection(contract, owner):
    from procurement.models import Announcement

    Announcement.objects.filter(pk=contract.announcement_id).update(
        status=AnnouncementStatus.SUSPENDED
    )
    with pytest.raises(ValidationError, match="under objection"):
        contracts.contract_sign(actor=owner, contract=contract)
    assert contract.signatures.count() == 0


def test_deliver_return_rework_accept(contract, owner):
    set_terms(contract, owner)
    contract = sign_both(contract, owner)
    agency = agency_admin(contract)
    first, second = contract.milestones.all()
    with pytest.raises(PermissionDenied):
        contracts.deliverable_submit(actor=owner, milestone=first, file=pdf())
    with pytest.raises(ValidationError, match="delivered in order"):
        contracts.deliverable_submit(actor=agency, milestone=second, file=pdf())
    with pytest.raises(ValidationError, match="not an accepted format"):
        contracts.deliverable_submit(
            actor=agency, milestone=first, file=pdf("report.pdf", b"PK\x03\x04 not a pdf")
        )
    big = pdf()
    big.size = 60 * 1024 * 1024
    with pytest.raises(ValidationError, match="too large"):
        contracts.deliverable_submit(actor=agency, milestone=first, file=big)
    with pytest.raises(ValidationError, match="program"):
        contracts.deliverable_submit(
            actor=agency, milestone=first, file=pdf("report.pdf", b"MZ\x90\x00evil")
        )
    assert first.deliverables.count() == 0
    contracts.deliverable_submit(actor=agency, milestone=first, file=pdf(), note="初稿")
    contract.refresh_from_db()
    first.refresh_from_db()
    assert (contract.status, first.status) == (ContractStatus.DELIVERED, MilestoneStatus.DELIVERED)
    assert contract.started_at is not None  # delivering started the service
    with pytest.raises(PermissionDenied):
        contracts.deliverable_accept(actor=agency, milestone=first)
    with pytest.raises(ValidationError, match="what must be reworked"):
        contracts.deliverable_return(actor=owner, milestone=first, reasons="  ")
    contracts.deliverable_return(actor=owner, milestone=first, reasons="缺少噪声监测数据")
    contract.refresh_from_db()
    first.refresh_from_db()
    assert (contract.status, first.status) == (ContractStatus.RETURNED, MilestoneStatus.RETURNED)
    contracts.deliverable_submit(actor=agency, milestone=first, file=pdf("v2.pdf"))
    assert [d.round for d in first.deliverables.all()] == [1, 2]
    contracts.deliverable_accept(actor=owner, milestone=first)
    contract.refresh_from_db()
    first.refresh_from_db()
    assert contract.status == ContractStatus.IN_PROGRESS  # one milestone remains
    assert first.status == MilestoneStatus.ACCEPTED
    contracts.deliverable_submit(actor=agency, milestone=second, file=pdf())
    contracts.deliverable_accept(actor=owner, milestone=second)
    contract.refresh_from_db()
    assert contract.status == ContractStatus.ACCEPTED
    assert contract.accepted_at is not None
    decisions = [d.decision for d in first.deliverables.all()]
    assert decisions == ["returned", "accepted"]


def test_extensions_are_agreed_by_the_other_party_and_never_shorten(contract, owner):
    set_terms(contract, owner)
    contract = sign_both(contract, owner)
    agency = agency_admin(contract)
    due = contract.due_date
    with pytest.raises(ValidationError, match="is not after the current due date"):
        contracts.extension_propose(
            actor=agency,
            contract=contract,
            new_due_date=due - datetime.timedelta(days=1),
            reason="x",
        )
    with pytest.raises(ValidationError, match="reason"):
        contracts.extension_propose(
            actor=agency,
            contract=contract,
            new_due_date=due + datetime.timedelta(days=5),
            reason=" ",
        )
    extension = contracts.extension_propose(
        actor=agency,
        contract=contract,
        new_due_date=due + datetime.timedelta(days=5),
        reason="批复部门延期受理",
    )
    with pytest.raises(ValidationError, match="awaiting an answer"):
        contracts.extension_propose(
            actor=owner,
            contract=contract,
            new_due_date=due + datetime.timedelta(days=9),
            reason="x",
        )
    with pytest.raises(PermissionDenied):
        contracts.extension_answer(actor=agency, extension=extension, agree=True)
    contracts.extension_answer(actor=owner, extension=extension, agree=True)
    contract.refresh_from_db()
    extension.refresh_from_db()
    assert extension.status == ExtensionStatus.AGREED
    assert contract.due_date == due + datetime.timedelta(days=5)


def test_overdue_is_flagged_once_with_notices_and_an_extension_does_not_erase_it(contract, owner):
    set_terms(contract, owner)
    contract = sign_both(contract, owner)
    late = contract.due_date + datetime.timedelta(days=1)
    before = Notification.objects.count() + OutboxMessage.objects.count()
    assert contracts.flag_overdue(today=contract.due_date) == 0
    assert contracts.flag_overdue(today=late) == 1
    assert contracts.flag_overdue(today=late) == 0  # idempotent
    contract.refresh_from_db()
    assert contract.overdue_since == contract.due_date
    assert contract.was_overdue
    assert (
        AuditEvent.objects.filter(action="contract.overdue", object_id=str(contract.pk)).count()
        == 1
    )
    assert Notification.objects.count() + OutboxMessage.objects.count() > before
    extension = contracts.extension_propose(
        actor=agency_admin(contract),
        contract=contract,
        new_due_date=timezone.localdate() + datetime.timedelta(days=20),
        reason="补充材料",
    )
    contracts.extension_answer(actor=owner, extension=extension, agree=True)
    contract.refresh_from_db()
    assert contract.overdue_since is None
    assert contract.was_overdue  # never retroactive: the missed date stays on record


def test_termination_needs_a_reason_and_a_party(contract, owner, world):
    with pytest.raises(ValidationError, match="reason"):
        contracts.contract_terminate(actor=owner, contract=contract, reason="")
    stranger = world.agencies[0].admin_user
    if stranger == agency_admin(contract):
        stranger = world.agencies[1].admin_user
    with pytest.raises(PermissionDenied):
        contracts.contract_terminate(actor=stranger, contract=contract, reason="x")
    contracts.contract_terminate(actor=owner, contract=contract, reason="项目取消")
    contract.refresh_from_db()
    assert contract.status == ContractStatus.TERMINATED
    assert contract.termination_reason == "项目取消"
    contract.order.refresh_from_db()
    assert contract.order.status == "Cancelled"
    with pytest.raises(ValidationError, match="already ended"):
        contracts.contract_terminate(actor=owner, contract=contract, reason="again")


def test_a_regulator_lists_the_contracts_it_supervises_and_no_others(contract):
    from procurement import selectors
    from tests.agencies.factories import make_regulator_user, region

    covering = make_regulator_user(region=region("530100"), all_industries=True)
    elsewhere = make_regulator_user(region=region("530300"), all_industries=True)
    assert list(selectors.user_contracts(covering)) == [contract]
    assert list(selectors.user_contracts(elsewhere)) == []


def test_the_profile_and_the_search_document_count_signed_contracts(contract, owner, client):
    from search.kinds import get_kind

    url = f"/agencies/{contract.agency_id}/"
    client.cookies["django_language"] = "en"

    def counted():
        page = client.get(url).content.decode()
        doc = get_kind("agency").documents([str(contract.agency_id)])[str(contract.agency_id)]
        return page, doc

    page, doc = counted()
    assert 'id="profile-contract-count">0<' in page  # a draft is not a contract yet
    assert doc.data["contract_count"] == 0
    set_terms(contract, owner)
    sign_both(contract, owner)
    page, doc = counted()
    assert 'id="profile-contract-count">1<' in page
    assert doc.data["contract_count"] == 1
