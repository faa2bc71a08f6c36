"""Writes of contracts and fulfilment (合同与履约): creation from an award or a purchase, the
terms and milestones of a draft, the two signatures, deliverables and their review, time
extensions, termination, and the scheduler's overdue check (DESIGN §4–5).

Same rules as ``procurement.services``: keyword-only, atomic, authorise → validate → lock →
transition (one audit event per transition) → side effects through the outbox. Every change of
a contract or of anything under it takes the contract's row lock (``_locked``), so two
signatures, a payment and a review never interleave. Refusals are ``PermissionDenied``;
bad input is a ``ValidationError`` whose message says what to do, and changes nothing.
"""

from __future__ import annotations

import datetime
import logging
import uuid
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from marketplace import audit, orders, workdays
from marketplace.models import Organisation, User
from marketplace.permissions import has_perm, require_perm
from procurement.models import (
    WORK_DUE_STATES,
    Announcement,
    AnnouncementStatus,
    Contract,
    ContractSource,
    ContractStatus,
    Deliverable,
    Extension,
    ExtensionStatus,
    Milestone,
    MilestoneStatus,
    ObjectionStatus,
    Signature,
    SigningParty,
    validate_deliverable,
)

logger = logging.getLogger(__name__)

CENT = Decimal("0.01")
MAX_MILESTONES = 12


# --- helpers ---------------------------------------------------------------------------------


def _error(message, field: str = NON_FIELD_ERRORS, code: str | None = None) -> ValidationError:
    return ValidationError({field: ValidationError(message, code=code)})


def _locked(contract_id: int) -> Contract:
    """The contract row locked until the transaction ends, with a fresh state."""
    return (
        Contract.objects.select_for_update(of=("self",))
        .select_related(
            "owner__organisation",
            "agency__organisation",
            "project__region",
            "service_item",
            "announcement",
            "order",
        )
        .get(pk=contract_id)
    )


def contract_url(contract: Contract) -> str:
    return reverse("procurement:contract", args=[contract.code])


def _next_code(contract: Contract) -> str:
    return f"HT-{timezone.localdate().year}-{contract.pk:06d}"


def terms_hash(contract: Contract) -> str:
    """SHA-256 of the canonical terms (``procurement.pdf.terms_text``): what a signature
    covers. Editing the terms changes it, which voids earlier signatures."""
    from procurement import pdf

    return pdf.terms_hash(contract)


def party_of(user: User, contract: Contract) -> str | None:
    """Which party ``user`` may act for (editing roles), or None."""
    if has_perm(user, "act_owner", contract):
        return SigningParty.OWNER
    if has_perm(user, "act_agency", contract):
        return SigningParty.AGENCY
    return None


def _party_organisation(contract: Contract, party: str) -> Organisation:
    if party == SigningParty.OWNER:
        return contract.owner.organisation
    return contract.agency.organisation


def _notify_party(contract: Contract, party: str, *, verb: str, title, body="") -> None:
    from procurement.notices import notify_members

    notify_members(
        _party_organisation(contract, party).pk,
        verb=verb,
        title=str(title),
        body=str(body),
        url=contract_url(contract),
    )


def _notify_both(contract: Contract, *, verb: str, title, body="") -> None:
    for party in (SigningParty.OWNER, SigningParty.AGENCY):
        _notify_party(contract, party, verb=verb, title=title, body=body)


def _other(party: str) -> str:
    return SigningParty.AGENCY if party == SigningParty.OWNER else SigningParty.OWNER


def _notify_regulators(contract: Contract, *, verb: str, title, body="") -> None:
    from procurement.notices import notify_covering_regulators
    from procurement.rules import regulator_covers_contract

    notify_covering_regulators(
        lambda org: regulator_covers_contract(org, contract),
        verb=verb,
        title=title,
        body=body,
        url=contract_url(contract),
    )


def _standard_fee_of_announcement(announcement: Announcement) -> Decimal | None:
    computation = announcement.fee_computation or {}
    value = computation.get("standard_fee") or (computation.get("result") or {}).get("standard_fee")
    try:
        return Decimal(str(value)).quantize(CENT) if value not in (None, "") else None
    except InvalidOperation:
        return None


def _default_milestone(contract: Contract) -> None:
    Milestone.objects.create(
        contract=contract,
        sequence=1,
        # Contract data, in the language of the contract (the document is Chinese).
        title="全部服务内容",
        amount=contract.price,
        due_date=workdays.add_working_days(timezone.localdate(), contract.time_limit_days),
    )


def _create(*, actor, **fields) -> Contract:
    contract = Contract.objects.create(code=f"tmp-{uuid.uuid4().hex[:16]}", **fields)
    contract.code = _next_code(contract)
    contract.save(update_fields=["code"])
    return contract


# --- creation --------------------------------------------------------------------------------


def contract_from_award(*, announcement: Announcement, agency) -> Contract:
    """The draft a confirmed agency gets at the award (called by ``award_due`` inside its
    transaction): price = the ceiling until the owner sets it, one milestone for the whole
    service, and the Oscar order as the commercial record."""
    from agencies import shelf

    contract = _create(
        actor=None,
        source=ContractSource.AWARD,
        announcement=announcement,
        project=announcement.project,
        service_item=announcement.service_item,
        owner=announcement.project.owner,
        agency=agency,
        scope=announcement.scope,
        price_ceiling=announcement.budget_ceiling,
        price=announcement.budget_ceiling,
        standard_fee=_standard_fee_of_announcement(announcement),
        time_limit_days=announcement.service_time_limit_days,
        illustrative=announcement.project.illustrative,
    )
    partner = agency.partner if agency.partner_id else shelf.partner_sync(agency=agency)
    contract.order = orders.order_for_award(
        contract=contract,
        partner=partner,
        title=announcement.service_item.title,
        reference=announcement.code,
    )
    contract.save(update_fields=["order"])
    _default_milestone(contract)
    audit.record(
        actor=None,
        action="contract.create",
        obj=contract,
        to_state=contract.status,
        data={"announcement": announcement.code, "order": contract.order.number},
    )
    return contract


def _purchase_standard_fee(offering, project) -> Decimal | None:
    """The item's standard fee at the project's investment (the usual fee base), or None
    when the item has no fee rule or the amount is outside its table."""
    from cms.fees import api as fees

    item = offering.service_item
    if item.fee_rule is None:
        return None
    amount = project.total_investment if item.fee_rule.compiled.needs_amount else None
    try:
        result = fees.calculate(item.fee_rule, amount, category=item.fee_category or None)
    except fees.FeeError:
        return None
    return result.standard_fee


@transaction.atomic
def contract_from_purchase(*, actor: User, order, offering, project, scope: str) -> Contract:
    """The draft of a direct purchase, made inside the checkout's transaction once Oscar has
    placed ``order``: price = the order total, capped by the offering's price at checkout."""
    from procurement.purchase import purchase_check

    require_perm(actor, "manage", project)
    scope = (scope or "").strip()
    if not scope:
        raise _error(_("Describe the scope of service."), "scope")
    purchase_check(owner=project.owner, offering=offering, project=project)
    price = Decimal(order.total_incl_tax).quantize(CENT)
    contract = _create(
        actor=actor,
        source=ContractSource.DIRECT_PURCHASE,
        offering=offering,
        project=project,
        service_item=offering.service_item,
        owner=project.owner,
        agency=offering.agency,
        scope=scope,
        price_ceiling=price,
        price=price,
        standard_fee=_purchase_standard_fee(offering, project),
        time_limit_days=_purchase_time_limit(offering),
        order=order,
        illustrative=project.illustrative,
    )
    _default_milestone(contract)
    audit.record(
        actor=actor,
        action="contract.create",
        obj=contract,
        to_state=contract.status,
        data={"order": order.number, "offering": offering.pk},
    )
    _notify_party(
        contract,
        SigningParty.AGENCY,
        verb="contract.created",
        title=_("New contract draft: %(code)s") % {"code": contract.code},
        body=_("A direct purchase of your offering; review the terms and sign."),
    )
    _notify_party(
        contract,
        SigningParty.OWNER,
        verb="contract.created",
        title=_("New contract draft: %(code)s") % {"code": contract.code},
        body=_("Your order %(order)s: set the milestones, then both parties sign.")
        % {"order": order.number},
    )
    return contract


def _purchase_time_limit(offering) -> int:
    item = offering.service_item
    limit = offering.turnaround_days or getattr(item, "time_limit_days", None) or 20
    return int(limit)


# --- the draft's terms -----------------------------------------------------------------------


@dataclass(frozen=True)
class MilestoneTerms:
    title: str
    amount: Decimal
    due_date: datetime.date


def _parse_milestones(rows, *, price: Decimal, latest: datetime.date) -> list[MilestoneTerms]:
    today = timezone.localdate()
    if not rows:
        raise _error(_("A contract needs at least one milestone."), "milestones")
    if len(rows) > MAX_MILESTONES:
        raise _error(_("At most %(n)d milestones.") % {"n": MAX_MILESTONES}, "milestones")
    parsed: list[MilestoneTerms] = []
    for number, row in enumerate(rows, start=1):
        title = (row.get("title") or "").strip()
        if not title:
            raise _error(_("Milestone %(n)d: give it a title.") % {"n": number}, "milestones")
        try:
            amount = Decimal(str(row.get("amount", "")).replace(",", "").strip())
        except InvalidOperation:
            amount = None
        if amount is None or not amount.is_finite() or amount <= 0:
            raise _error(
                _("Milestone %(n)d: the amount must be a positive number of yuan.") % {"n": number},
                "milestones",
            )
        if amount != amount.quantize(CENT):
            raise _error(
                _("Milestone %(n)d: amounts are in yuan with at most two decimals.")
                % {"n": number},
                "milestones",
            )
        due = row.get("due_date")
        if isinstance(due, str):
            try:
                due = datetime.date.fromisoformat(due.strip())
            except ValueError:
                due = None
        if not isinstance(due, datetime.date):
            raise _error(
                _("Milestone %(n)d: give the due date as YYYY-MM-DD.") % {"n": number},
                "milestones",
            )
        if due < today:
            raise _error(
                _("Milestone %(n)d: the due date %(date)s has passed.")
                % {"n": number, "date": due.isoformat()},
                "milestones",
            )
        if due > latest:
            raise _error(
                _(
                    "Milestone %(n)d: the due date %(date)s is after the end of the time "
                    "limit (%(latest)s)."
                )
                % {"n": number, "date": due.isoformat(), "latest": latest.isoformat()},
                "milestones",
            )
        if parsed and due < parsed[-1].due_date:
            raise _error(
                _("Milestone %(n)d: milestones are listed in the order they fall due.")
                % {"n": number},
                "milestones",
            )
        parsed.append(MilestoneTerms(title[:120], amount, due))
    total = sum((m.amount for m in parsed), Decimal(0))
    if total != price:
        raise _error(
            _(
                "The milestones add up to %(total)s yuan; they must add up to the contract "
                "price, %(price)s yuan."
            )
            % {"total": f"{total:,.2f}", "price": f"{price:,.2f}"},
            "milestones",
        )
    return parsed


def _void_signatures(contract: Contract, actor) -> None:
    signatures = list(contract.signatures.all())
    if signatures:
        contract.signatures.all().delete()
        audit.record(
            actor=actor,
            action="contract.signatures_voided",
            obj=contract,
            reason=_("The terms changed after signing; both parties sign again."),
            data={"parties": [s.party for s in signatures]},
        )


@transaction.atomic
def contract_update_terms(
    *, actor: User, contract: Contract, price, scope: str, milestones: list[dict]
) -> Contract:
    """The owner sets the price (≤ the ceiling), the scope and the milestones of a draft.
    A change after a signature voids it: both parties sign the same terms."""
    require_perm(actor, "act_owner", contract)
    contract = _locked(contract.pk)
    if contract.status != ContractStatus.DRAFT:
        raise _error(_("Only a draft contract's terms can change."))
    try:
        price = Decimal(str(price).replace(",", "").strip())
    except InvalidOperation:
        price = None
    if price is None or not price.is_finite() or price <= 0 or price != price.quantize(CENT):
        raise _error(_("Give the price in yuan, with at most two decimals."), "price")
    if price > contract.price_ceiling:
        raise _error(
            _("The price may not exceed the ceiling of %(ceiling)s yuan.")
            % {"ceiling": f"{contract.price_ceiling:,.2f}"},
            "price",
        )
    scope = (scope or "").strip()
    if not scope:
        raise _error(_("Describe the scope of service."), "scope")
    latest = workdays.add_working_days(timezone.localdate(), contract.time_limit_days)
    terms = _parse_milestones(milestones, price=price, latest=latest)
    before = terms_hash(contract)
    old_price = contract.price
    contract.price = price
    contract.scope = scope
    contract.save(update_fields=["price", "scope", "updated_at"])
    contract.milestones.all().delete()
    Milestone.objects.bulk_create(
        Milestone(
            contract=contract, sequence=n, title=m.title, amount=m.amount, due_date=m.due_date
        )
        for n, m in enumerate(terms, start=1)
    )
    if contract.order_id and price != old_price:
        orders.order_reprice(contract.order, price)
    if terms_hash(contract) != before:
        _void_signatures(contract, actor)
        audit.record(
            actor=actor,
            action="contract.terms",
            obj=contract,
            data={"price": str(price), "milestones": len(terms)},
        )
    return contract


# --- signing ---------------------------------------------------------------------------------


def _objection_pending(contract: Contract) -> bool:
    announcement = contract.announcement
    if announcement is None:
        return False
    if announcement.status == AnnouncementStatus.SUSPENDED:
        return True
    return announcement.objections.filter(status=ObjectionStatus.SUBMITTED).exists()


@transaction.atomic
def contract_sign(
    *, actor: User, contract: Contract, ip_address: str | None = None, user_agent: str = ""
) -> Signature:
    """签字: one party's signature over the current terms. The second signature signs the
    contract: the due date starts to run and the order moves to "In progress"."""
    party = party_of(actor, contract)
    if party is None:
        raise PermissionDenied(_("Only a party to this contract can sign it."))
    contract = _locked(contract.pk)
    if contract.status != ContractStatus.DRAFT:
        raise _error(_("This contract is no longer awaiting signatures."))
    if _objection_pending(contract):
        raise _error(
            _(
                "The announcement's result is under objection; the contract can be signed "
                "once the objection is decided."
            ),
            code="under_objection",
        )
    if contract.signatures.filter(party=party).exists():
        raise _error(_("Your side has already signed."), code="signed")
    milestones = list(contract.milestones.all())
    today = timezone.localdate()
    if not milestones or sum((m.amount for m in milestones), Decimal(0)) != contract.price:
        raise _error(_("The milestones must add up to the price before signing."))
    if any(m.due_date < today for m in milestones):
        raise _error(
            _("A milestone's due date has passed; the owner updates the milestones first.")
        )
    now = timezone.now()
    signature = Signature.objects.create(
        contract=contract,
        party=party,
        organisation=_party_organisation(contract, party),
        signed_by=actor,
        signed_at=now,
        ip_address=ip_address or None,
        user_agent=(user_agent or "")[:300],
        terms_hash=terms_hash(contract),
    )
    audit.record(
        actor=actor,
        action="contract.signature",
        obj=contract,
        data={
            "party": party,
            "terms_hash": signature.terms_hash,
            "ip": ip_address or "",
        },
    )
    if contract.signatures.count() == 2:
        contract.signed_at = now
        contract.due_date = workdays.add_working_days(today, contract.time_limit_days)
        contract.sign(by=actor, data={"due_date": contract.due_date.isoformat()})
        contract.save()
        if contract.order_id:
            orders.order_set_status(contract.order, orders.IN_PROGRESS)
        from search.indexing import mark_dirty

        mark_dirty("agency", [contract.agency_id])  # its public contract count changed
        _notify_both(
            contract,
            verb="contract.signed",
            title=_("Contract signed: %(code)s") % {"code": contract.code},
            body=_("Both parties have signed; the service is due by %(date)s.")
            % {"date": contract.due_date.isoformat()},
        )
    else:
        _notify_party(
            contract,
            _other(party),
            verb="contract.signature",
            title=_("Awaiting your signature: %(code)s") % {"code": contract.code},
            body=_("The other party has signed the contract."),
        )
    return signature


@transaction.atomic
def contract_attach_paper_copy(*, actor: User, contract: Contract, file) -> Contract:
    """The scanned, signed paper copy (optional), by either party once both signed."""
    if party_of(actor, contract) is None:
        raise PermissionDenied(_("Only a party to this contract can upload its paper copy."))
    contract = _locked(contract.pk)
    if contract.status in (ContractStatus.DRAFT, ContractStatus.TERMINATED):
        raise _error(_("Upload the paper copy once both parties have signed."), "paper_copy")
    from marketplace.uploads import validate_scan

    try:
        validate_scan(file)
    except ValidationError as exc:
        raise ValidationError({"paper_copy": exc.error_list}) from exc
    contract.paper_copy = file
    contract.save(update_fields=["paper_copy", "updated_at"])
    audit.record(actor=actor, action="contract.paper_copy", obj=contract)
    return contract


# --- fulfilment ------------------------------------------------------------------------------


def _start(contract: Contract, actor) -> None:
    contract.started_at = timezone.now()
    contract.start(by=actor)


@transaction.atomic
def contract_start(*, actor: User, contract: Contract) -> Contract:
    """开始履约, announced by the agency (delivering the first result also starts it)."""
    require_perm(actor, "act_agency", contract)
    contract = _locked(contract.pk)
    if contract.status != ContractStatus.SIGNED:
        raise _error(_("Only a signed contract can start."))
    _start(contract, actor)
    contract.save()
    return contract


def current_milestone(contract: Contract) -> Milestone | None:
    """Milestones are delivered in order: the first one not yet accepted."""
    return (
        contract.milestones.exclude(status__in=(MilestoneStatus.ACCEPTED, MilestoneStatus.PAID))
        .order_by("sequence")
        .first()
    )


@transaction.atomic
def deliverable_submit(*, actor: User, milestone: Milestone, file, note: str = "") -> Deliverable:
    """提交成果: the agency uploads the result of the current milestone (a new round after a
    return). The file is checked by content and size before anything changes."""
    require_perm(actor, "act_agency", milestone.contract)
    contract = _locked(milestone.contract_id)
    if contract.status not in (
        ContractStatus.SIGNED,
        ContractStatus.IN_PROGRESS,
        ContractStatus.RETURNED,
    ):
        if contract.status == ContractStatus.DELIVERED:
            raise _error(_("A result is awaiting the owner's review; wait for the decision."))
        raise _error(_("This contract is not open for deliverables."))
    milestone = contract.milestones.select_for_update().get(pk=milestone.pk)
    current = current_milestone(contract)
    if current is None or current.pk != milestone.pk:
        raise _error(_("Milestones are delivered in order; this one is not the current one."))
    try:
        validate_deliverable(file)
    except ValidationError as exc:
        raise ValidationError({"file": exc.error_list}) from exc
    if contract.status == ContractStatus.SIGNED:
        _start(contract, actor)
    now = timezone.now()
    deliverable = Deliverable.objects.create(
        milestone=milestone,
        round=milestone.deliverables.count() + 1,
        file=file,
        **Deliverable.facts_of(file),
        note=(note or "").strip(),
        submitted_by=actor,
        submitted_at=now,
    )
    data = {"milestone": milestone.sequence, "round": deliverable.round}
    milestone.deliver(by=actor, data=data)
    milestone.save()
    contract.deliver(by=actor, data=data)
    contract.save()
    _notify_party(
        contract,
        SigningParty.OWNER,
        verb="contract.delivered",
        title=_("Result delivered for review: %(code)s") % {"code": contract.code},
        body=_("Milestone %(n)d, round %(round)d.")
        % {"n": milestone.sequence, "round": deliverable.round},
    )
    return deliverable


def _review(actor: User, milestone: Milestone) -> tuple[Contract, Milestone, Deliverable]:
    require_perm(actor, "act_owner", milestone.contract)
    contract = _locked(milestone.contract_id)
    milestone = contract.milestones.select_for_update().get(pk=milestone.pk)
    if contract.status != ContractStatus.DELIVERED or milestone.status != MilestoneStatus.DELIVERED:
        raise _error(_("There is no delivered result awaiting review for this milestone."))
    deliverable = milestone.deliverables.order_by("-round").first()
    return contract, milestone, deliverable


@transaction.atomic
def deliverable_accept(*, actor: User, milestone: Milestone, comment: str = "") -> Milestone:
    """验收: the owner accepts the milestone's latest result; it becomes payable. The last
    milestone accepted accepts the service."""
    contract, milestone, deliverable = _review(actor, milestone)
    now = timezone.now()
    deliverable.decision = Deliverable.Decision.ACCEPTED
    deliverable.review_reasons = (comment or "").strip()
    deliverable.reviewed_by = actor
    deliverable.reviewed_at = now
    deliverable.save()
    data = {"milestone": milestone.sequence, "round": deliverable.round}
    milestone.accepted_at = now
    milestone.accept(by=actor, data=data)
    milestone.save()
    remaining = contract.milestones.exclude(
        status__in=(MilestoneStatus.ACCEPTED, MilestoneStatus.PAID)
    ).exists()
    if remaining:
        contract.accept_milestone(by=actor, data=data)
    else:
        contract.accepted_at = now
        contract.accept(by=actor, data=data)
    contract.save()
    _notify_party(
        contract,
        SigningParty.AGENCY,
        verb="contract.accepted",
        title=_("Result accepted: %(code)s") % {"code": contract.code},
        body=_("Milestone %(n)d was accepted; payment of %(amount)s yuan follows.")
        % {"n": milestone.sequence, "amount": f"{milestone.amount:,.2f}"},
    )
    return milestone


@transaction.atomic
def deliverable_return(*, actor: User, milestone: Milestone, reasons: str) -> Milestone:
    """退回整改: the owner returns the latest result with reasons; the agency reworks it."""
    reasons = (reasons or "").strip()
    if not reasons:
        raise _error(_("Say what must be reworked."), "reasons")
    contract, milestone, deliverable = _review(actor, milestone)
    deliverable.decision = Deliverable.Decision.RETURNED
    deliverable.review_reasons = reasons
    deliverable.reviewed_by = actor
    deliverable.reviewed_at = timezone.now()
    deliverable.save()
    data = {"milestone": milestone.sequence, "round": deliverable.round}
    milestone.return_for_rework(by=actor, reason=reasons, data=data)
    milestone.save()
    contract.return_for_rework(by=actor, reason=reasons, data=data)
    contract.save()
    _notify_party(
        contract,
        SigningParty.AGENCY,
        verb="contract.returned",
        title=_("Result returned for rework: %(code)s") % {"code": contract.code},
        body=reasons,
    )
    return milestone


def complete_if_paid(contract: Contract, *, actor=None) -> bool:
    """完成: an accepted contract whose milestones are all paid (called with the lock held,
    by the payment settlement)."""
    if contract.status != ContractStatus.ACCEPTED:
        return False
    if contract.milestones.exclude(status=MilestoneStatus.PAID).exists():
        return False
    contract.completed_at = timezone.now()
    contract.complete(by=actor)
    contract.save()
    if contract.order_id:
        orders.order_set_status(contract.order, orders.COMPLETED)
    _notify_both(
        contract,
        verb="contract.completed",
        title=_("Contract completed: %(code)s") % {"code": contract.code},
        body=_("Every milestone has been accepted and paid."),
    )
    return True


# --- extensions and termination -----------------------------------------------------------------


@transaction.atomic
def extension_propose(*, actor: User, contract: Contract, new_due_date, reason: str) -> Extension:
    """工期延长, proposed by one party: a later due date, with a reason; in effect once the
    other party agrees."""
    party = party_of(actor, contract)
    if party is None:
        raise PermissionDenied(_("Only a party to this contract can propose an extension."))
    contract = _locked(contract.pk)
    if contract.status not in WORK_DUE_STATES or contract.due_date is None:
        raise _error(_("Only a signed contract whose work is still due can be extended."))
    if isinstance(new_due_date, str):
        try:
            new_due_date = datetime.date.fromisoformat(new_due_date.strip())
        except ValueError:
            new_due_date = None
    if not isinstance(new_due_date, datetime.date):
        raise _error(_("Give the new due date as YYYY-MM-DD."), "new_due_date")
    if new_due_date <= contract.due_date:
        raise _error(
            _(
                "An extension moves the due date later: %(date)s is not after the current "
                "due date, %(due)s."
            )
            % {"date": new_due_date.isoformat(), "due": contract.due_date.isoformat()},
            "new_due_date",
            code="not_later",
        )
    if new_due_date <= timezone.localdate():
        raise _error(
            _("Extensions are never retroactive: the new due date must be in the future."),
            "new_due_date",
            code="retroactive",
        )
    reason = (reason or "").strip()
    if not reason:
        raise _error(_("Give the reason for the extension."), "reason")
    if contract.extensions.filter(status=ExtensionStatus.PROPOSED).exists():
        raise _error(_("Another extension is awaiting an answer."), code="pending")
    extension = Extension.objects.create(
        contract=contract,
        proposed_by_party=party,
        proposed_by=actor,
        old_due_date=contract.due_date,
        new_due_date=new_due_date,
        reason=reason,
    )
    audit.record(
        actor=actor,
        action="extension.propose",
        obj=contract,
        reason=reason,
        data={
            "extension": extension.pk,
            "from": contract.due_date.isoformat(),
            "to": new_due_date.isoformat(),
        },
    )
    _notify_party(
        contract,
        _other(party),
        verb="contract.extension",
        title=_("Extension proposed: %(code)s") % {"code": contract.code},
        body=_("New due date %(date)s: %(reason)s")
        % {"date": new_due_date.isoformat(), "reason": reason},
    )
    return extension


def _lock_extension(actor: User, extension: Extension) -> tuple[Contract, Extension, str]:
    party = party_of(actor, extension.contract)
    if party is None:
        raise PermissionDenied(_("Only a party to this contract can answer an extension."))
    contract = _locked(extension.contract_id)
    extension = contract.extensions.select_for_update().get(pk=extension.pk)
    if extension.status != ExtensionStatus.PROPOSED:
        raise _error(_("This extension has already been answered."))
    return contract, extension, party


@transaction.atomic
def extension_answer(
    *, actor: User, extension: Extension, agree: bool, reason: str = ""
) -> Extension:
    """The other party agrees (the due date moves, from now on) or rejects."""
    contract, extension, party = _lock_extension(actor, extension)
    if party == extension.proposed_by_party:
        raise PermissionDenied(_("The other party answers an extension, not its proposer."))
    today = timezone.localdate()
    extension.decided_by = actor
    extension.decided_at = timezone.now()
    if not agree:
        extension.reject(by=actor, reason=(reason or "").strip())
        extension.save()
        return extension
    if contract.status not in WORK_DUE_STATES or contract.due_date != extension.old_due_date:
        raise _error(_("The contract changed since the proposal; propose the extension again."))
    if extension.new_due_date <= today:
        raise _error(
            _("Extensions are never retroactive: this one's new due date has already passed."),
            code="retroactive",
        )
    extension.agree(by=actor, reason=(reason or "").strip())
    extension.save()
    old = contract.due_date
    contract.due_date = extension.new_due_date
    # The flag clears for the future; ``was_overdue`` keeps the missed date on record.
    contract.overdue_since = None
    contract.save(update_fields=["due_date", "overdue_since", "updated_at"])
    audit.record(
        actor=actor,
        action="contract.extended",
        obj=contract,
        reason=extension.reason,
        data={
            "extension": extension.pk,
            "from": old.isoformat(),
            "to": contract.due_date.isoformat(),
        },
    )
    _notify_both(
        contract,
        verb="contract.extended",
        title=_("Due date extended: %(code)s") % {"code": contract.code},
        body=_("The new due date is %(date)s.") % {"date": contract.due_date.isoformat()},
    )
    return extension


@transaction.atomic
def extension_withdraw(*, actor: User, extension: Extension) -> Extension:
    _contract, extension, party = _lock_extension(actor, extension)
    if party != extension.proposed_by_party:
        raise PermissionDenied(_("Only the proposing party can withdraw an extension."))
    extension.decided_by = actor
    extension.decided_at = timezone.now()
    extension.withdraw(by=actor)
    extension.save()
    return extension


@transaction.atomic
def contract_terminate(*, actor: User, contract: Contract, reason: str) -> Contract:
    """终止, by either party or a covering regulator, always with a reason. Paid milestones
    stay paid; the order is cancelled."""
    require_perm(actor, "terminate", contract)
    reason = (reason or "").strip()
    if not reason:
        raise _error(_("Give the reason for terminating the contract."), "reason")
    contract = _locked(contract.pk)
    if contract.status in (ContractStatus.COMPLETED, ContractStatus.TERMINATED):
        raise _error(_("This contract has already ended."))
    contract.terminated_at = timezone.now()
    contract.terminate(by=actor, reason=reason)
    contract.save()
    contract.extensions.filter(status=ExtensionStatus.PROPOSED).update(
        status=ExtensionStatus.WITHDRAWN
    )
    if contract.order_id:
        orders.order_set_status(contract.order, orders.CANCELLED)
    _notify_both(
        contract,
        verb="contract.terminated",
        title=_("Contract terminated: %(code)s") % {"code": contract.code},
        body=reason,
    )
    return contract


# --- the scheduler ------------------------------------------------------------------------------


def flag_overdue(*, today: datetime.date | None = None) -> int:
    """逾期: flags every contract whose work is still due after its due date, once per missed
    due date, each in its own transaction: one ``contract.overdue`` event, and notices to both
    parties and the regulators in scope. Idempotent; returns how many were flagged."""
    today = today or timezone.localdate()
    due_ids = list(
        Contract.objects.filter(
            status__in=WORK_DUE_STATES, due_date__lt=today, overdue_since__isnull=True
        ).values_list("pk", flat=True)
    )
    flagged = 0
    for pk in due_ids:
        with transaction.atomic():
            contract = _locked(pk)
            if (
                contract.status not in WORK_DUE_STATES
                or contract.due_date is None
                or contract.due_date >= today
                or contract.overdue_since is not None
            ):
                continue
            contract.overdue_since = contract.due_date
            contract.was_overdue = True
            contract.save(update_fields=["overdue_since", "was_overdue", "updated_at"])
            audit.record(
                actor=None,
                action="contract.overdue",
                obj=contract,
                data={
                    "due_date": contract.due_date.isoformat(),
                    "working_days_late": workdays.working_days_between(contract.due_date, today),
                },
            )
            title = _("Contract overdue: %(code)s") % {"code": contract.code}
            body = _("The service was due on %(date)s and has not been accepted.") % {
                "date": contract.due_date.isoformat()
            }
            _notify_both(contract, verb="contract.overdue", title=title, body=body)
            _notify_regulators(contract, verb="contract.overdue", title=title, body=body)
            flagged += 1
    return flagged


__all__ = [
    "contract_attach_paper_copy",
    "contract_from_award",
    "contract_from_purchase",
    "contract_sign",
    "contract_start",
    "contract_terminate",
    "contract_update_terms",
    "current_milestone",
    "deliverable_accept",
    "deliverable_return",
    "deliverable_submit",
    "extension_answer",
    "extension_propose",
    "extension_withdraw",
    "flag_overdue",
    "party_of",
    "terms_hash",
]
