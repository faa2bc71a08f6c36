"""Writes of the agencies app: enrolment (入驻), declarations and review.

Every service is keyword-only and atomic: it authorises the actor (``require_perm``; a refusal
is PermissionDenied), validates (a ``ValidationError`` keyed by field, so that forms show each
message beside its field), locks the agency row (``select_for_update``), then changes state.
Nothing is half-saved: a refusal anywhere rolls the whole call back. State changes go through
the FSM methods on the models, so the post_transition receiver writes exactly one audit event
per transition; other writes call ``marketplace.audit.record`` once.

``actor=None`` means the system (the scheduler, commands) and is allowed only where a
signature says so (agency_suspend)."""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterable

from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from agencies import eligibility, selectors
from agencies.models import (
    Agency,
    AgencyServiceItem,
    EnrolmentReview,
    EnrolmentStatus,
    Practitioner,
    QualificationCertificate,
    ReviewDecision,
    ServiceScope,
)
from agencies.validators import normalise_resident_id, validate_resident_id
from marketplace import audit
from marketplace.models import (
    Membership,
    Organisation,
    OrganisationKind,
    QualificationType,
    Region,
    Role,
    User,
)
from marketplace.notifications import notify
from marketplace.permissions import require_perm
from marketplace.selectors import forget_memberships
from marketplace.uploads import validate_scan
from marketplace.validators import validate_uscc

logger = logging.getLogger(__name__)

# Statuses in which the agency edits its enrolment. Suspended is one of them: the way back is
# to upload a valid certificate (or fix what was wrong), resubmit and be re-approved.
EDITABLE_STATUSES = (EnrolmentStatus.DRAFT, EnrolmentStatus.RETURNED, EnrolmentStatus.SUSPENDED)
# Contact details are not key data: an approved agency keeps them current without review.
CONTACT_FIELDS = ("contact_name", "contact_phone", "contact_email")
AGENCY_FIELDS = (
    "legal_representative",
    "registered_address",
    "contact_name",
    "contact_phone",
    "contact_email",
    "business_scope",
)
ORGANISATION_FIELDS = ("name", "uscc", "region")


# --- helpers ----------------------------------------------------------------------------------


def _lock(agency: Agency) -> Agency:
    """The agency row, locked for the rest of the transaction, with a fresh state."""
    return (
        Agency.objects.select_for_update(of=("self",))
        .select_related("organisation__region")
        .get(pk=agency.pk)
    )


def _sync(target: Agency, source: Agency) -> None:
    """Copies the locked row's state back onto the caller's object (FSM field included)."""
    for field in target._meta.concrete_fields:
        target.__dict__[field.attname] = source.__dict__.get(field.attname)
    target.organisation = source.organisation
    if hasattr(target, "_update_initial_state"):
        target._update_initial_state()


def _require_editable(agency: Agency, *, what: str = "") -> None:
    if agency.status in EDITABLE_STATUSES:
        return
    if agency.status == EnrolmentStatus.APPROVED:
        raise ValidationError(
            {
                NON_FIELD_ERRORS: _(
                    "The agency is approved: changes to its key data (name, legal "
                    "representative, qualifications) go through a change request, reviewed "
                    "while the agency stays on the market."
                )
            },
            code="change_request_required",
        )
    if agency.status == EnrolmentStatus.SUBMITTED:
        message = _("The enrolment is under review and cannot be changed until it is decided.")
    else:
        message = _("This enrolment is withdrawn and can no longer be changed.")
    raise ValidationError({NON_FIELD_ERRORS: message}, code="not_editable")


def _normalise_uscc(value: str) -> str:
    # Strip blanks only: lower case is refused, not silently corrected (a form may upper-case).
    return (value or "").strip()


def _uscc_errors(uscc: str, *, exclude_organisation: int | None = None) -> list[str]:
    try:
        validate_uscc(uscc)
    except ValidationError as exc:
        return list(exc.messages)
    taken = Organisation.objects.filter(uscc=uscc)
    if exclude_organisation is not None:
        taken = taken.exclude(pk=exclude_organisation)
    if taken.exists():
        return [_("An organisation with this unified social credit code is already enrolled.")]
    return []


def _scan_errors(file) -> list[str]:
    if not file:
        return []
    try:
        validate_scan(file)
    except ValidationError as exc:
        return list(exc.messages)
    return []


def _raise(errors: dict[str, list[str]]) -> None:
    errors = {k: v for k, v in errors.items() if v}
    if errors:
        raise ValidationError(errors)


def notify_agency_members(
    agency: Agency, *, verb: str, title: str, body: str = "", dedupe_key: str = ""
) -> None:
    """Queues a notification (and e-mail) to every active member of ``agency``, linking to
    its portal. With ``dedupe_key``, each member gets it at most once ever (key:user)."""
    members = Membership.objects.filter(
        organisation_id=agency.organisation_id, is_active=True, user__is_active=True
    ).select_related("user", "organisation")
    for membership in members:
        notify(
            recipient=membership.user,
            title=title,
            body=body,
            verb=verb,
            url=f"/agencies/portal/{agency.pk}/",
            organisation=membership.organisation,
            email=True,
            dedupe_key=f"{dedupe_key}:{membership.user_id}" if dedupe_key else None,
        )


# --- registration and basic data -------------------------------------------------------------


@transaction.atomic
def agency_register(
    *,
    user: User,
    name: str,
    uscc: str,
    region: Region | None,
    legal_representative: str,
    registered_address: str,
    contact_name: str,
    contact_phone: str,
    contact_email: str = "",
    business_scope: str,
    business_licence=None,
    accept_commitment: bool,
) -> Agency:
    """入驻登记: creates the agency organisation, makes ``user`` its administrator and opens a
    draft enrolment. Refuses an invalid or already enrolled USCC, a missing commitment, a
    user already belonging to an agency, and a licence scan of the wrong type or size."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        raise PermissionDenied("sign in to enrol an agency")
    # Lock the user's row: two simultaneous registrations by one user are serialised here.
    User.objects.select_for_update().filter(pk=user.pk).first()
    errors: dict[str, list[str]] = {}
    if Membership.objects.filter(
        user=user, organisation__kind=OrganisationKind.AGENCY, is_active=True
    ).exists():
        errors[NON_FIELD_ERRORS] = [
            _("You already belong to an agency; a user can belong to one agency only.")
        ]
    name = (name or "").strip()
    if not name:
        errors["name"] = [_("Enter the legal name of the agency.")]
    uscc = _normalise_uscc(uscc)
    errors["uscc"] = _uscc_errors(uscc)
    if region is None:
        errors["region"] = [_("Choose the registered region.")]
    if not accept_commitment:
        errors["accept_commitment"] = [
            _("The commitment letter (承诺书) must be accepted to enrol.")
        ]
    errors["business_licence"] = _scan_errors(business_licence)
    agency = Agency(
        legal_representative=(legal_representative or "").strip(),
        registered_address=(registered_address or "").strip(),
        contact_name=(contact_name or "").strip(),
        contact_phone=(contact_phone or "").strip(),
        contact_email=(contact_email or "").strip(),
        business_scope=(business_scope or "").strip(),
        commitment_accepted_at=timezone.now() if accept_commitment else None,
    )
    try:
        agency.full_clean(exclude=["organisation", "business_licence", "status", "partner"])
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            errors.setdefault(field, []).extend(messages)
    _raise(errors)

    from marketplace.services import membership_add, organisation_create

    try:
        with transaction.atomic():
            organisation = organisation_create(
                kind=OrganisationKind.AGENCY, name=name, uscc=uscc, region=region, actor=None
            )
    except IntegrityError:  # enrolled concurrently by someone else
        raise ValidationError(
            {"uscc": _("An organisation with this unified social credit code is already enrolled.")}
        ) from None
    membership_add(organisation=organisation, user=user, role=Role.ADMIN, actor=None)
    agency.organisation = organisation
    if business_licence:
        agency.business_licence = business_licence
    agency.save()
    forget_memberships(user)
    audit.record(
        actor=user,
        action="agency.register",
        obj=agency,
        to_state=agency.status,
        data={"uscc": uscc, "region": region.pk},
    )
    return agency


@transaction.atomic
def agency_update(*, actor: User, agency: Agency, **fields) -> Agency:
    """Edits the enrolment's basic data. In draft, returned or suspended: every field of
    AGENCY_FIELDS, ORGANISATION_FIELDS, ``business_licence`` and ``accept_commitment``.
    Approved: only the contact details; key data goes through a change request. Submitted or
    withdrawn: nothing."""
    unknown = set(fields) - {
        *AGENCY_FIELDS,
        *ORGANISATION_FIELDS,
        "business_licence",
        "accept_commitment",
    }
    if unknown:
        raise TypeError(f"agency_update: unknown fields {sorted(unknown)}")
    require_perm(actor, "edit", agency)
    locked = _lock(agency)
    # Unchanged values do not count as a change (a form posts every field).
    changed = {k for k, v in fields.items() if not _same(locked, k, v)}
    if locked.status not in EDITABLE_STATUSES:
        if not changed:
            _sync(agency, locked)
            return agency
        if not (locked.status == EnrolmentStatus.APPROVED and changed <= set(CONTACT_FIELDS)):
            _require_editable(locked)
    org = locked.organisation
    errors: dict[str, list[str]] = {}
    changes: dict[str, object] = {}
    if "uscc" in fields:
        uscc = _normalise_uscc(fields["uscc"])
        if uscc != org.uscc:
            errors["uscc"] = _uscc_errors(uscc, exclude_organisation=org.pk)
            org.uscc = uscc
            changes["uscc"] = uscc
    if "name" in fields:
        name = (fields["name"] or "").strip()
        if not name:
            errors["name"] = [_("Enter the legal name of the agency.")]
        elif name != org.name:
            org.name = name
            changes["name"] = name
    if "region" in fields:
        if fields["region"] is None:
            errors["region"] = [_("Choose the registered region.")]
        elif fields["region"].pk != org.region_id:
            org.region = fields["region"]
            changes["region"] = fields["region"].pk
    for field in AGENCY_FIELDS:
        if field in fields:
            value = (fields[field] or "").strip()
            if value != getattr(locked, field):
                setattr(locked, field, value)
                changes[field] = value
    if fields.get("business_licence"):
        errors["business_licence"] = _scan_errors(fields["business_licence"])
        locked.business_licence = fields["business_licence"]
        changes["business_licence"] = True
    if "accept_commitment" in fields:
        if fields["accept_commitment"] and locked.commitment_accepted_at is None:
            locked.commitment_accepted_at = timezone.now()
            changes["commitment"] = True
        elif not fields["accept_commitment"] and locked.commitment_accepted_at is not None:
            locked.commitment_accepted_at = None
            changes["commitment"] = False
    try:
        locked.full_clean(exclude=["organisation", "business_licence", "status", "partner"])
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            errors.setdefault(field, []).extend(messages)
    _raise(errors)
    if not changes:
        _sync(agency, locked)
        return agency
    org.save()
    locked.save()
    audit.record(
        actor=actor,
        action="agency.update",
        obj=locked,
        data={"fields": sorted(changes), **{k: v for k, v in changes.items() if k != "region"}},
    )
    _sync(agency, locked)
    return agency


def _same(agency: Agency, field: str, value) -> bool:
    org = agency.organisation
    if field == "name":
        return (value or "").strip() == org.name
    if field == "uscc":
        return _normalise_uscc(value) == org.uscc
    if field == "region":
        return getattr(value, "pk", None) == org.region_id
    if field == "business_licence":
        return not value
    if field == "accept_commitment":
        return bool(value) == (agency.commitment_accepted_at is not None)
    return (value or "").strip() == getattr(agency, field)


# --- certificates and practitioners -----------------------------------------------------------


@transaction.atomic
def certificate_add(
    *,
    actor: User,
    agency: Agency,
    qualification_type: QualificationType,
    level: str = "",
    certificate_number: str,
    issuing_authority: str,
    valid_from: datetime.date,
    valid_until: datetime.date,
    scan=None,
    today: datetime.date | None = None,
) -> QualificationCertificate:
    """Declares a qualification certificate (draft, returned or suspended enrolments). For an
    approved agency a new certificate is a change request (agencies.changes)."""
    require_perm(actor, "edit", agency)
    locked = _lock(agency)
    _require_editable(locked)
    day = today or timezone.localdate()
    errors: dict[str, list[str]] = {}
    level = (level or "").strip()
    number = (certificate_number or "").strip()
    if qualification_type is None or not qualification_type.is_active:
        errors["qualification_type"] = [_("Choose a qualification type from the list.")]
    else:
        levels = list(qualification_type.levels or [])
        if levels and level not in levels:
            errors["level"] = [
                _("Choose the level of %(type)s: %(levels)s.")
                % {"type": qualification_type.name, "levels": "、".join(levels)}
            ]
        elif not levels and level:
            errors["level"] = [
                _("%(type)s has no levels; leave the level empty.")
                % {"type": qualification_type.name}
            ]
        if (
            number
            and QualificationCertificate.objects.filter(
                qualification_type=qualification_type, certificate_number=number
            ).exists()
        ):
            errors["certificate_number"] = [
                _("A %(type)s certificate with this number is already declared.")
                % {"type": qualification_type.name}
            ]
    if not number:
        errors["certificate_number"] = [_("Enter the certificate number.")]
    if not (issuing_authority or "").strip():
        errors["issuing_authority"] = [_("Enter the issuing authority.")]
    if valid_from is None:
        errors["valid_from"] = [_("Enter the date the certificate is valid from.")]
    if valid_until is None:
        errors["valid_until"] = [_("Enter the date the certificate is valid until.")]
    elif valid_from is not None and valid_until < valid_from:
        errors["valid_until"] = [_("The valid-until date is before the valid-from date.")]
    elif valid_until < day:
        errors["valid_until"] = [
            _("This certificate expired on %(date)s; declare a valid one.")
            % {"date": valid_until.isoformat()}
        ]
    errors["scan"] = _scan_errors(scan)
    _raise(errors)
    certificate = QualificationCertificate(
        agency=locked,
        qualification_type=qualification_type,
        level=level,
        certificate_number=number,
        issuing_authority=issuing_authority.strip(),
        valid_from=valid_from,
        valid_until=valid_until,
    )
    if scan:
        certificate.scan = scan
    try:
        with transaction.atomic():
            certificate.save()
    except IntegrityError:
        raise ValidationError(
            {
                "certificate_number": _(
                    "A %(type)s certificate with this number is already declared."
                )
                % {"type": qualification_type.name}
            }
        ) from None
    audit.record(
        actor=actor,
        action="certificate.add",
        obj=certificate,
        data={
            "type": qualification_type.code,
            "level": level,
            "number": number,
            "valid_until": valid_until.isoformat(),
        },
    )
    return certificate


@transaction.atomic
def certificate_remove(*, actor: User, certificate: QualificationCertificate) -> None:
    """Removes a declared certificate (editable enrolments only). Declared items that lose
    their qualification stay declared; enrolment_missing then reports them."""
    agency = certificate.agency
    require_perm(actor, "edit", agency)
    locked = _lock(agency)
    _require_editable(locked)
    certificate = QualificationCertificate.objects.filter(pk=certificate.pk, agency=locked).first()
    if certificate is None:
        return
    audit.record(
        actor=actor,
        action="certificate.remove",
        obj=certificate,
        data={
            "type_id": certificate.qualification_type_id,
            "number": certificate.certificate_number,
        },
    )
    if certificate.scan:
        certificate.scan.delete(save=False)
    certificate.delete()


@transaction.atomic
def practitioner_add(
    *,
    actor: User,
    agency: Agency,
    name: str,
    id_number: str,
    professional_certificates: Iterable = (),
    social_insurance_proof=None,
) -> Practitioner:
    """Declares a practitioner (执业人员). The resident ID number is checked (GB 11643 check
    character, date of birth), stored, and only ever shown masked."""
    require_perm(actor, "edit", agency)
    locked = _lock(agency)
    _require_editable(locked)
    errors: dict[str, list[str]] = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = [_("Enter the practitioner's name.")]
    id_number = normalise_resident_id(id_number)
    try:
        validate_resident_id(id_number)
    except ValidationError as exc:
        errors["id_number"] = list(exc.messages)
    else:
        if Practitioner.objects.filter(agency=locked, id_number=id_number).exists():
            errors["id_number"] = [_("This person is already declared as a practitioner.")]
    certificates = []
    for entry in professional_certificates or ():
        if isinstance(entry, str):
            entry = {"name": entry, "number": ""}
        entry = {
            "name": str(entry.get("name", "")).strip(),
            "number": str(entry.get("number", "")).strip(),
        }
        if entry["name"]:
            certificates.append(entry)
    errors["social_insurance_proof"] = _scan_errors(social_insurance_proof)
    _raise(errors)
    practitioner = Practitioner(
        agency=locked, name=name, id_number=id_number, professional_certificates=certificates
    )
    if social_insurance_proof:
        practitioner.social_insurance_proof = social_insurance_proof
    practitioner.save()
    audit.record(
        actor=actor,
        action="practitioner.add",
        obj=practitioner,
        organisation=locked.organisation,
        # The trail is readable by the agency's managers: the ID number masked there too.
        data={"name": name, "id_number": practitioner.masked_id_number},
    )
    return practitioner


@transaction.atomic
def practitioner_remove(*, actor: User, practitioner: Practitioner) -> None:
    agency = practitioner.agency
    require_perm(actor, "edit", agency)
    locked = _lock(agency)
    _require_editable(locked)
    practitioner = Practitioner.objects.filter(pk=practitioner.pk, agency=locked).first()
    if practitioner is None:
        return
    audit.record(
        actor=actor,
        action="practitioner.remove",
        obj=practitioner,
        organisation=locked.organisation,
        data={"name": practitioner.name, "id_number": practitioner.masked_id_number},
    )
    if practitioner.social_insurance_proof:
        practitioner.social_insurance_proof.delete(save=False)
    practitioner.delete()


# --- service items and regions ----------------------------------------------------------------


@transaction.atomic
def service_items_set(
    *, actor: User, agency: Agency, items: Iterable, today: datetime.date | None = None
) -> list[int]:
    """Replaces the declared service items (ServiceItemPage objects or ids). Every item must be
    live and covered by the agency's certificates; otherwise a field error on ``items`` names
    each item and what it lacks. Returns the declared item ids."""
    from cms.models import ServiceItemPage

    require_perm(actor, "edit", agency)
    locked = _lock(agency)
    _require_editable(locked)
    ids = {getattr(i, "pk", i) for i in items}
    try:
        ids = {int(i) for i in ids}
    except (TypeError, ValueError):
        raise ValidationError({"items": _("Unknown service item.")}) from None
    pages = {
        p.pk: p
        for p in ServiceItemPage.objects.live()
        .filter(pk__in=ids)
        .prefetch_related("qualification_requirements__qualification")
    }
    errors = []
    if set(pages) != ids:
        errors.append(_("Some of the chosen service items are not in the published catalog."))
    checker = eligibility.missing_for_items(locked, today=today)
    for page in sorted(pages.values(), key=lambda p: p.code):
        unmet = checker(page)
        if unmet:
            errors.append(
                _("%(item)s cannot be offered without: %(missing)s")
                % {
                    "item": f"{page.code} {page.title}",
                    "missing": "；".join(str(c) for c in unmet),
                }
            )
    if errors:
        raise ValidationError({"items": errors})
    current = set(
        AgencyServiceItem.objects.filter(agency=locked).values_list("service_item_id", flat=True)
    )
    removed, added = current - ids, ids - current
    if not removed and not added:
        return sorted(ids)
    AgencyServiceItem.objects.filter(agency=locked, service_item_id__in=removed).delete()
    AgencyServiceItem.objects.bulk_create(
        [AgencyServiceItem(agency=locked, service_item_id=i) for i in sorted(added)]
    )
    audit.record(
        actor=actor,
        action="agency.service_items",
        obj=locked,
        data={"added": sorted(added), "removed": sorted(removed)},
    )
    return sorted(ids)


@transaction.atomic
def service_regions_set(
    *, actor: User, agency: Agency, scope: str, regions: Iterable[Region] = ()
) -> Agency:
    """服务区域: province-wide (the default, 一库入驻、全省执业) or selected regions (each covering
    its subtree; at least one)."""
    require_perm(actor, "edit", agency)
    locked = _lock(agency)
    _require_editable(locked)
    regions = list(regions)
    if scope not in ServiceScope.values:
        raise ValidationError({"scope": _("Choose province-wide or selected regions.")})
    if scope == ServiceScope.REGIONS and not regions:
        raise ValidationError({"regions": _("Choose at least one service region.")})
    if scope == ServiceScope.PROVINCE:
        regions = []
    locked.service_scope = scope
    locked.save(update_fields=["service_scope", "updated_at"])
    locked.service_regions.set(regions)
    audit.record(
        actor=actor,
        action="agency.service_regions",
        obj=locked,
        data={"scope": scope, "regions": [r.pk for r in regions]},
    )
    _sync(agency, locked)
    return agency


# --- the enrolment state machine -------------------------------------------------------------


def _transition_refused(agency: Agency, action: str) -> ValidationError:
    return ValidationError(
        {
            NON_FIELD_ERRORS: _(
                "This enrolment cannot be %(action)s in its current state (%(status)s)."
            )
            % {"action": action, "status": agency.get_status_display()}
        },
        code="invalid_transition",
    )


@transaction.atomic
def enrolment_submit(*, actor: User, agency: Agency) -> Agency:
    """提交审核: draft, returned or suspended → submitted, once nothing is missing."""
    require_perm(actor, "submit", agency)
    locked = _lock(agency)
    if locked.status not in (
        EnrolmentStatus.DRAFT,
        EnrolmentStatus.RETURNED,
        EnrolmentStatus.SUSPENDED,
    ):
        raise _transition_refused(locked, _("submitted"))
    missing = selectors.enrolment_missing(locked)
    if missing:
        errors: dict[str, list[str]] = {}
        for item in missing:
            errors.setdefault(item.field, []).append(item.message)
        raise ValidationError(errors, code="incomplete")
    previous = locked.status
    locked.submit(by=actor, data={"from": previous})
    locked.save()
    _sync(agency, locked)
    return agency


def _reviewer_regulator(actor: User, agency: Agency):
    require_perm(actor, "review", agency)
    regulators = selectors.reviewing_regulators(actor, agency)
    return regulators[0]


@transaction.atomic
def enrolment_approve(*, actor: User, agency: Agency, comment: str = "") -> Agency:
    """审核通过: submitted → approved, by a reviewer or supervisor of a regulator covering the
    agency (agencies.selectors). Records the review, puts the agency on the shelf
    (agencies.shelf.partner_sync) and notifies its members."""
    regulator = _reviewer_regulator(actor, agency)
    locked = _lock(agency)
    if locked.status != EnrolmentStatus.SUBMITTED:
        raise _transition_refused(locked, _("approved"))
    comment = (comment or "").strip()
    review = EnrolmentReview.objects.create(
        agency=locked,
        reviewer=actor,
        regulator=regulator,
        decision=ReviewDecision.APPROVE,
        comment=comment,
    )
    locked.approve(by=actor, reason=comment, data={"review": review.pk, "regulator": regulator.pk})
    locked.save()
    _partner_sync(locked)
    notify_agency_members(
        locked,
        verb="agency.approved",
        title=_("Your enrolment is approved"),
        body=comment or _("%(name)s is now enrolled on the marketplace.") % {"name": locked.name},
    )
    _sync(agency, locked)
    return agency


def _partner_sync(agency: Agency) -> None:
    """The shelf (Oscar Partner) follows the approval; written by the shelf module."""
    try:
        from agencies.shelf import partner_sync
    except ImportError:  # the shelf module not installed yet
        logger.warning("agencies.shelf.partner_sync is missing; no partner for %s", agency.pk)
        return
    partner_sync(agency=agency)


@transaction.atomic
def enrolment_return(
    *, actor: User, agency: Agency, field_reasons: dict[str, str], comment: str = ""
) -> Agency:
    """退回修改: submitted → returned with at least one reason attached to a field (shown to
    the agency beside that field)."""
    regulator = _reviewer_regulator(actor, agency)
    locked = _lock(agency)
    if locked.status != EnrolmentStatus.SUBMITTED:
        raise _transition_refused(locked, _("returned"))
    reasons = {
        str(k).strip(): str(v).strip()
        for k, v in (field_reasons or {}).items()
        if str(k).strip() and str(v or "").strip()
    }
    if not reasons:
        raise ValidationError(
            {"field_reasons": _("Give at least one reason, attached to the field concerned.")}
        )
    comment = (comment or "").strip()
    review = EnrolmentReview.objects.create(
        agency=locked,
        reviewer=actor,
        regulator=regulator,
        decision=ReviewDecision.RETURN,
        comment=comment,
        field_reasons=reasons,
    )
    locked.return_for_correction(
        by=actor,
        reason=comment or "；".join(reasons.values()),
        data={"review": review.pk, "fields": sorted(reasons)},
    )
    locked.save()
    notify_agency_members(
        locked,
        verb="agency.returned",
        title=_("Your enrolment is returned for correction"),
        body="\n".join([comment, *(f"{k}: {v}" for k, v in reasons.items())]).strip(),
    )
    _sync(agency, locked)
    return agency


@transaction.atomic
def enrolment_withdraw(*, actor: User, agency: Agency, reason: str) -> Agency:
    """撤回: the agency's administrator takes the enrolment off (from any state but
    withdrawn). Final."""
    require_perm(actor, "withdraw", agency)
    locked = _lock(agency)
    if locked.status == EnrolmentStatus.WITHDRAWN:
        raise _transition_refused(locked, _("withdrawn"))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Give the reason for withdrawing.")})
    locked.withdraw(by=actor, reason=reason)
    locked.save()
    _sync(agency, locked)
    return agency


@transaction.atomic
def agency_suspend(*, actor: User | None = None, agency: Agency, reason: str) -> Agency:
    """暂停: approved → suspended. ``actor=None`` is the system (the expiry scheduler, when the
    agency has no eligible item left); a person needs the "suspend" permission. The way back
    is enrolment_submit then enrolment_approve."""
    if actor is not None:
        require_perm(actor, "suspend", agency)
    locked = _lock(agency)
    if locked.status != EnrolmentStatus.APPROVED:
        raise _transition_refused(locked, _("suspended"))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Give the reason for the suspension.")})
    locked.suspend(by=actor, reason=reason)
    locked.save()
    from agencies.shelf import shelf_refresh

    # Off the shelf at once: a suspended agency's products must not stay public in Oscar.
    shelf_refresh(agency=locked)
    notify_agency_members(
        locked,
        verb="agency.suspended",
        title=_("Your agency is suspended"),
        body=reason,
    )
    _sync(agency, locked)
    return agency
