"""The public timeline of an announcement (全程留痕): every audit event (marketplace.AuditEvent)
of the announcement, its registrations, its draw, its objections and its contracts, oldest
first.

One query whatever the number of registrations and events: the events are matched by content
type (joined on app label and model, so no ContentType lookup) and object id, the related
objects' ids as subqueries (cast to text: ``AuditEvent.object_id`` is a string), with each
event's organisation joined in.

What is shown is public: the organisation an event belongs to (owner unit or agency: both
names are public), the action, the change of state and its reason. The acting user (a
person) is not: an event says only whether a person or the system acted."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db.models import CharField, Q
from django.db.models.functions import Cast
from django.utils.translation import gettext_lazy as _

from marketplace.models import AuditEvent
from procurement.models import (
    Announcement,
    AnnouncementStatus,
    Contract,
    ContractStatus,
    Draw,
    Extension,
    ExtensionStatus,
    Milestone,
    MilestoneStatus,
    Objection,
    ObjectionStatus,
    Registration,
    RegistrationStatus,
)

# (model, action) -> what happened, in words. Transition events are named after the FSM
# method (audit.on_fsm_transition); explicit records after "<entity>.<verb>".
ACTIONS = {
    ("announcement", "announcement.create"): _("Draft created"),
    ("announcement", "announcement.update"): _("Draft edited"),
    ("announcement", "announcement.exclude"): _("Exclusion declared (回避)"),
    ("announcement", "announcement.unexclude"): _("Exclusion withdrawn"),
    ("announcement", "announcement.republish"): _("Created as a republication"),
    ("announcement", "publish"): _("Published; the commitment to the draw is made"),
    ("announcement", "close_registration"): _("Registration closed; the pool is frozen"),
    ("announcement", "start_selection"): _("Selection started"),
    ("announcement", "select"): _("Selection made"),
    ("announcement", "start_publicity"): _("Publicity of the result"),
    ("announcement", "suspend"): _("Suspended: an objection is under review"),
    ("announcement", "award"): _("Awarded"),
    ("announcement", "fail"): _("Failed (流标)"),
    ("announcement", "cancel"): _("Cancelled"),
    ("registration", "registration.submit"): _("Registered"),
    ("registration", "registration.direct"): _("Registered by direct selection"),
    ("registration", "admit"): _("Eligible, in the pool"),
    ("registration", "refuse"): _("Ineligible at closing"),
    ("registration", "select"): _("Selected"),
    ("registration", "make_alternate"): _("Alternate"),
    ("registration", "not_select"): _("Not selected"),
    ("registration", "confirm"): _("Confirmed"),
    ("registration", "decline"): _("Declined"),
    ("objection", "objection.file"): _("Objection filed"),
    ("objection", "uphold"): _("Objection upheld"),
    ("objection", "dismiss"): _("Objection dismissed"),
    ("contract", "contract.create"): _("Contract draft created"),
    ("contract", "contract.terms"): _("Terms and milestones set"),
    ("contract", "contract.signatures_voided"): _("Signatures voided: the terms changed"),
    ("contract", "contract.signature"): _("Signed by one party"),
    ("contract", "contract.paper_copy"): _("Signed paper copy uploaded"),
    ("contract", "sign"): _("Contract signed by both parties"),
    ("contract", "start"): _("Service started"),
    ("contract", "deliver"): _("Result delivered"),
    ("contract", "return_for_rework"): _("Returned for rework"),
    ("contract", "accept_milestone"): _("Milestone accepted"),
    ("contract", "accept"): _("Service accepted (验收)"),
    ("contract", "complete"): _("Completed"),
    ("contract", "terminate"): _("Terminated"),
    ("contract", "contract.overdue"): _("Overdue"),
    ("contract", "extension.propose"): _("Extension proposed"),
    ("contract", "contract.extended"): _("Due date extended by agreement"),
    ("contract", "payment.start"): _("Payment started"),
    ("contract", "payment.failed"): _("Payment not completed"),
    ("contract", "payment.duplicate"): _("Duplicate payment, refunded"),
    ("contract", "payment.refund"): _("Refund"),
    ("contract", "payment.refunded"): _("Payment refunded"),
    ("milestone", "deliver"): _("Milestone result delivered"),
    ("milestone", "return_for_rework"): _("Milestone returned for rework"),
    ("milestone", "accept"): _("Milestone accepted"),
    ("milestone", "mark_paid"): _("Milestone paid"),
    ("extension", "agree"): _("Extension agreed"),
    ("extension", "reject"): _("Extension rejected"),
    ("extension", "withdraw"): _("Extension withdrawn"),
}

# What the public timeline of an announcement shows of its contracts: that they were made,
# signed, completed or terminated; the rest (payments, reviews) is for the parties.
PUBLIC_CONTRACT_ACTIONS = ("contract.create", "sign", "complete", "terminate")

STATES = {
    "announcement": AnnouncementStatus,
    "registration": RegistrationStatus,
    "objection": ObjectionStatus,
    "contract": ContractStatus,
    "milestone": MilestoneStatus,
    "extension": ExtensionStatus,
}

# Public keys of an event's data worth showing (the rest stays in the audit trail), with the
# label they are shown under.
SHOWN_DATA = {
    "commitment": _("commitment"),
    "pool_hash": _("pool hash"),
    "seed": _("seed"),
    "position": _("position in the draw"),
    "registrants": _("registrants"),
    "eligible": _("eligible registrants"),
    "milestone": _("milestone"),
    "round": _("round"),
    "due_date": _("due date"),
    "from": _("from"),
    "to": _("to"),
    "amount": _("amount (yuan)"),
}


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime.datetime
    model: str  # announcement, registration, draw, objection, contract
    action: str
    label: str
    organisation: str  # whose event: the owner unit or the agency
    by_system: bool  # no person acted (the scheduler, the platform)
    from_state: str
    to_state: str
    from_label: str
    to_label: str
    reason: str
    data: tuple[tuple[str, str, str], ...]  # (key, label, value)


def _state_label(model: str, state: str) -> str:
    choices = STATES.get(model)
    if not state or choices is None or state not in choices.values:
        return state
    return str(choices(state).label)


def _ids(queryset) -> object:
    return queryset.annotate(sid=Cast("pk", output_field=CharField())).values("sid")


def announcement_timeline(announcement: Announcement, registrations=None) -> list[TimelineEntry]:
    """The announcement's events, oldest first. One query. ``registrations``: only these
    registrations' own events (a page showing part of a large pool); default all."""
    pk = announcement.pk
    of = _of
    condition = (
        of("announcement", str(pk))
        | of(
            "registration",
            _ids(Registration.objects.filter(announcement_id=pk))
            if registrations is None
            else [str(r.pk) for r in registrations],
        )
        | of("draw", _ids(Draw.objects.filter(announcement_id=pk)))
        | of("objection", _ids(Objection.objects.filter(announcement_id=pk)))
        | (
            of("contract", _ids(Contract.objects.filter(announcement_id=pk)))
            & Q(action__in=PUBLIC_CONTRACT_ACTIONS)
        )
    )
    return _entries(condition)


def _of(model: str, object_id) -> Q:
    matcher = Q(object_id=object_id) if isinstance(object_id, str) else Q(object_id__in=object_id)
    return Q(content_type__app_label="procurement", content_type__model=model) & matcher


def contract_timeline(contract: Contract) -> list[TimelineEntry]:
    """The contract's events and those of its milestones and extensions, oldest first, each
    named after the party whose member acted (the agency delivering, the owner reviewing), or
    the platform. Two queries. Shown to the parties and regulators, not the public."""
    from marketplace.models import Membership

    pk = contract.pk
    sides = {
        contract.owner.organisation_id: contract.owner.organisation.name,
        contract.agency.organisation_id: contract.agency.organisation.name,
    }
    acting = {}
    for user_id, organisation_id in Membership.objects.filter(
        organisation_id__in=list(sides)
    ).values_list("user_id", "organisation_id"):
        acting.setdefault(user_id, sides[organisation_id])
    return _entries(
        _of("contract", str(pk))
        | _of("milestone", _ids(Milestone.objects.filter(contract_id=pk)))
        | _of("extension", _ids(Extension.objects.filter(contract_id=pk))),
        acting=acting,
    )


def _entries(condition: Q, acting: dict | None = None) -> list[TimelineEntry]:
    events = (
        AuditEvent.objects.filter(condition)
        .select_related("organisation", "content_type")
        .order_by("created_at", "id")
    )
    entries = []
    for event in events:
        model = event.content_type.model
        data = event.data or {}
        entries.append(
            TimelineEntry(
                at=event.created_at,
                model=model,
                action=event.action,
                label=str(ACTIONS.get((model, event.action), event.action)),
                organisation=(
                    acting.get(event.actor_id, "")
                    if acting is not None and event.actor_id is not None
                    else event.organisation.name
                    if event.organisation
                    else ""
                ),
                by_system=event.actor_id is None,
                from_state=event.from_state,
                to_state=event.to_state,
                from_label=_state_label(model, event.from_state),
                to_label=_state_label(model, event.to_state),
                reason=event.reason,
                data=tuple(
                    (k, str(label), str(data[k]))
                    for k, label in SHOWN_DATA.items()
                    if data.get(k) not in (None, "")
                ),
            )
        )
    return entries


__all__ = ["ACTIONS", "TimelineEntry", "announcement_timeline", "contract_timeline"]
