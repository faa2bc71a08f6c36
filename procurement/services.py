"""Writes of procurement: owners, projects, announcements, registrations, closing and drawing,
confirmation, publicity, objections and the award (DESIGN §4–6).

Every service is keyword-only and atomic: it authorises the actor (a refusal is
PermissionDenied), validates (a ``ValidationError`` keyed by field, the message saying what to
do), locks the announcement row (``select_for_update``) — the one lock every change of an
announcement and its registrations takes, so that a registration racing the deadline is either
in the frozen pool or refused, and two workers closing one announcement produce one draw — and
then changes state through the FSM methods (one audit event per transition). Side effects
(notifications, the live room, search) go through the outbox and happen after commit.

``actor=None`` means the system (the scheduler) and is accepted only where the signature says.
"""

from __future__ import annotations

import datetime
import logging
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from agencies.models import Agency
from marketplace import audit, bulk, workdays
from marketplace.models import Organisation, OrganisationKind, Region, Role, User
from marketplace.permissions import require_perm
from marketplace.selectors import forget_memberships
from marketplace.validators import validate_uscc
from procurement import beacons, contracts, deposits, draw, eligibility, methods, notices, room
from procurement.models import (
    Announcement,
    AnnouncementStatus,
    Draw,
    Exclusion,
    Objection,
    ObjectionStatus,
    Owner,
    Project,
    RegionScope,
    Registration,
    RegistrationStatus,
    SelectionMethod,
)
from procurement.validators import normalise_project_code, validate_project_code

logger = logging.getLogger(__name__)

CENT = Decimal("0.01")
# 保证金 at most 2% of the ceiling, the cap the tendering regulations set for bid bonds.
DEPOSIT_MAX_SHARE = Decimal("0.02")
MAX_SELECTED = 5
MAX_ALTERNATES = 10
ANNOUNCEMENT_FIELDS = (
    "title",
    "scope",
    "budget_ceiling",
    "deposit_amount",
    "fee_base_amount",
    "fee_category",
    "method",
    "min_credit_grade",
    "region_scope",
    "registration_deadline",
    "selected_count",
    "alternate_count",
    "service_time_limit_days",
    "direct_agency",
    "direct_reason",
)


def config(key: str):
    return settings.PROCUREMENT[key]


def _raise(errors: dict) -> None:
    errors = {k: v for k, v in errors.items() if v}
    if errors:
        raise ValidationError(errors)


def _lock(announcement: Announcement) -> Announcement:
    """The announcement row, locked until the transaction ends, with a fresh state."""
    return _locked(announcement.pk)


def _locked(announcement_id: int) -> Announcement | None:
    """The announcement ``announcement_id`` locked (None if there is none): the scheduler's
    entry, which knows only ids."""
    return (
        Announcement.objects.select_for_update(of=("self",))
        .select_related("project__owner__organisation", "project__region", "service_item")
        .filter(pk=announcement_id)
        .first()
    )


def _money(value, field: str) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        amount = Decimal(str(value).replace(",", "").strip())
    except (InvalidOperation, ValueError):
        raise ValidationError({field: _("Enter an amount in yuan, e.g. 120000.00.")}) from None
    if not amount.is_finite():
        raise ValidationError({field: _("Enter an amount in yuan, e.g. 120000.00.")})
    if amount != amount.quantize(CENT):
        raise ValidationError({field: _("An amount has at most two decimal places (fen).")})
    if amount <= 0:
        raise ValidationError({field: _("The amount must be positive.")})
    return amount


# --- owners and projects -------------------------------------------------------------------


@transaction.atomic
def owner_register(
    *,
    actor: User,
    name: str,
    uscc: str,
    region: Region,
    legal_representative: str,
    contact_name: str,
    contact_phone: str,
) -> Owner:
    """A project owner unit signs up: its organisation, the actor as its administrator, and
    its profile."""
    uscc = (uscc or "").strip()
    errors: dict[str, list] = {}
    try:
        validate_uscc(uscc)
    except ValidationError as exc:
        errors["uscc"] = exc.messages
    if not errors.get("uscc") and Organisation.objects.filter(uscc=uscc).exists():
        errors["uscc"] = [_("An organisation with this unified social credit code already exists.")]
    for field, value in (
        ("name", name),
        ("legal_representative", legal_representative),
        ("contact_name", contact_name),
        ("contact_phone", contact_phone),
    ):
        if not (value or "").strip():
            errors[field] = [_("This field is required.")]
    if region is None:
        errors["region"] = [_("This field is required.")]
    _raise(errors)
    organisation = Organisation.objects.create(
        kind=OrganisationKind.OWNER, name=name.strip(), uscc=uscc, region=region
    )
    organisation.memberships.create(user=actor, role=Role.ADMIN)
    forget_memberships(actor)
    owner = Owner.objects.create(
        organisation=organisation,
        legal_representative=legal_representative.strip(),
        contact_name=contact_name.strip(),
        contact_phone=contact_phone.strip(),
    )
    audit.record(actor=actor, action="owner.register", obj=owner, data={"uscc": uscc})
    return owner


def _project_errors(*, name, code, region, total_investment) -> tuple[dict, str, Decimal | None]:
    errors: dict[str, list] = {}
    if not (name or "").strip():
        errors["name"] = [_("This field is required.")]
    code = normalise_project_code(code)
    if code:
        try:
            validate_project_code(code)
        except ValidationError as exc:
            errors["code"] = exc.messages
        else:
            region_part = code.split("-")[1]
            if not Region.objects.filter(code=region_part).exists():
                errors["code"] = [
                    _("The region part %(code)s of the project code is not a region code.")
                    % {"code": region_part}
                ]
    if region is None:
        errors["region"] = [_("This field is required.")]
    amount = None
    try:
        amount = _money(total_investment, "total_investment")
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if amount is None and "total_investment" not in errors:
        errors["total_investment"] = [_("This field is required.")]
    return errors, code, amount


@transaction.atomic
def project_create(
    *,
    actor: User,
    owner: Owner,
    name: str,
    region: Region,
    total_investment,
    code: str = "",
    description: str = "",
    illustrative: bool = False,
) -> Project:
    require_perm(actor, "manage", owner)
    errors, code, amount = _project_errors(
        name=name, code=code, region=region, total_investment=total_investment
    )
    if code and Project.objects.filter(code=code).exists():
        errors["code"] = [_("A project with this investment project code exists.")]
    _raise(errors)
    project = Project.objects.create(
        owner=owner,
        name=name.strip(),
        code=code,
        region=region,
        total_investment=amount,
        description=(description or "").strip(),
        illustrative=illustrative,
    )
    audit.record(actor=actor, action="project.create", obj=project, data={"code": code})
    return project


@transaction.atomic
def project_update(*, actor: User, project: Project, **fields) -> Project:
    require_perm(actor, "manage", project)
    project = Project.objects.select_for_update().get(pk=project.pk)
    values = {
        "name": fields.get("name", project.name),
        "code": fields.get("code", project.code),
        "region": fields.get("region", project.region),
        "total_investment": fields.get("total_investment", project.total_investment),
    }
    errors, code, amount = _project_errors(**values)
    if code and Project.objects.filter(code=code).exclude(pk=project.pk).exists():
        errors["code"] = [_("A project with this investment project code exists.")]
    _raise(errors)
    project.name = values["name"].strip()
    project.code = code
    project.region = values["region"]
    project.total_investment = amount
    project.description = (fields.get("description", project.description) or "").strip()
    project.save()
    audit.record(actor=actor, action="project.update", obj=project)
    return project


# --- announcements -------------------------------------------------------------------------


def earliest_deadline(now: datetime.datetime | None = None) -> datetime.date:
    """The first day registration may close on: the minimum number of working days after
    today (today itself when the minimum is 0)."""
    today = timezone.localdate(now or timezone.now())
    return workdays.add_working_days(today, int(config("MIN_REGISTRATION_WORKING_DAYS")))


def _as_deadline(value) -> datetime.datetime | None:
    """A date means the end of that working day (17:30, Asia/Shanghai); a naive datetime is
    Shanghai time."""
    if value in (None, ""):
        return None
    if isinstance(value, datetime.datetime):
        if timezone.is_naive(value):
            value = value.replace(tzinfo=workdays.SHANGHAI)
        return value
    if isinstance(value, datetime.date):
        return datetime.datetime.combine(value, workdays.END_OF_WORKING_DAY, workdays.SHANGHAI)
    raise ValidationError({"registration_deadline": _("Enter a date and time.")})


def deadline_errors(deadline, *, now=None) -> list[str]:
    now = now or timezone.now()
    if deadline is None:
        return [_("Set the registration deadline.")]
    if deadline <= now:
        return [_("The registration deadline is in the past.")]
    earliest = earliest_deadline(now)
    if timezone.localtime(deadline, workdays.SHANGHAI).date() < earliest:
        return [
            _(
                "Registration must stay open at least %(days)s working days: the deadline "
                "can be %(date)s at the earliest."
            )
            % {"days": config("MIN_REGISTRATION_WORKING_DAYS"), "date": earliest.isoformat()}
        ]
    return []


def fee_check(*, item, base_amount: Decimal | None, category: str, ceiling: Decimal) -> dict:
    """The fee computation bounding ``ceiling`` (JSON-ready), or a ValidationError on
    ``budget_ceiling`` showing the computation. An item without a fee rule (市场调节价) has no
    bound: ``{}``."""
    from cms.fees import api as fees

    rule = item.fee_rule
    if rule is None:
        return {}
    needs_amount = rule.compiled.needs_amount
    if needs_amount and base_amount is None:
        raise ValidationError(
            {"fee_base_amount": _("This item's fee depends on an amount: give the fee base.")}
        )
    try:
        result = fees.check_price_within_ceiling(
            rule,
            base_amount if needs_amount else None,
            ceiling,
            category=category or item.fee_category or None,
        )
    except fees.PriceAboveCeiling as exc:
        raise ValidationError({"budget_ceiling": fees.message_for(exc)}) from exc
    except fees.FeeError as exc:
        field = "fee_base_amount" if exc.field in ("amount", None) else "fee_category"
        if exc.code in ("unknown_category",):
            field = "fee_category"
        raise ValidationError({field: fees.message_for(exc)}) from exc
    return result.as_dict()


def _requirements(item, raised_levels: dict | None) -> tuple[list, list[str]]:
    """The item's requirements with levels optionally raised: ``raised_levels`` maps a
    qualification type id to a level at least the item's minimum."""
    raised_levels = {int(k): v for k, v in (raised_levels or {}).items() if v}
    entries, errors = [], []
    item_requirements = list(item.qualification_requirements.select_related("qualification"))
    known = {r.qualification_id for r in item_requirements}
    for type_id in raised_levels:
        if type_id not in known:
            errors.append(_("Only the item's own qualification requirements can be raised."))
    for requirement in item_requirements:
        qtype = requirement.qualification
        minimum = requirement.minimum_level or ""
        level = raised_levels.get(qtype.pk, minimum)
        if level != minimum:
            if level not in (qtype.levels or []):
                errors.append(
                    _("%(type)s has no level “%(level)s”.") % {"type": qtype.name, "level": level}
                )
                level = minimum
            elif minimum and not qtype.meets(level, minimum):
                errors.append(
                    _("%(type)s: the level cannot be lower than the item requires (%(minimum)s).")
                    % {"type": qtype.name, "minimum": minimum}
                )
                level = minimum
        entries.append(
            {
                "qualification_type": qtype.pk,
                "code": qtype.code,
                "name": qtype.name,
                "minimum_level": level,
            }
        )
    return entries, errors


def validate_announcement(announcement: Announcement, *, now=None, raised_levels=None) -> None:
    """Every rule an announcement's terms must satisfy, as field errors; sets the derived
    fields (requirements, fee computation). Runs at creation, on each edit and again at
    publication (the date moves on; the catalog may have changed)."""
    errors: dict[str, list] = {}
    item = announcement.service_item
    project = announcement.project
    if not (announcement.title or "").strip():
        errors["title"] = [_("This field is required.")]
    if not (announcement.scope or "").strip():
        errors["scope"] = [_("Describe the scope of service.")]
    if not item.live:
        errors["service_item"] = [_("This service item is no longer in the published catalog.")]
    if announcement.method not in SelectionMethod.values:
        errors["method"] = [_("Choose a selection method.")]
    if announcement.region_scope not in RegionScope.values:
        errors["region_scope"] = [_("Choose the eligible regions.")]
    if announcement.min_credit_grade not in ("", "A", "B", "C", "D"):
        errors["min_credit_grade"] = [_("Choose a credit grade A, B, C or D, or none.")]
    if not 1 <= (announcement.selected_count or 0) <= MAX_SELECTED:
        errors["selected_count"] = [
            _("Select between 1 and %(max)s agencies.") % {"max": MAX_SELECTED}
        ]
    if not 0 <= (announcement.alternate_count or 0) <= MAX_ALTERNATES:
        errors["alternate_count"] = [
            _("Name between 0 and %(max)s alternates.") % {"max": MAX_ALTERNATES}
        ]
    limit = announcement.service_time_limit_days
    if not limit or limit < 1:
        errors["service_time_limit_days"] = [_("Give the service time limit in working days.")]
    elif limit > item.time_limit_days:
        errors["service_time_limit_days"] = [
            _("The catalog sets at most %(days)s working days for this item.")
            % {"days": item.time_limit_days}
        ]
    deadline_problems = deadline_errors(announcement.registration_deadline, now=now)
    if announcement.method == SelectionMethod.DIRECT:
        deadline_problems = []  # no registration: the owner names the agency
    if deadline_problems:
        errors["registration_deadline"] = deadline_problems
    ceiling = announcement.budget_ceiling
    deposit = announcement.deposit_amount or Decimal(0)
    if deposit < 0:
        errors["deposit_amount"] = [_("The deposit cannot be negative.")]
    elif ceiling is not None and deposit > (ceiling * DEPOSIT_MAX_SHARE).quantize(CENT):
        errors["deposit_amount"] = [
            _("The deposit may be at most 2%% of the ceiling, %(max)s yuan.")
            % {"max": f"{(ceiling * DEPOSIT_MAX_SHARE).quantize(CENT):,.2f}"}
        ]
    if ceiling is None:
        errors["budget_ceiling"] = [_("Set the budget ceiling.")]
    else:
        if announcement.fee_base_amount is None and item.fee_rule is not None:
            announcement.fee_base_amount = project.total_investment
        try:
            announcement.fee_computation = fee_check(
                item=item,
                base_amount=announcement.fee_base_amount,
                category=announcement.fee_category,
                ceiling=ceiling,
            )
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                errors.setdefault(field, []).extend(messages)
    errors.update(
        methods.get(announcement.method).errors(announcement) if not errors.get("method") else {}
    )
    requirements, requirement_errors = _requirements(item, raised_levels)
    if raised_levels is not None or not announcement.requirements:
        announcement.requirements = requirements
    if requirement_errors:
        errors["requirements"] = requirement_errors
    _raise(errors)


@transaction.atomic
def announcement_create(
    *,
    actor: User | None,
    project: Project,
    service_item,
    raised_levels: dict | None = None,
    illustrative: bool = False,
    **fields,
) -> Announcement:
    """A draft announcement (采购公告) for ``project``; see ``validate_announcement``."""
    if actor is not None:
        require_perm(actor, "manage", project)
    unknown = set(fields) - set(ANNOUNCEMENT_FIELDS)
    if unknown:
        raise TypeError(f"unknown announcement fields: {sorted(unknown)}")
    announcement = Announcement(
        project=project,
        service_item=service_item,
        created_by=actor,
        illustrative=illustrative,
        service_time_limit_days=fields.pop("service_time_limit_days", None)
        or service_item.time_limit_days,
    )
    _assign(announcement, fields)
    validate_announcement(announcement, raised_levels=raised_levels or {})
    announcement.code = f"tmp-{timezone.now().timestamp()}"
    announcement.save()
    year = timezone.localdate().year
    announcement.code = f"ZJCS-{year}-{announcement.pk:06d}"
    announcement.save(update_fields=["code"])
    audit.record(
        actor=actor,
        action="announcement.create",
        obj=announcement,
        to_state=announcement.status,
        data={"method": announcement.method, "ceiling": str(announcement.budget_ceiling)},
    )
    return announcement


def _assign(announcement: Announcement, fields: dict) -> None:
    for name, value in fields.items():
        if name in ("budget_ceiling", "fee_base_amount"):
            value = _money(value, name)
        elif name == "deposit_amount":
            value = _money(value, name) or Decimal("0.00")
        elif name == "registration_deadline":
            value = _as_deadline(value)
        elif name in ("title", "scope", "fee_category", "direct_reason", "min_credit_grade"):
            value = (value or "").strip()
        elif name == "service_time_limit_days" and value in (None, ""):
            value = announcement.service_item.time_limit_days  # the catalog's limit
        elif name in ("selected_count", "alternate_count", "service_time_limit_days"):
            try:
                value = int(value)
            except (TypeError, ValueError):
                raise ValidationError({name: _("Enter a whole number.")}) from None
        setattr(announcement, name, value)


@transaction.atomic
def announcement_update(
    *, actor: User, announcement: Announcement, raised_levels: dict | None = None, **fields
) -> Announcement:
    require_perm(actor, "edit", announcement)
    locked = _lock(announcement)
    if locked.status != AnnouncementStatus.DRAFT:
        raise ValidationError(
            {NON_FIELD_ERRORS: _("Only a draft can be edited; this announcement is published.")}
        )
    unknown = set(fields) - set(ANNOUNCEMENT_FIELDS)
    if unknown:
        raise TypeError(f"unknown announcement fields: {sorted(unknown)}")
    _assign(locked, fields)
    validate_announcement(locked, raised_levels=raised_levels)
    locked.save()
    audit.record(actor=actor, action="announcement.update", obj=locked)
    return locked


@transaction.atomic
def exclusion_add(*, actor: User, announcement: Announcement, agency: Agency, reason: str):
    """回避 declared by the owner, with its reason; before registration closes."""
    require_perm(actor, "exclude", announcement)
    locked = _lock(announcement)
    if locked.status not in (AnnouncementStatus.DRAFT, AnnouncementStatus.PUBLISHED):
        raise ValidationError(
            {NON_FIELD_ERRORS: _("Exclusions can be declared only until registration closes.")}
        )
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("State the reason for the exclusion.")})
    if Exclusion.objects.filter(announcement=locked, agency=agency).exists():
        raise ValidationError({"agency": _("This agency is already excluded.")})
    exclusion = Exclusion.objects.create(
        announcement=locked, agency=agency, reason=reason[:300], created_by=actor
    )
    audit.record(
        actor=actor,
        action="announcement.exclude",
        obj=locked,
        reason=reason,
        data={"agency": agency.pk, "uscc": agency.uscc},
    )
    return exclusion


@transaction.atomic
def exclusion_remove(*, actor: User, exclusion: Exclusion) -> None:
    require_perm(actor, "exclude", exclusion.announcement)
    locked = _lock(exclusion.announcement)
    if locked.status not in (AnnouncementStatus.DRAFT, AnnouncementStatus.PUBLISHED):
        raise ValidationError(
            {NON_FIELD_ERRORS: _("Exclusions can be changed only until registration closes.")}
        )
    audit.record(
        actor=actor,
        action="announcement.unexclude",
        obj=locked,
        data={"agency": exclusion.agency_id},
    )
    exclusion.delete()


@transaction.atomic
def announcement_publish(*, actor: User | None, announcement: Announcement) -> Announcement:
    """发布: the terms are checked again, the commitment to the draw's secret is made and
    published with the draw time (and beacon round), and registration opens. Matching
    agencies are notified after commit. A direct selection is made at once instead."""
    if actor is not None:
        require_perm(actor, "publish", announcement)
    locked = _lock(announcement)
    if locked.status != AnnouncementStatus.DRAFT:
        raise ValidationError({NON_FIELD_ERRORS: _("This announcement is already published.")})
    now = timezone.now()
    # The requirements are taken from the catalog again (it may have changed since the draft),
    # keeping the levels the owner raised.
    known = set(
        locked.service_item.qualification_requirements.values_list("qualification_id", flat=True)
    )
    raised = {
        r["qualification_type"]: r["minimum_level"]
        for r in locked.requirements
        if r["qualification_type"] in known
    }
    validate_announcement(locked, now=now, raised_levels=raised)
    locked.min_eligible = max(int(config("MIN_ELIGIBLE")), locked.selected_count)
    locked.confirm_hours = int(config("CONFIRM_HOURS"))
    locked.publicity_working_days = int(config("PUBLICITY_WORKING_DAYS"))
    locked.published_at = now
    method = methods.get(locked.method)
    if method.uses_draw:
        locked.secret = draw.new_secret()
        locked.commitment = draw.commitment(locked.secret)
        beacon = beacons.get_beacon()
        locked.beacon_source = beacon.source
        locked.beacon_round = beacon.round_for(locked.registration_deadline)
    locked.publish(
        by=actor,
        data={
            "commitment": locked.commitment,
            "registration_deadline": locked.registration_deadline,
            "beacon": locked.beacon_source,
            "beacon_round": locked.beacon_round,
        },
    )
    locked.save()
    room.emit(
        locked,
        "published",
        {"commitment": locked.commitment, "draw_at": locked.registration_deadline},
    )
    method.after_publish(locked, actor=actor)
    if method.needs_registration:
        notices.announce_to_matching_agencies(locked)
    _copy_state(announcement, locked)
    return locked


def _copy_state(target: Announcement, source: Announcement) -> None:
    for field in target._meta.concrete_fields:
        target.__dict__[field.attname] = source.__dict__.get(field.attname)


@transaction.atomic
def announcement_cancel(*, actor: User, announcement: Announcement, reason: str) -> Announcement:
    require_perm(actor, "cancel", announcement)
    locked = _lock(announcement)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("State why the announcement is cancelled.")})
    if locked.status not in (AnnouncementStatus.DRAFT, AnnouncementStatus.PUBLISHED):
        raise ValidationError(
            {
                NON_FIELD_ERRORS: _(
                    "Only a draft or an announcement open for registration can be cancelled."
                )
            }
        )
    was_public = locked.status == AnnouncementStatus.PUBLISHED
    locked.ended_at = timezone.now()
    locked.cancel(by=actor, reason=reason)
    locked.save()
    deposits.release(locked, reason=_("The announcement was cancelled."), keep_running=False)
    if was_public:
        room.emit(locked, "cancelled", {"reason": reason})
        notices.broadcast(
            locked,
            verb="announcement.cancelled",
            title=_("Announcement %(code)s was cancelled") % {"code": locked.code},
            body=reason,
        )
    return locked


@transaction.atomic
def announcement_republish(*, actor: User, announcement: Announcement) -> Announcement:
    """A failed announcement (流标) is republished as a new draft with the same terms and a
    fresh deadline to set; the failed one stays public as it ended."""
    require_perm(actor, "republish", announcement)
    locked = _lock(announcement)
    if locked.status not in (AnnouncementStatus.FAILED, AnnouncementStatus.CANCELLED):
        raise ValidationError(
            {NON_FIELD_ERRORS: _("Only a failed or cancelled announcement can be republished.")}
        )
    copy = Announcement(
        project=locked.project,
        service_item=locked.service_item,
        created_by=actor,
        republished_from=locked,
        requirements=locked.requirements,
        illustrative=locked.illustrative,
        **{f: getattr(locked, f) for f in ANNOUNCEMENT_FIELDS if f != "registration_deadline"},
    )
    copy.registration_deadline = None
    copy.code = f"tmp-{timezone.now().timestamp()}"
    copy.save()
    copy.code = f"ZJCS-{timezone.localdate().year}-{copy.pk:06d}"
    copy.save(update_fields=["code"])
    for exclusion in locked.exclusions.all():
        Exclusion.objects.create(
            announcement=copy, agency=exclusion.agency, reason=exclusion.reason, created_by=actor
        )
    audit.record(
        actor=actor,
        action="announcement.republish",
        obj=copy,
        to_state=copy.status,
        data={"republished_from": locked.code},
    )
    return copy


# --- registration --------------------------------------------------------------------------


@transaction.atomic
def registration_submit(*, actor: User, announcement: Announcement, agency: Agency) -> Registration:
    """报名: before the deadline, once, and only when eligible (the reasons are the error)."""
    require_perm(actor, "register", agency)
    locked = _lock(announcement)
    now = timezone.now()
    if not methods.get(locked.method).needs_registration:
        raise ValidationError(
            {NON_FIELD_ERRORS: _("This announcement takes no registrations (direct selection).")}
        )
    if locked.status != AnnouncementStatus.PUBLISHED or locked.registration_deadline <= now:
        message = _("Registration closed at %(deadline)s.") % {
            "deadline": _local(locked.registration_deadline)
        }
        raise ValidationError({NON_FIELD_ERRORS: ValidationError(message, code="closed")})
    if Registration.objects.filter(announcement=locked, agency=agency).exists():
        raise _already_registered()
    outcome = eligibility.check(locked, agency)
    if not outcome.eligible:
        raise ValidationError(
            {NON_FIELD_ERRORS: [_("Your agency is not eligible:")] + outcome.reasons},
            code="ineligible",
        )
    try:
        with transaction.atomic():
            registration = Registration.objects.create(
                announcement=locked,
                agency=agency,
                registered_by=actor,
                eligibility=outcome.as_list(),
            )
    except IntegrityError:
        raise _already_registered() from None
    audit.record(
        actor=actor,
        action="registration.submit",
        obj=registration,
        to_state=registration.status,
        data={"announcement": locked.code},
    )
    notices.notify_agency(
        agency,
        verb="registration.submitted",
        title=_("Registered for %(code)s") % {"code": locked.code},
        body=_("Registration closes at %(deadline)s; the draw follows at once.")
        % {"deadline": _local(locked.registration_deadline)},
        url=notices.announcement_url(locked),
    )
    return registration


def _already_registered() -> ValidationError:
    message = _("Your agency has already registered for this announcement.")
    return ValidationError({NON_FIELD_ERRORS: ValidationError(message, code="duplicate")})


def _local(value: datetime.datetime | None) -> str:
    if value is None:
        return ""
    return timezone.localtime(value, workdays.SHANGHAI).strftime("%Y-%m-%d %H:%M")


# --- closing and drawing (the scheduler) ---------------------------------------------------


def close_registration(announcement_id: int, *, now=None) -> str:
    """报名截止 at the deadline: freezes the pool (eligibility of every registrant checked
    again; the ineligible are told why), publishes its hash, and either fails the announcement
    (流标: too few eligible) or moves it to selection. Idempotent: returns "not_due" unless the
    announcement is open and past its deadline, whoever calls it and however often."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = _locked(announcement_id)
        if locked is None:
            return "missing"
        if locked.status != AnnouncementStatus.PUBLISHED or locked.registration_deadline > now:
            return "not_due"
        registrations = list(
            locked.registrations.filter(status=RegistrationStatus.SUBMITTED).select_related(
                "agency__organisation"
            )
        )
        outcomes = eligibility.evaluate(locked, [r.agency_id for r in registrations])
        if locked.deposit_amount > 0:
            deposits.check_paid(locked, outcomes)
        with audit.bulk():
            for registration in registrations:
                outcome = outcomes[registration.agency_id]
                registration.eligibility = outcome.as_list()
                if outcome.eligible:
                    registration.admit(by=None)
                else:
                    registration.refuse(by=None, reason="；".join(outcome.reasons))
        bulk.bulk_update(registrations, ["status", "eligibility", "status_reason"])
        pool = [
            {"id": r.agency_id, "uscc": r.agency.organisation.uscc}
            for r in registrations
            if r.status == RegistrationStatus.ELIGIBLE
        ]
        locked.pool_hash = draw.pool_hash(pool)
        locked.closed_at = now
        locked.close_registration(
            by=None,
            data={
                "registrants": len(registrations),
                "eligible": len(pool),
                "pool_hash": locked.pool_hash,
            },
        )
        locked.save()
        room.emit(
            locked,
            "pool_frozen",
            {
                "pool_size": len(pool),
                "pool_hash": locked.pool_hash,
                "registrants": len(registrations),
            },
        )
        notices.notify_agencies(
            [
                (
                    registration.agency,
                    {
                        "verb": "registration.ineligible",
                        "title": _("Not in the pool of %(code)s") % {"code": locked.code},
                        "body": registration.status_reason,
                        "url": notices.announcement_url(locked),
                    },
                )
                for registration in registrations
                if registration.status == RegistrationStatus.INELIGIBLE
            ]
        )
        if len(pool) < locked.min_eligible:
            reason = _(
                "Too few eligible registrants: %(count)s, at least %(minimum)s are needed (流标)."
            ) % {"count": len(pool), "minimum": locked.min_eligible}
            _fail(locked, reason, now=now)
            return "failed"
        locked.start_selection(by=None)
        locked.save()
        notices.broadcast(
            locked,
            verb="registration.eligible",
            title=_("In the pool of %(code)s") % {"code": locked.code},
            body=_("Your agency is eligible; the draw follows now."),
            statuses=[RegistrationStatus.ELIGIBLE],
        )
    return "closed"


def _fail(locked: Announcement, reason: str, *, now) -> None:
    locked.ended_at = now
    locked.fail(by=None, reason=reason)
    locked.save()
    deposits.release(locked, reason=reason, keep_running=False, now=now)
    room.emit(locked, "failed", {"reason": reason})
    notices.notify_owner(
        locked,
        verb="announcement.failed",
        title=_("Announcement %(code)s failed") % {"code": locked.code},
        body=reason + " " + _("You may republish it."),
    )
    notices.broadcast(
        locked,
        verb="announcement.failed",
        title=_("Announcement %(code)s failed") % {"code": locked.code},
        body=reason,
    )


def run_selection(announcement_id: int, *, now=None) -> str:
    """选取: runs the announcement's selection method on the frozen pool. Idempotent: only an
    announcement in "selecting" is drawn, under its lock, and the Draw row is unique."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = _locked(announcement_id)
        if locked is None:
            return "missing"
        if locked.status != AnnouncementStatus.SELECTING:
            return "not_due"
        methods.get(locked.method).select(locked, now=now)
    return "selected"


def draw_select(locked: Announcement, *, now) -> Draw:
    """The random draw (DESIGN §6) on the eligible registrations, under the caller's lock."""
    registrations = list(
        locked.registrations.filter(status=RegistrationStatus.ELIGIBLE).select_related(
            "agency__organisation"
        )
    )
    pool = [{"id": r.agency_id, "uscc": r.agency.organisation.uscc} for r in registrations]
    if draw.pool_hash(pool) != locked.pool_hash:
        # The pool changed after it was frozen: nothing may be drawn on it.
        raise RuntimeError(f"pool of {locked.code} differs from its published hash")
    beacon = beacons.get_beacon()
    if locked.beacon_source and locked.beacon_source != beacon.source:
        raise RuntimeError(
            f"{locked.code} named beacon {locked.beacon_source}, not {beacon.source}"
        )
    beacon_record = beacon.record(locked.beacon_round)  # BeaconUnavailable: next tick
    result = draw.run(
        announcement=locked.code,
        secret_hex=locked.secret,
        pool=pool,
        selected_count=locked.selected_count,
        alternate_count=locked.alternate_count,
        beacon=beacon_record,
    )
    record = result.as_record()
    record["draw_time"] = now.isoformat()
    record["published_at"] = locked.published_at.isoformat() if locked.published_at else None
    draw_row = Draw.objects.create(announcement=locked, record=record, pool_size=len(pool))
    by_agency = {r.agency_id: r for r in registrations}
    selected = set(result.selected)
    alternates = set(result.alternates)
    confirm_by = now + datetime.timedelta(hours=locked.confirm_hours)
    with audit.bulk():
        for position, entry in enumerate(result.ranking, start=1):
            registration = by_agency[entry["id"]]
            registration.rank = entry["rank"]
            registration.position = position
            if registration.agency_id in selected:
                registration.confirm_by = confirm_by
                registration.select(by=None, data={"position": position})
            elif registration.agency_id in alternates:
                registration.make_alternate(by=None, data={"position": position})
            else:
                registration.not_select(by=None, data={"position": position})
    bulk.bulk_update(registrations, ["status", "rank", "position", "confirm_by"])
    locked.selected_at = now
    locked.select(
        by=None,
        data={"seed": result.seed, "selected": result.selected, "alternates": result.alternates},
    )
    locked.save()
    deposits.release(locked, reason=_("Not selected in the draw."), keep_running=True, now=now)
    room.emit(
        locked,
        "secret_revealed",
        {
            "secret": result.secret,
            "commitment": result.commitment,
            "beacon": result.beacon,
            "seed": result.seed,
        },
    )
    room.emit(
        locked,
        "ranking",
        {
            "ranking": [
                {
                    "position": i,
                    "id": e["id"],
                    "uscc": e["uscc"],
                    "rank": e["rank"],
                    "name": by_agency[e["id"]].agency.organisation.name,
                }
                for i, e in enumerate(result.ranking[:50], start=1)
            ],
            "pool_size": len(pool),
        },
    )
    room.emit(
        locked, "result", _result_payload(locked, by_agency, result.selected, result.alternates)
    )
    for agency_id in result.selected:
        _notify_selected(locked, by_agency[agency_id], confirm_by, promoted=False)
    notices.notify_agencies(
        [
            (
                by_agency[agency_id].agency,
                {
                    "verb": "registration.alternate",
                    "title": _("Alternate for %(code)s") % {"code": locked.code},
                    "body": _(
                        "Your agency is an alternate (position %(position)s): you will be told "
                        "if it is promoted."
                    )
                    % {"position": by_agency[agency_id].position},
                    "url": notices.announcement_url(locked),
                },
            )
            for agency_id in result.alternates
        ]
    )
    return draw_row


def _result_payload(locked, by_agency, selected, alternates) -> dict:
    def entry(agency_id):
        registration = by_agency[agency_id]
        return {
            "id": agency_id,
            "name": registration.agency.organisation.name,
            "uscc": registration.agency.organisation.uscc,
            "position": registration.position,
        }

    return {"selected": [entry(a) for a in selected], "alternates": [entry(a) for a in alternates]}


def _notify_selected(locked, registration, confirm_by, *, promoted: bool) -> None:
    if promoted:
        title = _("Promoted: your agency is selected for %(code)s") % {"code": locked.code}
    else:
        title = _("Your agency is selected for %(code)s") % {"code": locked.code}
    notices.notify_agency(
        registration.agency,
        verb="registration.promoted" if promoted else "registration.selected",
        title=title,
        body=_("Confirm or decline by %(deadline)s; silence counts as declining.")
        % {"deadline": _local(confirm_by)},
        url=notices.registration_url(registration),
    )


def direct_select(locked: Announcement, *, now) -> None:
    """直接选取: the owner's named agency becomes the selected one, if eligible now."""
    registration = locked.registrations.select_related("agency__organisation").get(
        agency_id=locked.direct_agency_id
    )
    registration.position = 1
    registration.confirm_by = now + datetime.timedelta(hours=locked.confirm_hours)
    registration.select(by=None, data={"method": "direct"})
    registration.save()
    locked.selected_at = now
    locked.select(by=None, data={"method": "direct", "agency": locked.direct_agency_id})
    locked.save()
    by_agency = {registration.agency_id: registration}
    room.emit(locked, "result", _result_payload(locked, by_agency, [registration.agency_id], []))
    _notify_selected(locked, registration, registration.confirm_by, promoted=False)


def direct_after_publish(locked: Announcement, *, actor) -> None:
    """At publication of a direct selection: the named agency is registered (if eligible),
    the pool is that one agency, and the selection runs at once."""
    agency = locked.direct_agency
    outcome = eligibility.check(locked, agency)
    if not outcome.eligible:
        raise ValidationError(
            {"direct_agency": [_("The chosen agency is not eligible:")] + outcome.reasons}
        )
    registration = Registration.objects.create(
        announcement=locked, agency=agency, registered_by=actor, eligibility=outcome.as_list()
    )
    audit.record(
        actor=actor,
        action="registration.direct",
        obj=registration,
        to_state=registration.status,
        data={"announcement": locked.code},
    )
    registration.admit(by=actor, data={"method": "direct"})
    registration.save()
    locked.pool_hash = draw.pool_hash([{"id": agency.pk, "uscc": agency.uscc}])
    locked.closed_at = timezone.now()
    locked.start_selection(by=actor, data={"method": "direct"})
    locked.save()
    direct_select(locked, now=locked.closed_at)


# --- after the selection -------------------------------------------------------------------


def _lock_registration(registration: Registration) -> tuple[Announcement, Registration]:
    locked = _lock(registration.announcement)
    fresh = Registration.objects.select_related("agency__organisation").get(pk=registration.pk)
    return locked, fresh


@transaction.atomic
def registration_confirm(*, actor: User, registration: Registration) -> Registration:
    """确认: the selected agency accepts; once every selected agency has, publicity starts."""
    require_perm(actor, "respond", registration)
    locked, registration = _lock_registration(registration)
    now = timezone.now()
    if registration.status != RegistrationStatus.SELECTED:
        raise ValidationError(
            {NON_FIELD_ERRORS: _("Only a selected agency waiting to confirm can confirm.")}
        )
    if registration.confirm_by and registration.confirm_by < now:
        raise ValidationError(
            {
                NON_FIELD_ERRORS: _("The time to confirm ended at %(deadline)s.")
                % {"deadline": _local(registration.confirm_by)}
            }
        )
    registration.responded_at = now
    registration.confirm(by=actor)
    registration.save()
    _maybe_start_publicity(locked, now=now)
    return registration


@transaction.atomic
def registration_decline(
    *, actor: User | None, registration: Registration, reason: str = "", now=None
) -> Registration:
    """放弃: the selected agency declines (or, with ``actor=None``, the scheduler declines for
    it after the confirmation time): the next alternate is promoted; with none left the
    announcement fails."""
    if actor is not None:
        require_perm(actor, "respond", registration)
    locked, registration = _lock_registration(registration)
    now = now or timezone.now()
    if registration.status not in (RegistrationStatus.SELECTED, RegistrationStatus.ALTERNATE):
        raise ValidationError(
            {NON_FIELD_ERRORS: _("Only a selected agency or an alternate can decline.")}
        )
    if actor is None and (registration.confirm_by is None or registration.confirm_by >= now):
        return registration  # the scheduler saw a stale row: the agency still has time
    was_selected = registration.status == RegistrationStatus.SELECTED
    reason = (reason or "").strip() or (
        _("No confirmation within %(hours)s hours.") % {"hours": locked.confirm_hours}
        if actor is None
        else _("Declined by the agency.")
    )
    registration.responded_at = now
    registration.decline(by=actor, reason=reason)
    registration.save()
    if was_selected and locked.status == AnnouncementStatus.SELECTED:
        _promote_next(locked, replaced=registration, now=now)
    return registration


def _promote_next(locked: Announcement, *, replaced: Registration, now) -> None:
    alternate = (
        locked.registrations.filter(status=RegistrationStatus.ALTERNATE)
        .select_related("agency__organisation")
        .order_by("position")
        .first()
    )
    if alternate is None:
        if locked.registrations.filter(status=RegistrationStatus.SELECTED).exists() or (
            locked.registrations.filter(status=RegistrationStatus.CONFIRMED).count()
            >= locked.selected_count
        ):
            _maybe_start_publicity(locked, now=now)
            return
        _fail(locked, _("Every selected agency and alternate declined (流标)."), now=now)
        return
    alternate.confirm_by = now + datetime.timedelta(hours=locked.confirm_hours)
    alternate.select(
        by=None,
        reason=_("Promoted from alternate, replacing %(agency)s.")
        % {"agency": replaced.agency.organisation.name},
        data={"replaces": replaced.agency_id, "position": alternate.position},
    )
    alternate.save()
    room.emit(
        locked,
        "promoted",
        {
            "declined": {"id": replaced.agency_id, "name": replaced.agency.organisation.name},
            "promoted": {
                "id": alternate.agency_id,
                "name": alternate.agency.organisation.name,
                "position": alternate.position,
            },
        },
    )
    _notify_selected(locked, alternate, alternate.confirm_by, promoted=True)


def _maybe_start_publicity(locked: Announcement, *, now) -> None:
    confirmed = locked.registrations.filter(status=RegistrationStatus.CONFIRMED).count()
    waiting = locked.registrations.filter(status=RegistrationStatus.SELECTED).exists()
    if waiting or confirmed == 0 or locked.status != AnnouncementStatus.SELECTED:
        return
    locked.publicity_started_at = now
    locked.publicity_ends_at = workdays.deadline_at(now, locked.publicity_working_days)
    locked.start_publicity(by=None, data={"until": locked.publicity_ends_at})
    locked.save()
    room.emit(locked, "publicity", {"until": locked.publicity_ends_at})
    title = _("Publicity of the result of %(code)s") % {"code": locked.code}
    body = _("The result is public until %(until)s; registrants may object until then.") % {
        "until": _local(locked.publicity_ends_at)
    }
    notices.notify_owner(locked, verb="announcement.publicity", title=title, body=body)
    notices.broadcast(locked, verb="announcement.publicity", title=title, body=body)


def expire_confirmations(*, now=None) -> int:
    """The scheduler: selected agencies silent past their time are declined for them."""
    now = now or timezone.now()
    due = list(
        Registration.objects.filter(
            status=RegistrationStatus.SELECTED,
            confirm_by__lt=now,
            announcement__status=AnnouncementStatus.SELECTED,
        ).values_list("pk", flat=True)[:200]
    )
    count = 0
    for pk in due:
        registration = Registration.objects.select_related("announcement").get(pk=pk)
        result = registration_decline(actor=None, registration=registration, now=now)
        count += result.status == RegistrationStatus.DECLINED
    return count


@transaction.atomic
def objection_file(
    *, actor: User, announcement: Announcement, registration: Registration, reason: str
) -> Objection:
    """异议: a registrant contests the result within the publicity; the award is suspended
    until a regulator decides."""
    require_perm(actor, "respond", registration)
    locked = _lock(announcement)
    if registration.announcement_id != locked.pk:
        raise PermissionDenied("not a registration of this announcement")
    registration = Registration.objects.select_related("agency__organisation").get(
        pk=registration.pk
    )
    now = timezone.now()
    reason = (reason or "").strip()
    if locked.status not in (AnnouncementStatus.PUBLICITY, AnnouncementStatus.SUSPENDED) or (
        locked.publicity_ends_at and locked.publicity_ends_at <= now
    ):
        raise ValidationError(
            {NON_FIELD_ERRORS: _("Objections can be filed only during the publicity period.")}
        )
    if registration.status in (RegistrationStatus.CONFIRMED, RegistrationStatus.SELECTED):
        raise ValidationError(
            {NON_FIELD_ERRORS: _("The selected agency cannot object to its own selection.")}
        )
    if locked.objections.filter(
        registration=registration, status=ObjectionStatus.SUBMITTED
    ).exists():
        raise ValidationError(
            {NON_FIELD_ERRORS: _("Your agency's objection is already under review.")}
        )
    if len(reason) < 10:
        raise ValidationError(
            {"reason": _("State the grounds of the objection (at least 10 characters).")}
        )
    objection = Objection.objects.create(
        announcement=locked, registration=registration, reason=reason, filed_by=actor
    )
    audit.record(
        actor=actor,
        action="objection.file",
        obj=objection,
        to_state=objection.status,
        data={"announcement": locked.code},
    )
    if locked.status == AnnouncementStatus.PUBLICITY:
        locked.suspend(
            by=actor, reason=_("An objection is under review."), data={"objection": objection.pk}
        )
        locked.save()
        room.emit(locked, "suspended", {"reason": _("An objection is under review.")})
    title = _("Objection filed against %(code)s") % {"code": locked.code}
    notices.notify_owner(locked, verb="objection.filed", title=title, body=reason[:500])
    notices.notify_regulators(locked, verb="objection.filed", title=title, body=reason[:500])
    for selected in locked.registrations.filter(status=RegistrationStatus.CONFIRMED).select_related(
        "agency__organisation"
    ):
        notices.notify_agency(
            selected.agency,
            verb="objection.filed",
            title=title,
            body=_("The award waits for the regulator's decision."),
            url=notices.announcement_url(locked),
        )
    return objection


RESULT_STATUSES = (RegistrationStatus.SELECTED, RegistrationStatus.CONFIRMED)


@transaction.atomic
def objection_decide(
    *,
    actor: User,
    objection: Objection,
    upheld: bool,
    reason: str,
    exclude=(),
) -> Objection:
    """A regulator in scope decides. Dismissed: publicity resumes (the award follows at the
    end of the window, or at once if it has passed). Upheld: the result is annulled; then

    * with ``exclude`` (registrations, or their ids, of the selected agencies found at fault —
      the objection's target): the selection is re-run without them (``_rerun_without``):
      each becomes ineligible with the decision as its reason, and the next agencies in the
      published draw's rank order take their places and are asked to confirm; a new publicity
      follows. With nobody left, the announcement fails (流标).
    * without: the announcement fails, as before; the owner may republish.
    """
    require_perm(actor, "decide", objection)
    locked = _lock(objection.announcement)
    objection = Objection.objects.select_for_update().get(pk=objection.pk)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("State the reasons for the decision.")})
    if objection.status != ObjectionStatus.SUBMITTED:
        raise ValidationError({NON_FIELD_ERRORS: _("This objection is already decided.")})
    excluded = _excluded_registrations(locked, exclude, upheld=upheld)
    now = timezone.now()
    objection.decided_by = actor
    objection.decided_at = now
    if upheld:
        objection.uphold(
            by=actor, reason=reason, data={"excluded": [r.agency_id for r in excluded]}
        )
    else:
        objection.dismiss(by=actor, reason=reason)
    objection.save()
    notices.notify_agency(
        objection.registration.agency,
        verb="objection.decided",
        title=_("Your objection to %(code)s was decided") % {"code": locked.code},
        body=reason,
        url=notices.announcement_url(locked),
    )
    if locked.status != AnnouncementStatus.SUSPENDED:
        return objection
    if upheld and excluded:
        _rerun_without(locked, excluded, objection=objection, actor=actor, reason=reason, now=now)
    elif upheld:
        _fail(
            locked,
            _("Objection upheld: the result is annulled. %(reason)s") % {"reason": reason},
            now=now,
        )
    elif not locked.objections.filter(status=ObjectionStatus.SUBMITTED).exists():
        locked.start_publicity(
            by=actor,
            reason=_("Objection dismissed; publicity resumes."),
            data={"objection": objection.pk},
        )
        locked.save()
        room.emit(locked, "publicity", {"until": locked.publicity_ends_at})
    return objection


def _excluded_registrations(locked: Announcement, exclude, *, upheld: bool) -> list:
    """The registrations named for exclusion, checked: only when upholding, only while the
    result is suspended, only agencies of this announcement's result."""
    ids = sorted({getattr(r, "pk", r) for r in (exclude or ()) if r not in (None, "")})
    if not ids:
        return []
    if not upheld:
        raise ValidationError(
            {"exclude": _("Agencies can be excluded only when the objection is upheld.")}
        )
    if locked.status != AnnouncementStatus.SUSPENDED:
        raise ValidationError(
            {"exclude": _("The result is no longer under review; it cannot be re-run.")}
        )
    rows = list(
        locked.registrations.select_for_update(of=("self",))
        .select_related("agency__organisation")
        .filter(pk__in=ids)
    )
    if len(rows) != len(ids) or any(r.status not in RESULT_STATUSES for r in rows):
        raise ValidationError(
            {"exclude": _("Only an agency selected in this announcement's result can be excluded.")}
        )
    return sorted(rows, key=lambda r: (r.position or 0, r.pk))


def _rerun_without(locked: Announcement, excluded: list, *, objection, actor, reason, now) -> None:
    """重新选取 without the offending parties, keeping the draw verifiable.

    The published draw is not redone: its record (commitment, secret, pool, seed, ranking)
    stays exactly as published and still verifies. An agency's rank is SHA-256(seed | id),
    independent of the others, so "the ranking recomputed over the frozen pool without the
    excluded agencies, with the same seed" *is* the published ranking with them struck out.
    The re-run therefore promotes, for each excluded selected agency, the next registration
    in that order (alternates first, then the agencies not selected, by draw position), as a
    decline promotes the alternate — anyone can check it against draw.json. A candidate no
    longer eligible today (e.g. banned since) is made ineligible with its reasons and skipped.
    Each step is an audited transition; the announcement goes back to "selected" and a new
    publicity starts once the promoted agencies confirm. With nobody left: 流标."""
    decision = _("Excluded by the regulator upholding an objection: %(reason)s") % {
        "reason": reason
    }
    for registration in excluded:
        registration.disqualify(
            by=actor,
            reason=decision,
            data={"objection": objection.pk, "was": registration.status},
        )
        registration.save()
    kept = locked.registrations.filter(status__in=RESULT_STATUSES).count()
    needed = max(locked.selected_count - kept, 0)
    candidates = list(
        locked.registrations.filter(
            status__in=(RegistrationStatus.ALTERNATE, RegistrationStatus.NOT_SELECTED),
            position__isnull=False,
        )
        .select_related("agency__organisation")
        .order_by("position", "pk")
    )
    outcomes = eligibility.evaluate(locked, [r.agency_id for r in candidates]) if needed else {}
    promoted = []
    confirm_by = now + datetime.timedelta(hours=locked.confirm_hours)
    for candidate in candidates:
        if len(promoted) >= needed:
            break
        outcome = outcomes[candidate.agency_id]
        if not outcome.eligible:
            candidate.eligibility = outcome.as_list()
            candidate.disqualify(
                by=None,
                reason="；".join(outcome.reasons),
                data={"objection": objection.pk, "was": candidate.status},
            )
            candidate.save()
            continue
        candidate.confirm_by = confirm_by
        candidate.select(
            by=actor,
            reason=_("Selected in the re-run after an upheld objection, in draw order."),
            data={
                "objection": objection.pk,
                "replaces": [r.agency_id for r in excluded],
                "position": candidate.position,
            },
        )
        candidate.save()
        promoted.append(candidate)
    room.emit(
        locked,
        "rerun",
        {
            "excluded": [{"id": r.agency_id, "name": r.agency.organisation.name} for r in excluded],
            "promoted": [
                {"id": r.agency_id, "name": r.agency.organisation.name, "position": r.position}
                for r in promoted
            ],
        },
    )
    for registration in excluded:
        notices.notify_agency(
            registration.agency,
            verb="registration.excluded",
            title=_("Your agency is excluded from %(code)s") % {"code": locked.code},
            body=decision,
            url=notices.announcement_url(locked),
        )
    if kept == 0 and not promoted:
        _fail(
            locked,
            _(
                "Objection upheld: the result is annulled and no eligible agency is left to "
                "select (流标). %(reason)s"
            )
            % {"reason": reason},
            now=now,
        )
        return
    locked.reselect(
        by=actor,
        reason=_("Objection upheld: %(agencies)s excluded; the selection was re-run in draw order.")
        % {"agencies": "、".join(r.agency.organisation.name for r in excluded)},
        data={
            "objection": objection.pk,
            "excluded": [r.agency_id for r in excluded],
            "promoted": [r.agency_id for r in promoted],
        },
    )
    locked.save()
    for registration in promoted:
        _notify_selected(locked, registration, confirm_by, promoted=True)
    # Everyone left in the result had already confirmed: the new publicity starts now.
    _maybe_start_publicity(locked, now=now)
    title = _("The result of %(code)s was re-run") % {"code": locked.code}
    notices.notify_owner(locked, verb="announcement.rerun", title=title, body=reason)


def award_due(announcement_id: int, *, now=None) -> str:
    """成交 at the end of a clean publicity; a contract draft per confirmed agency."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = _locked(announcement_id)
        if locked is None or locked.status != AnnouncementStatus.PUBLICITY:
            return "not_due"
        if locked.publicity_ends_at is None or locked.publicity_ends_at > now:
            return "not_due"
        confirmed = list(
            locked.registrations.filter(status=RegistrationStatus.CONFIRMED).select_related(
                "agency__organisation"
            )
        )
        locked.awarded_at = now
        locked.ended_at = now
        locked.award(by=None, data={"agencies": [r.agency_id for r in confirmed]})
        locked.save()
        deposits.release(
            locked, reason=_("The announcement was awarded."), keep_running=False, now=now
        )
        for registration in confirmed:
            contracts.contract_from_award(announcement=locked, agency=registration.agency)
            notices.notify_agency(
                registration.agency,
                verb="announcement.awarded",
                title=_("Awarded: %(code)s") % {"code": locked.code},
                body=_("A contract draft is ready for both parties."),
                url=notices.announcement_url(locked),
            )
        notices.notify_owner(
            locked,
            verb="announcement.awarded",
            title=_("Awarded: %(code)s") % {"code": locked.code},
            body=_("A contract draft is ready for both parties."),
        )
        room.emit(locked, "awarded", {"awarded_at": now})
    return "awarded"
