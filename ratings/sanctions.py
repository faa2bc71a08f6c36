"""Sanctions (失信惩戒), the blacklist (黑名单、市场禁入) and appeals (申诉): the services.

    s = sanction_propose(actor=reviewer, agency=a, reason_code="FALSE_RESULT", facts="…",
                         severity="ban", starts_on=today, ends_on=today + 365 days)
    sanction_approve(actor=other_regulator, sanction=s)        # a ban: four eyes
    appeal_file(actor=agency_admin, sanction=s, grounds="…")   # within N working days
    appeal_decide(actor=third_regulator, sanction=s, uphold=False, decision="…")
    sanction_lift(actor=supervisor, sanction=s, reason="…")
    expire_due()                                               # the chronograph job

Who may do what: ratings/sanction_rules.py. What a sanction bars and where: ratings/
enforcement.py. Each service authorises (``PermissionDenied`` with the reason), validates
(``ValidationError`` with a code), locks the sanction, transitions it through its FSM (the
post_transition receiver writes the one audit event), and, when whether the agency is barred
may have changed, applies it at once in the same transaction (``enforcement.enforce``: shelf
and search; registration, draws and direct purchases read the provider live), notifies the
agency's members and the covering regulators through the outbox and asks for a credit
recompute.

Periods: ``starts_on`` is today or later (a proposal cannot backdate a sanction);
``ends_on >= starts_on``; both inclusive. A sanction approved before its start date is "in
effect" but bars only from ``starts_on`` (the provider checks the day); the job
``ratings.sanctions`` applies the bar to the shelf and search on that day and ends sanctions
past ``ends_on``. A sanction still under appeal when its period ends stays "appealed" (the
provider no longer bars it); once upheld, the job expires it.

Settings (``settings.RATINGS``, read with defaults): ``APPEAL_WORKING_DAYS`` (10),
``SANCTION_MAX_DAYS`` (1825, the longest period), ``SANCTION_REASONS`` (ratings/reasons.py).
"""

from __future__ import annotations

import datetime
import logging
import uuid

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import CharField, Exists, F, OuterRef
from django.db.models.functions import Cast
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from agencies.models import Agency
from marketplace import audit, workdays
from marketplace.models import AuditEvent, Organisation, OrganisationKind, Role
from ratings import enforcement
from ratings.models import (
    BARRING_STATES,
    Appeal,
    AppealStatus,
    Sanction,
    SanctionSeverity,
    SanctionStatus,
)
from ratings.reasons import reason as find_reason
from ratings.sanction_rules import covering_regulators, is_agency_member

logger = logging.getLogger(__name__)
BATCH = 100
START_ACTION = "sanction_start"

__all__ = [
    "appeal_decide",
    "appeal_file",
    "expire_due",
    "ratings_setting",
    "sanction_approve",
    "sanction_lift",
    "sanction_propose",
    "sanction_withdraw",
]


def ratings_setting(key: str, default):
    return (getattr(settings, "RATINGS", None) or {}).get(key, default)


# --- helpers ------------------------------------------------------------------------------------


def _lock(sanction: Sanction) -> Sanction:
    return (
        Sanction.objects.select_for_update(of=("self",))
        .select_related("agency__organisation__region")
        .get(pk=sanction.pk)
    )


_STATE_MESSAGES = {
    # Whole sentences, not a verb put into one: word order differs between languages.
    "approve": _("Decision %(code)s is %(status)s: it cannot be approved now."),
    "withdraw": _("Decision %(code)s is %(status)s: it cannot be withdrawn now."),
    "appeal": _("Decision %(code)s is %(status)s: it cannot be appealed now."),
    "decide": _("Decision %(code)s is %(status)s: its appeal cannot be decided now."),
    "lift": _("Decision %(code)s is %(status)s: it cannot be lifted now."),
}


def _state_error(sanction: Sanction, action: str) -> ValidationError:
    return ValidationError(
        _STATE_MESSAGES[action] % {"code": sanction.code, "status": sanction.get_status_display()},
        code="invalid_state",
    )


def _text(value: str, field: str, message: str) -> str:
    value = (value or "").strip()
    if not value:
        raise _error(field, message, "required")
    return value


def _request_recompute(agency_id: int, trigger: str) -> None:
    """Credit recompute (ratings.credit, written by the credit part); skipped until it
    exists."""
    try:
        from ratings.credit import request_recompute
    except ImportError:
        return
    request_recompute(agency_id, trigger=trigger)


def _agency_url() -> str:
    return reverse("ratings:agency_sanctions")


def _regulator_url(sanction: Sanction) -> str:
    return reverse("ratings:sanction_detail", args=[sanction.pk])


def _notify(sanction: Sanction, *, verb: str, title, body="", agency=True, regulators=True):
    """The agency's members and the reviewers and supervisors of every regulator covering
    the agency, through the outbox (after commit)."""
    from agencies.selectors import regulator_covers_agency
    from procurement.notices import notify_members

    if agency:
        notify_members(
            sanction.agency.organisation_id,
            verb=verb,
            title=str(title),
            body=str(body),
            url=_agency_url(),
        )
    if regulators:
        orgs = (
            Organisation.objects.filter(kind=OrganisationKind.REGULATOR, is_active=True)
            .select_related("scope_region")
            .prefetch_related("scope_industries")
        )
        for org in orgs:
            if org.pk == sanction.regulator_id or regulator_covers_agency(org, sanction.agency):
                notify_members(
                    org.pk,
                    verb=verb,
                    title=str(title),
                    body=str(body),
                    url=_regulator_url(sanction),
                    roles=(Role.REVIEWER, Role.SUPERVISOR),
                )


def _changed(sanction: Sanction, trigger: str, today=None) -> None:
    """The bar may have started or ended: apply it to the shelf and search, recompute credit."""
    enforcement.enforce(sanction.agency, today)
    _request_recompute(sanction.agency_id, trigger)


def _take_effect(sanction: Sanction, *, actor, now) -> None:
    sanction.effective_at = now
    days = int(ratings_setting("APPEAL_WORKING_DAYS", 10))
    sanction.appeal_by = workdays.deadline_at(now, days)
    sanction.take_effect(
        by=actor,
        reason=sanction.facts[:200],
        data={
            "severity": sanction.severity,
            "reason_code": sanction.reason_code,
            "starts_on": sanction.starts_on.isoformat(),
            "ends_on": sanction.ends_on.isoformat(),
            "approved_by": sanction.approved_by_id,
            "appeal_by": sanction.appeal_by.isoformat(),
        },
    )
    sanction.save()
    _changed(sanction, "sanction_in_effect")
    _notify(
        sanction,
        verb="sanction.in_effect",
        title=_("Sanction %(code)s is in effect: %(severity)s from %(start)s to %(end)s")
        % {
            "code": sanction.code,
            "severity": sanction.get_severity_display(),
            "start": sanction.starts_on.isoformat(),
            "end": sanction.ends_on.isoformat(),
        },
        body=_("You may appeal until %(deadline)s.")
        % {"deadline": timezone.localtime(sanction.appeal_by).strftime("%Y-%m-%d %H:%M")},
    )


# --- propose, approve, withdraw -----------------------------------------------------------------


def _validate_period(starts_on, ends_on, today) -> None:
    errors = {}
    if not isinstance(starts_on, datetime.date):
        errors["starts_on"] = ValidationError(_("Give the start date."), code="required")
    if not isinstance(ends_on, datetime.date):
        errors["ends_on"] = ValidationError(_("Give the end date."), code="required")
    if errors:
        raise ValidationError(errors)
    if starts_on < today:
        raise _error(
            "starts_on",
            _("A sanction cannot start in the past (today is %(today)s).")
            % {"today": today.isoformat()},
            "starts_in_past",
        )
    if ends_on < starts_on:
        raise _error("ends_on", _("The sanction ends before it starts."), "ends_before_start")
    longest = int(ratings_setting("SANCTION_MAX_DAYS", 1825))
    if (ends_on - starts_on).days + 1 > longest:
        raise _error(
            "ends_on", _("A sanction lasts at most %(days)s days.") % {"days": longest}, "too_long"
        )


def _error(field: str, message: str, code: str) -> ValidationError:
    return ValidationError({field: ValidationError(message, code=code)})


@transaction.atomic
def sanction_propose(
    *,
    actor,
    agency: Agency,
    reason_code: str,
    facts: str,
    severity: str,
    starts_on: datetime.date,
    ends_on: datetime.date,
    complaint=None,
) -> Sanction:
    """拟处理: a reviewer or supervisor of a regulator covering ``agency`` proposes a sanction.
    A warning or suspension takes effect at once; a market ban waits for a second regulator
    (``sanction_approve``). Code ``CF-YYYY-NNNNNN``."""
    agency = Agency.objects.select_related("organisation__region").get(pk=agency.pk)
    regulators = covering_regulators(actor, agency)
    if not regulators:
        raise PermissionDenied(
            _(
                "This agency is outside your regulator's scope (its registered region and the "
                "industries of its service items): you cannot sanction it."
            )
        )
    found = find_reason(reason_code or "")
    if found is None:
        raise _error("reason_code", _("Choose a reason from the list."), "unknown_reason")
    if severity not in SanctionSeverity.values:
        raise _error("severity", _("Choose a severity from the list."), "invalid_severity")
    facts = _text(facts, "facts", _("State the facts found."))
    today = timezone.localdate()
    _validate_period(starts_on, ends_on, today)
    if complaint is not None and complaint.agency_id != agency.pk:
        raise _error("complaint", _("The complaint is about another agency."), "wrong_complaint")

    now = timezone.now()
    # Serialise the sanctions of one agency (and their enforcement) on the agency's row.
    Agency.objects.select_for_update(of=("self",)).filter(pk=agency.pk).values_list("pk").first()
    sanction = Sanction.objects.create(
        code=f"tmp-{uuid.uuid4().hex[:16]}",
        agency=agency,
        reason_code=found.code,
        legal_basis=found.legal_basis[:300],
        facts=facts,
        severity=severity,
        starts_on=starts_on,
        ends_on=ends_on,
        regulator=regulators[0],
        complaint=complaint,
        proposed_by=actor,
    )
    sanction.code = f"CF-{timezone.localtime(now).year}-{sanction.pk:06d}"
    sanction.save(update_fields=["code"])
    sanction.agency = agency
    audit.record(
        actor=actor,
        action="sanction_propose",
        obj=sanction,
        to_state=SanctionStatus.PROPOSED,
        reason=facts[:200],
        data={
            "agency": agency.pk,
            "severity": severity,
            "reason_code": found.code,
            "starts_on": starts_on.isoformat(),
            "ends_on": ends_on.isoformat(),
            "complaint": getattr(complaint, "pk", None),
        },
    )
    if severity == SanctionSeverity.BAN:
        _notify(
            sanction,
            verb="sanction.proposed",
            title=_("A market ban on %(agency)s awaits a second regulator's approval (%(code)s)")
            % {"agency": agency.organisation.name, "code": sanction.code},
            body=facts[:500],
            agency=False,
        )
    else:
        _take_effect(sanction, actor=actor, now=now)
    return sanction


@transaction.atomic
def sanction_approve(*, actor, sanction: Sanction) -> Sanction:
    """四眼: a second regulator approves a proposed market ban, which takes effect at once
    (and bars from ``starts_on``)."""
    sanction = _lock(sanction)
    if not covering_regulators(actor, sanction.agency):
        raise PermissionDenied(
            _("This agency is outside your regulator's scope: you cannot approve its sanction.")
        )
    if sanction.status != SanctionStatus.PROPOSED:
        raise _state_error(sanction, "approve")
    if sanction.severity != SanctionSeverity.BAN:
        raise ValidationError(
            _("Only a market ban needs approval; this sanction took effect when proposed."),
            code="no_approval_needed",
        )
    if sanction.proposed_by_id == actor.pk:
        raise ValidationError(
            _("You proposed this ban: another regulator must approve it (four-eyes principle)."),
            code="own_proposal",
        )
    today = timezone.localdate()
    if sanction.ends_on < today:
        raise ValidationError(
            _("The proposed period ended on %(end)s: withdraw it and propose again.")
            % {"end": sanction.ends_on.isoformat()},
            code="period_over",
        )
    now = timezone.now()
    sanction.approved_by = actor
    sanction.approved_at = now
    _take_effect(sanction, actor=actor, now=now)
    return sanction


@transaction.atomic
def sanction_withdraw(*, actor, sanction: Sanction, reason: str = "") -> Sanction:
    """撤回: the proposer takes back a ban proposal before it is approved."""
    sanction = _lock(sanction)
    if sanction.proposed_by_id != actor.pk:
        raise PermissionDenied(_("Only the regulator who proposed it can withdraw a proposal."))
    if sanction.status != SanctionStatus.PROPOSED:
        raise _state_error(sanction, "withdraw")
    sanction.withdraw(by=actor, reason=(reason or "").strip())
    sanction.ended_at = timezone.now()
    sanction.save()
    return sanction


# --- appeals ----------------------------------------------------------------------------------


@transaction.atomic
def appeal_file(*, actor, sanction: Sanction, grounds: str) -> Appeal:
    """申诉: the agency's administrator or staff member appeals before ``appeal_by``. The
    sanction stays in effect (and keeps barring) until the appeal is decided."""
    sanction = _lock(sanction)
    if not is_agency_member(actor, sanction.agency):
        raise PermissionDenied(_("Only the sanctioned agency's members can appeal."))
    if sanction.status in (SanctionStatus.APPEALED, SanctionStatus.UPHELD, SanctionStatus.REVOKED):
        raise ValidationError(
            _("Decision %(code)s has already been appealed.") % {"code": sanction.code},
            code="already_appealed",
        )
    if sanction.status != SanctionStatus.IN_EFFECT:
        raise _state_error(sanction, "appeal")
    now = timezone.now()
    if sanction.appeal_by is not None and now > sanction.appeal_by:
        raise ValidationError(
            _("The time to appeal decision %(code)s ended at %(deadline)s.")
            % {
                "code": sanction.code,
                "deadline": timezone.localtime(sanction.appeal_by).strftime("%Y-%m-%d %H:%M"),
            },
            code="too_late",
        )
    grounds = _text(grounds, "grounds", _("State the grounds of the appeal."))
    appeal = Appeal.objects.create(sanction=sanction, grounds=grounds, filed_by=actor)
    sanction.appeal(by=actor, reason=grounds[:200], data={"appeal": appeal.pk})
    sanction.save()
    _notify(
        sanction,
        verb="sanction.appealed",
        title=_("%(agency)s appeals against decision %(code)s")
        % {"agency": sanction.agency.organisation.name, "code": sanction.code},
        body=grounds[:500],
    )
    return appeal


@transaction.atomic
def appeal_decide(*, actor, sanction: Sanction, uphold: bool, decision: str) -> Appeal:
    """A regulator covering the agency, neither the proposer nor the approver (an appeal is
    heard by someone not involved), upholds (维持) or revokes (撤销) the sanction; revoked,
    the bar ends at once. The decision is published on the blacklist page."""
    sanction = _lock(sanction)
    if not covering_regulators(actor, sanction.agency):
        raise PermissionDenied(
            _("This agency is outside your regulator's scope: you cannot decide the appeal.")
        )
    if sanction.proposed_by_id == actor.pk:
        raise ValidationError(
            _("You proposed this sanction: another regulator must decide the appeal."),
            code="proposer_decides",
        )
    if sanction.approved_by_id == actor.pk:
        raise ValidationError(
            _("You approved this sanction: another regulator must decide the appeal."),
            code="approver_decides",
        )
    appeal = Appeal.objects.select_for_update().filter(sanction=sanction).first()
    # A sanction whose period ended while under appeal has expired, but its appeal is still
    # owed a decision (and a revocation still clears the record).
    pending = appeal is not None and appeal.status == AppealStatus.SUBMITTED
    if not pending or sanction.status not in (SanctionStatus.APPEALED, SanctionStatus.EXPIRED):
        raise _state_error(sanction, "decide")
    decision = _text(decision, "decision", _("State the reasons for the decision."))
    now = timezone.now()
    served = sanction.status == SanctionStatus.EXPIRED
    appeal.status = AppealStatus.UPHELD if uphold else AppealStatus.REVOKED
    appeal.decision = decision
    appeal.decided_by = actor
    appeal.decided_at = now
    appeal.save()
    if uphold and served:
        # Nothing left to uphold in force: the sanction stays expired, the decision is
        # recorded and published all the same.
        audit.record(
            actor=actor,
            action="sanction.appeal_upheld",
            obj=sanction,
            from_state=sanction.status,
            to_state=sanction.status,
            reason=decision[:200],
            data={"appeal": appeal.pk},
        )
    elif uphold:
        sanction.uphold(by=actor, reason=decision[:200], data={"appeal": appeal.pk})
    else:
        sanction.revoke(by=actor, reason=decision, data={"appeal": appeal.pk})
        if not served:
            sanction.ended_at = now
    sanction.save()
    if not uphold and not served:
        _changed(sanction, "sanction_revoked")
    elif not uphold:
        # The bar has already ended; only the credit's sanction term changes.
        _request_recompute(sanction.agency_id, "sanction_revoked")
    _notify(
        sanction,
        verb="sanction.appeal_decided",
        title=(
            _("Appeal against decision %(code)s: the sanction is upheld")
            if uphold
            else _("Appeal against decision %(code)s: the sanction is revoked")
        )
        % {"code": sanction.code},
        body=decision[:500],
    )
    return appeal


# --- ending ----------------------------------------------------------------------------------


@transaction.atomic
def sanction_lift(*, actor, sanction: Sanction, reason: str) -> Sanction:
    """提前解除: a supervisor of a regulator covering the agency ends a sanction early, with a
    reason. The agency is re-enabled unless another sanction still bars it."""
    sanction = _lock(sanction)
    if not covering_regulators(actor, sanction.agency, roles=(Role.SUPERVISOR,)):
        raise PermissionDenied(
            _("Only a supervisor of a regulator covering the agency can lift a sanction.")
        )
    if sanction.status not in BARRING_STATES:
        raise _state_error(sanction, "lift")
    reason = _text(reason, "reason", _("Give the reason for lifting the sanction early."))
    sanction.lift(by=actor, reason=reason)
    sanction.ended_at = timezone.now()
    sanction.save()
    _changed(sanction, "sanction_lifted")
    _notify(
        sanction,
        verb="sanction.lifted",
        title=_("Sanction %(code)s is lifted") % {"code": sanction.code},
        body=reason[:500],
    )
    return sanction


def _expire_one(pk: int, today: datetime.date) -> bool:
    with transaction.atomic():
        sanction = _lock(Sanction(pk=pk))
        if sanction.status not in BARRING_STATES or sanction.ends_on >= today:
            return False
        sanction.expire(by=None, reason="", data={"ends_on": sanction.ends_on.isoformat()})
        sanction.ended_at = timezone.now()
        sanction.save()
        _changed(sanction, "sanction_expired", today)
        _notify(
            sanction,
            verb="sanction.expired",
            title=_("Sanction %(code)s has expired (it ran until %(end)s)")
            % {"code": sanction.code, "end": sanction.ends_on.isoformat()},
        )
    return True


def _start_one(pk: int, today: datetime.date) -> bool:
    with transaction.atomic():
        sanction = _lock(Sanction(pk=pk))
        if sanction.status not in BARRING_STATES or not (
            sanction.starts_on <= today <= sanction.ends_on
        ):
            return False
        _changed(sanction, "sanction_started", today)
        audit.record(
            actor=None,
            action=START_ACTION,
            obj=sanction,
            data={"starts_on": sanction.starts_on.isoformat()},
        )
    return True


def expire_due(today: datetime.date | None = None) -> dict[str, int]:
    """The scheduler's work (job ``ratings.sanctions``), idempotent: sanctions in effect or
    upheld whose ``ends_on`` has passed expire; sanctions that took effect before their start
    date and start today (or earlier, after an outage) get their bar applied to the shelf and
    search once (an audit event ``sanction_start`` marks it). Each in its own transaction."""
    today = today or timezone.localdate()
    expired = started = 0
    # Every barring state expires, under appeal too: an appeal does not stop the clock, and it
    # is decided afterwards (``appeal_decide``).
    due = Sanction.objects.filter(status__in=BARRING_STATES, ends_on__lt=today).values_list(
        "pk", flat=True
    )[:BATCH]
    for pk in list(due):
        try:
            expired += _expire_one(pk, today)
        except Exception:  # one sanction's failure must not hold the others
            logger.exception("ratings: expiry of sanction %s failed", pk)
    marked = AuditEvent.objects.filter(
        content_type=ContentType.objects.get_for_model(Sanction),
        object_id=Cast(OuterRef("pk"), CharField()),
        action=START_ACTION,
    )
    starting = (
        enforcement.barring_queryset(today)
        .filter(effective_at__date__lt=F("starts_on"))
        .annotate(marked=Exists(marked))
        .filter(marked=False)
        .values_list("pk", flat=True)[:BATCH]
    )
    for pk in list(starting):
        try:
            started += _start_one(pk, today)
        except Exception:
            logger.exception("ratings: start of sanction %s failed", pk)
    return {"expired": expired, "started": started}
