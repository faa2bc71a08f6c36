"""The demo procurement (procurement/demo.py): every stage produced through the services, each
draw verifying, labelled as demo data, idempotent, and the open announcement drawn by the
scheduler once its deadline (minutes after loading) passes. The demo contracts
(procurement/demo_contracts.py): each stage of fulfilment reached through the contract
services, labelled as demo data, left alone by a second run, and the draft walkable by the
demo logins it prints."""

import datetime
from decimal import Decimal

import pytest
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test.utils import override_settings
from django.utils import timezone

from marketplace import workdays
from marketplace.models import AuditEvent, Notification, OutboxMessage, User
from marketplace.validators import is_valid_uscc
from procurement import contracts, draw, jobs
from procurement.demo import OPEN_DEADLINE_MINUTES, SPECS, load_procurement_demo
from procurement.demo_contracts import (
    CONTRACTS,
    OVERDUE_WORKING_DAYS,
    WALKTHROUGH_AGENCY_PASSWORD,
)
from procurement.models import (
    Announcement,
    AnnouncementStatus,
    Contract,
    ContractStatus,
    Deliverable,
    Draw,
    Extension,
    ExtensionStatus,
    Milestone,
    MilestoneStatus,
    Owner,
    Project,
    Registration,
    RegistrationStatus,
    Signature,
    SigningParty,
)
from procurement.validators import validate_project_code

pytestmark = pytest.mark.django_db

EXPECTED = {
    "open": AnnouncementStatus.PUBLISHED,
    "selected": AnnouncementStatus.SELECTED,
    "publicity": AnnouncementStatus.PUBLICITY,
    "awarded": AnnouncementStatus.AWARDED,
    "failed": AnnouncementStatus.FAILED,
    "direct": AnnouncementStatus.PUBLICITY,
}


def _snapshot() -> dict:
    return {
        "owners": Owner.objects.count(),
        "projects": Project.objects.count(),
        "users": User.objects.count(),
        "announcements": sorted(Announcement.objects.values_list("code", "status")),
        "registrations": sorted(Registration.objects.values_list("pk", "status")),
        "draws": sorted(Draw.objects.values_list("pk", "record")),
        "contracts": sorted(
            Contract.objects.values_list(
                "code", "status", "price", "due_date", "overdue_since", "was_overdue"
            )
        ),
        "milestones": sorted(Milestone.objects.values_list("pk", "status", "amount", "due_date")),
        "signatures": Signature.objects.count(),
        "deliverables": sorted(Deliverable.objects.values_list("pk", "sha256", "decision")),
        "extensions": sorted(Extension.objects.values_list("pk", "status", "new_due_date")),
        "audit": AuditEvent.objects.count(),
        "outbox": OutboxMessage.objects.count(),
        "notifications": Notification.objects.count(),
    }


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """Core demo (Yunnan), catalog, demo agencies, then the procurement demo twice (the
    second run is the idempotency check), with the dev demo's 0 working-day minimum."""
    from agencies.demo import load_agencies_demo
    from cms.demo import load_catalog
    from cms.fees.demo import load_fee_rules
    from marketplace.demo import load_core_demo

    with django_db_blocker.unblock():
        from django.db import connection, transaction

        procurement = {**settings.PROCUREMENT, "MIN_REGISTRATION_WORKING_DAYS": 0}
        with override_settings(PROCUREMENT=procurement):
            atomic = transaction.atomic()
            atomic.__enter__()
            try:
                load_core_demo(province="53")
                load_fee_rules()
                load_catalog()
                load_agencies_demo()
                loaded_at = timezone.now()
                first = load_procurement_demo()
                before = _snapshot()
                second = load_procurement_demo()
                after = _snapshot()
                yield {
                    "first": first,
                    "second": second,
                    "before": before,
                    "after": after,
                    "loaded_at": loaded_at,
                }
            finally:
                transaction.set_rollback(True)
                atomic.__exit__(None, None, None)
                connection.close()


def _announcement(demo, key) -> Announcement:
    code, _status = demo["first"]["announcements"][key]
    return Announcement.objects.get(code=code)


def test_every_stage_is_produced(demo):
    assert demo["first"]["created"] == len(SPECS)
    statuses = {key: status for key, (_code, status) in demo["first"]["announcements"].items()}
    assert statuses == EXPECTED


def test_second_run_changes_nothing(demo):
    assert demo["second"]["created"] == 0
    assert demo["second"]["announcements"] == demo["first"]["announcements"]
    assert demo["after"] == demo["before"]


def test_labelled_as_demo_and_valid(demo):
    announcements = Announcement.objects.filter(illustrative=True)
    # One announcement per stage, and one per contract stage but the walk-through's (it is
    # the awarded one's contract).
    assert announcements.count() == len(SPECS) + len(CONTRACTS) - 1
    assert not Announcement.objects.filter(illustrative=False).exists()
    projects = Project.objects.filter(announcements__in=announcements).distinct()
    assert projects and all(p.illustrative for p in projects)
    for project in projects:
        validate_project_code(project.code)  # raises when invalid
        assert project.code.split("-")[1] == project.region_id  # a real region code
    for owner in Owner.objects.select_related("organisation"):
        assert is_valid_uscc(owner.organisation.uscc)
        assert owner.organisation.name.endswith("（演示）") or owner.organisation.name.startswith(
            "示例："
        )


def test_owner_accounts_log_in(demo):
    accounts = [a for a in demo["first"]["accounts"] if a["role"].startswith("owner_")]
    assert len(accounts) >= 2
    for account in accounts:
        user = User.objects.get(email=account["email"])
        assert user.check_password(account["password"])
        assert user.memberships.filter(organisation__owner__isnull=False).exists()


def test_each_draw_verifies(demo):
    drawn = Announcement.objects.filter(illustrative=True, draw__isnull=False)
    contract_announcements = {
        row["announcement"] for key, row in _contracts(demo).items() if key != "draft"
    }
    assert len(contract_announcements) == len(CONTRACTS) - 1
    assert {a.code for a in drawn} == {
        _announcement(demo, k).code for k in ("selected", "publicity", "awarded")
    } | contract_announcements
    for announcement in drawn:
        record = announcement.draw.record
        assert draw.verify(record) == []
        assert record["pool_hash"] == announcement.pool_hash
        assert record["commitment"] == announcement.commitment


def test_audit_trail_of_the_awarded_announcement(demo):
    awarded = _announcement(demo, "awarded")
    actions = list(
        AuditEvent.objects.filter(
            content_type=ContentType.objects.get_for_model(Announcement),
            object_id=str(awarded.pk),
        )
        .order_by("pk")
        .values_list("action", flat=True)
    )
    for action in (
        "announcement.create",
        "publish",
        "close_registration",
        "start_selection",
        "select",
        "start_publicity",
        "award",
    ):
        assert actions.count(action) == 1, (action, actions)
    contract = Contract.objects.get(announcement=awarded)
    confirmed = awarded.registrations.get(status=RegistrationStatus.CONFIRMED)
    assert contract.agency_id == confirmed.agency_id
    assert contract.price_ceiling == awarded.budget_ceiling


def test_failed_for_too_few_registrants(demo):
    failed = _announcement(demo, "failed")
    assert failed.registrations.count() < failed.min_eligible
    assert "流标" in failed.status_reason
    assert not Draw.objects.filter(announcement=failed).exists()


def test_direct_selection(demo):
    direct = _announcement(demo, "direct")
    assert direct.method == "direct" and direct.direct_agency_id
    registration = direct.registrations.get()
    assert registration.agency_id == direct.direct_agency_id
    assert registration.status == RegistrationStatus.CONFIRMED


def test_selected_waits_for_confirmation(demo):
    selected = _announcement(demo, "selected")
    waiting = selected.registrations.get(status=RegistrationStatus.SELECTED)
    assert waiting.confirm_by > timezone.now()
    assert selected.registrations.filter(status=RegistrationStatus.ALTERNATE).count() == 2


# --- the demo contracts -------------------------------------------------------------------------

CONTRACT_STATES = {
    "draft": ContractStatus.DRAFT,
    "returned": ContractStatus.RETURNED,
    "delivered": ContractStatus.DELIVERED,
    "accepted": ContractStatus.ACCEPTED,
    "overdue": ContractStatus.IN_PROGRESS,
    "extended": ContractStatus.IN_PROGRESS,
    "terminated": ContractStatus.TERMINATED,
}


def _contracts(demo) -> dict:
    return demo["first"]["contracts"]["contracts"]


def _contract(demo, key) -> Contract:
    return Contract.objects.select_related("agency__organisation", "owner__organisation").get(
        code=_contracts(demo)[key]["code"]
    )


def _actions(contract) -> list[str]:
    return list(
        AuditEvent.objects.filter(
            content_type=ContentType.objects.get_for_model(Contract), object_id=str(contract.pk)
        )
        .order_by("pk")
        .values_list("action", flat=True)
    )


def _notified(contract, verb) -> set[str]:
    """E-mail addresses of the users a notice of ``verb`` about ``contract`` was queued for."""
    ids = [
        m.payload["recipient_id"]
        for m in OutboxMessage.objects.filter(topic="notify", payload__verb=verb)
        if contract.code in m.payload.get("url", "")
    ]
    return set(User.objects.filter(pk__in=ids).values_list("email", flat=True))


def test_every_contract_state_is_produced(demo):
    summary = demo["first"]["contracts"]
    assert summary["created"] == len(CONTRACTS)
    assert {key: row["status"] for key, row in summary["contracts"].items()} == CONTRACT_STATES
    assert {key: row["overdue"] for key, row in summary["contracts"].items()} == {
        key: key == "overdue" for key in CONTRACT_STATES
    }
    contracts_ = [_contract(demo, key) for key in CONTRACT_STATES]
    # Different agencies (the draws register agencies without a contract first).
    assert len({c.agency_id for c in contracts_}) == len(contracts_)
    assert len({c.owner_id for c in contracts_}) == 3
    for contract in contracts_:
        milestones = list(contract.milestones.all())
        assert sum(m.amount for m in milestones) == contract.price <= contract.price_ceiling
        assert contract.price < contract.price_ceiling  # the owner's agreed price
        if contract.status != ContractStatus.DRAFT:
            # Both parties signed the terms as they stand.
            signatures = {s.party: s for s in contract.signatures.all()}
            assert set(signatures) == {SigningParty.OWNER, SigningParty.AGENCY}
            assert {s.terms_hash for s in signatures.values()} == {contracts.terms_hash(contract)}
            assert _actions(contract).count("sign") == 1


def test_the_draft_to_walk_through(demo):
    contract = _contract(demo, "draft")
    assert contract.announcement.code == _announcement(demo, "awarded").code
    assert not contract.signatures.exists()
    first, second = contract.milestones.all()
    assert (first.title, second.title) == ("水土保持方案报告书（送审稿）", "取得水土保持方案批复")
    assert first.amount == (contract.price * Decimal("0.4")).quantize(Decimal("0.01"))
    latest = workdays.add_working_days(timezone.localdate(), contract.time_limit_days)
    assert timezone.localdate() < first.due_date < second.due_date <= latest
    assert _actions(contract).count("contract.terms") == 1
    contract.order.refresh_from_db()
    assert contract.order.total_incl_tax == contract.price


def test_the_walk_through_logins_act_for_each_party(demo):
    """The logins printed for the draft sign it as both parties and take it through delivery,
    return, rework and acceptance (payment needs the payment provider; tested elsewhere).
    Rolled back."""
    row = _contracts(demo)["draft"]
    [account] = demo["first"]["contracts"]["accounts"]
    assert account["email"] == row["agency_login"]
    assert account["password"] == WALKTHROUGH_AGENCY_PASSWORD
    assert account in demo["first"]["accounts"]  # printed by load_demo
    owner = User.objects.get(email=row["owner_login"])
    agency = User.objects.get(email=row["agency_login"])
    assert owner.check_password("demo-dzys-2025")
    assert agency.check_password(WALKTHROUGH_AGENCY_PASSWORD)
    pdf = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    with transaction.atomic():
        contract = _contract(demo, "draft")
        assert contracts.party_of(owner, contract) == SigningParty.OWNER
        assert contracts.party_of(agency, contract) == SigningParty.AGENCY
        contracts.contract_sign(actor=owner, contract=contract)
        contracts.contract_sign(actor=agency, contract=contract)
        first, second = contract.milestones.all()

        def deliver(milestone):
            contracts.deliverable_submit(
                actor=agency,
                milestone=milestone,
                file=SimpleUploadedFile("成果.pdf", pdf, "application/pdf"),
            )

        deliver(first)
        contracts.deliverable_return(actor=owner, milestone=first, reasons="请补充监测数据")
        deliver(first)  # rework
        contracts.deliverable_accept(actor=owner, milestone=first)
        deliver(second)
        contracts.deliverable_accept(actor=owner, milestone=second)
        contract.refresh_from_db()
        assert contract.status == ContractStatus.ACCEPTED
        transaction.set_rollback(True)
    assert _contract(demo, "draft").status == ContractStatus.DRAFT


def test_returned_with_reasons(demo):
    contract = _contract(demo, "returned")
    first, second = contract.milestones.all()
    assert (first.status, second.status) == (MilestoneStatus.RETURNED, MilestoneStatus.PENDING)
    [deliverable] = first.deliverables.all()
    assert deliverable.decision == Deliverable.Decision.RETURNED
    assert "缺少噪声环境现状监测数据" in deliverable.review_reasons
    assert deliverable.original_name == "环境影响报告表（送审稿）.pdf"
    with deliverable.file.open("rb") as f:
        assert f.read(5) == b"%PDF-"
    assert contract.started_at is not None
    assert _notified(contract, "contract.returned")


def test_delivered_awaiting_acceptance(demo):
    contract = _contract(demo, "delivered")
    first, second = contract.milestones.all()
    assert (first.status, second.status) == (MilestoneStatus.DELIVERED, MilestoneStatus.PENDING)
    [deliverable] = first.deliverables.all()
    assert deliverable.decision == "" and deliverable.note


def test_accepted_awaiting_payment(demo):
    contract = _contract(demo, "accepted")
    assert contract.accepted_at is not None
    assert {m.status for m in contract.milestones.all()} == {MilestoneStatus.ACCEPTED}
    assert contract.milestones.filter(paid_at__isnull=True).count() == contract.milestones.count()


def test_overdue_is_flagged_by_the_real_check(demo):
    contract = _contract(demo, "overdue")
    today = timezone.localdate()
    assert contract.due_date == workdays.add_working_days(today, -OVERDUE_WORKING_DAYS)
    assert contract.overdue_since == contract.due_date and contract.was_overdue
    assert _actions(contract).count("contract.overdue") == 1
    emails = _notified(contract, "contract.overdue")
    assert _contracts(demo)["overdue"]["owner_login"] in emails
    assert _contracts(demo)["overdue"]["agency_login"] in emails
    assert "reviewer@demo.example.com" in emails  # the regulator in scope
    assert contracts.flag_overdue() == 0  # nothing else is due


def test_extension_agreed(demo):
    contract = _contract(demo, "extended")
    [extension] = contract.extensions.all()
    assert extension.status == ExtensionStatus.AGREED
    assert extension.proposed_by_party == SigningParty.AGENCY
    assert contract.due_date == extension.new_due_date > extension.old_due_date
    assert extension.old_due_date == workdays.add_working_days(
        contract.signed_at, contract.time_limit_days
    )
    assert "contract.extended" in _actions(contract)
    assert not contract.is_overdue


def test_terminated_with_a_reason(demo):
    contract = _contract(demo, "terminated")
    assert "终止本合同" in contract.termination_reason
    assert contract.terminated_at is not None
    contract.order.refresh_from_db()
    assert contract.order.status == "Cancelled"


def test_contracts_labelled_as_demo(demo):
    contracts_ = Contract.objects.filter(code__in=[r["code"] for r in _contracts(demo).values()])
    assert contracts_.count() == len(CONTRACTS) == Contract.objects.count()
    for contract in contracts_.select_related("project", "announcement"):
        assert contract.illustrative and contract.project.illustrative
        assert contract.announcement.illustrative


def test_second_run_leaves_the_contracts_alone(demo):
    second = demo["second"]["contracts"]
    assert second["created"] == 0
    assert second["contracts"] == demo["first"]["contracts"]["contracts"]
    assert second["accounts"] == demo["first"]["contracts"]["accounts"]


def test_open_announcement_is_drawn_by_the_scheduler_after_its_deadline(demo):
    """Last (it moves the open announcement on): the deadline is minutes after loading; the
    scheduler's job draws it once it has passed, and not before."""
    announcement = _announcement(demo, "open")
    assert announcement.registrations.count() >= 4
    deadline = announcement.registration_deadline
    assert deadline - demo["loaded_at"] <= datetime.timedelta(minutes=OPEN_DEADLINE_MINUTES + 1)
    assert jobs.close_and_draw(deadline - datetime.timedelta(seconds=1)) == {
        "closed": 0,
        "failed": 0,
        "selected": 0,
    }
    counts = jobs.close_and_draw(deadline + datetime.timedelta(seconds=1))
    assert counts["closed"] >= 1 and counts["selected"] >= 1
    announcement.refresh_from_db()
    assert announcement.status == AnnouncementStatus.SELECTED
    assert draw.verify(announcement.draw.record) == []
