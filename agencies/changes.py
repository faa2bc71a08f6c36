"""Change requests (变更申请): an approved agency's key data — its name, legal representative,
qualification certificates — changes only through review, and the agency stays approved and
listed with its current data meanwhile.

    change = change_request_submit(actor=admin, agency=agency, kind="name",
                                   payload={"name": "新名称有限公司"}, attachment=licence_scan)
    change_request_approve(actor=reviewer, change_request=change)      # applies it atomically
    change_request_reject(actor=reviewer, change_request=change, reason="营业执照与名称不符")
    change_request_withdraw(actor=admin, change_request=change)

Payloads, validated and normalised on submission (and checked again on approval):

``name``                  {"name": str, 1–200 characters, different from the current name}
``legal_representative``  {"legal_representative": str, 1–64 characters, different}
``qualification``         {"qualification_type": code, "level": str, "certificate_number": str,
                           "issuing_authority": str, "valid_from": "YYYY-MM-DD",
                           "valid_until": "YYYY-MM-DD"} — like ``services.certificate_add``: a
                           level of the type (empty for ungraded types), valid-until not before
                           valid-from and not already past, number unique for the type.

A supporting document (the new business licence, the certificate scan) is required and checked
by content (``marketplace.uploads.validate_scan``); for a qualification it becomes the new
certificate's scan. One open request per kind at a time. Errors are ``ValidationError`` keyed on
the payload's field names (``name``, ``valid_until`` …), ``kind``, ``attachment`` or
``reason``; refusals of the actor are ``PermissionDenied``. Transitions are audited by the FSM
receiver (one event each); submission is audited with ``marketplace.audit.record``.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from agencies.models import (
    Agency,
    CertificateStatus,
    ChangeRequest,
    ChangeRequestKind,
    ChangeRequestStatus,
    EnrolmentStatus,
    QualificationCertificate,
)
from agencies.services import notify_agency_members
from marketplace import audit
from marketplace.models import QualificationType, Role
from marketplace.permissions import is_member, require_perm, rule
from marketplace.uploads import validate_scan

NAME_MAX = 200
LEGAL_REPRESENTATIVE_MAX = 64
CERTIFICATE_NUMBER_MAX = 64
ISSUING_AUTHORITY_MAX = 120

__all__ = [
    "change_request_approve",
    "change_request_reject",
    "change_request_submit",
    "change_request_withdraw",
    "clean_payload",
]


@rule(Agency, "request_change")
def _admin_requests_changes(user, agency) -> bool:
    """Key data is the administrators' business (as enrolment submission is)."""
    return is_member(user, agency.organisation, roles=(Role.ADMIN,))


# --- payload validation -------------------------------------------------------------------------


def _text(payload: dict, key: str) -> str:
    value = payload.get(key, "")
    return value.strip() if isinstance(value, str) else ""


def _date(payload: dict, key: str, errors: dict) -> datetime.date | None:
    value = payload.get(key)
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, str) and value.strip():
        try:
            return datetime.date.fromisoformat(value.strip())
        except ValueError:
            pass
    errors[key] = _("Enter a date as YYYY-MM-DD.")
    return None


def _clean_name(agency: Agency, payload: dict) -> dict:
    name = _text(payload, "name")
    if not name:
        raise ValidationError({"name": _("Enter the new name.")}, code="required")
    if len(name) > NAME_MAX:
        raise ValidationError(
            {"name": _("The name has at most %(max)s characters.") % {"max": NAME_MAX}},
            code="max_length",
        )
    if name == agency.organisation.name:
        raise ValidationError({"name": _("This is already the agency's name.")}, code="unchanged")
    return {"name": name}


def _clean_legal_representative(agency: Agency, payload: dict) -> dict:
    value = _text(payload, "legal_representative")
    if not value:
        raise ValidationError(
            {"legal_representative": _("Enter the new legal representative.")}, code="required"
        )
    if len(value) > LEGAL_REPRESENTATIVE_MAX:
        raise ValidationError(
            {
                "legal_representative": _("At most %(max)s characters.")
                % {"max": LEGAL_REPRESENTATIVE_MAX}
            },
            code="max_length",
        )
    if value == agency.legal_representative:
        raise ValidationError(
            {"legal_representative": _("This is already the legal representative.")},
            code="unchanged",
        )
    return {"legal_representative": value}


def _qualification_type(value) -> QualificationType | None:
    if isinstance(value, QualificationType):
        return value if value.is_active else None
    if isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit()):
        return QualificationType.objects.filter(pk=int(value), is_active=True).first()
    if isinstance(value, str) and value.strip():
        return QualificationType.objects.filter(code=value.strip(), is_active=True).first()
    return None


def _clean_qualification(
    agency: Agency, payload: dict, *, today: datetime.date, exclude_request: int | None = None
) -> dict:
    errors: dict[str, Any] = {}
    qtype = _qualification_type(payload.get("qualification_type"))
    level = _text(payload, "level")
    number = _text(payload, "certificate_number")
    authority = _text(payload, "issuing_authority")
    if qtype is None:
        errors["qualification_type"] = _("Choose a qualification type from the list.")
    else:
        levels = list(qtype.levels or [])
        if levels and level not in levels:
            errors["level"] = _("Choose the level of %(type)s: %(levels)s.") % {
                "type": qtype.name,
                "levels": "、".join(levels),
            }
        elif not levels and level:
            errors["level"] = _("%(type)s has no levels; leave the level empty.") % {
                "type": qtype.name
            }
    if not number:
        errors["certificate_number"] = _("Enter the certificate number.")
    elif len(number) > CERTIFICATE_NUMBER_MAX:
        errors["certificate_number"] = _("At most %(max)s characters.") % {
            "max": CERTIFICATE_NUMBER_MAX
        }
    elif qtype is not None:
        taken = QualificationCertificate.objects.filter(
            qualification_type=qtype, certificate_number=number
        ).exists()
        pending = ChangeRequest.objects.filter(
            kind=ChangeRequestKind.QUALIFICATION,
            status=ChangeRequestStatus.SUBMITTED,
            payload__qualification_type=qtype.code,
            payload__certificate_number=number,
        )
        if exclude_request is not None:
            pending = pending.exclude(pk=exclude_request)
        if taken or pending.exists():
            errors["certificate_number"] = _(
                "A %(type)s certificate with this number is already declared."
            ) % {"type": qtype.name}
    if not authority:
        errors["issuing_authority"] = _("Enter the issuing authority.")
    elif len(authority) > ISSUING_AUTHORITY_MAX:
        errors["issuing_authority"] = _("At most %(max)s characters.") % {
            "max": ISSUING_AUTHORITY_MAX
        }
    valid_from = _date(payload, "valid_from", errors)
    valid_until = _date(payload, "valid_until", errors)
    if valid_from and valid_until:
        if valid_until < valid_from:
            errors["valid_until"] = _("The valid-until date is before the valid-from date.")
        elif valid_until < today:
            errors["valid_until"] = _(
                "This certificate expired on %(date)s; declare a valid one."
            ) % {"date": valid_until.isoformat()}
    if errors:
        raise ValidationError(errors)
    return {
        "qualification_type": qtype.code,
        "level": level,
        "certificate_number": number,
        "issuing_authority": authority,
        "valid_from": valid_from.isoformat(),
        "valid_until": valid_until.isoformat(),
    }


def clean_payload(
    *,
    agency: Agency,
    kind: str,
    payload: dict | None,
    today: datetime.date | None = None,
    exclude_request: int | None = None,
) -> dict:
    """The normalised payload of a change request of ``kind``, or ``ValidationError`` keyed
    on the payload's fields (see the module docstring)."""
    payload = payload if isinstance(payload, dict) else {}
    today = today or timezone.localdate()
    if kind == ChangeRequestKind.NAME:
        return _clean_name(agency, payload)
    if kind == ChangeRequestKind.LEGAL_REPRESENTATIVE:
        return _clean_legal_representative(agency, payload)
    if kind == ChangeRequestKind.QUALIFICATION:
        return _clean_qualification(agency, payload, today=today, exclude_request=exclude_request)
    raise ValidationError({"kind": _("Choose what to change.")}, code="invalid_choice")


# --- services -----------------------------------------------------------------------------------


def _lock_request(change_request: ChangeRequest) -> ChangeRequest:
    return (
        ChangeRequest.objects.select_for_update(of=("self",))
        .select_related("agency__organisation")
        .get(pk=change_request.pk)
    )


def _sync(target: ChangeRequest, source: ChangeRequest) -> None:
    for field in target._meta.concrete_fields:
        target.__dict__[field.attname] = source.__dict__.get(field.attname)


def _not_open(change_request: ChangeRequest) -> ValidationError:
    return ValidationError(
        {
            NON_FIELD_ERRORS: _("This change request is already %(status)s.")
            % {"status": change_request.get_status_display()}
        },
        code="not_open",
    )


@transaction.atomic
def change_request_submit(
    *,
    actor,
    agency: Agency,
    kind: str,
    payload: dict,
    attachment=None,
    today: datetime.date | None = None,
) -> ChangeRequest:
    """变更申请: an administrator of an approved agency proposes new key data. Nothing changes
    on the agency until a regulator approves; it stays approved and listed."""
    require_perm(actor, "request_change", agency)
    locked = Agency.objects.select_for_update(of=("self",)).select_related("organisation").get(
        pk=agency.pk
    )
    if locked.status != EnrolmentStatus.APPROVED:
        raise ValidationError(
            {
                NON_FIELD_ERRORS: _(
                    "Change requests are for approved agencies; while the enrolment is not "
                    "approved, edit it directly."
                )
            },
            code="agency_not_approved",
        )
    if kind not in ChangeRequestKind.values:
        raise ValidationError({"kind": _("Choose what to change.")}, code="invalid_choice")
    if ChangeRequest.objects.filter(
        agency=locked, kind=kind, status=ChangeRequestStatus.SUBMITTED
    ).exists():
        raise ValidationError(
            {
                "kind": _(
                    "A change request of this kind is already under review; withdraw it or "
                    "wait for the decision."
                )
            },
            code="already_open",
        )
    errors: dict[str, list[str]] = {}
    try:
        clean = clean_payload(agency=locked, kind=kind, payload=payload, today=today)
    except ValidationError as exc:
        errors.update(exc.message_dict)
        clean = None
    if not attachment:
        errors["attachment"] = [
            _("Attach the supporting document (the new business licence or certificate).")
        ]
    else:
        try:
            validate_scan(attachment)
        except ValidationError as exc:
            errors["attachment"] = list(exc.messages)
    if errors:
        raise ValidationError(errors)
    change = ChangeRequest(agency=locked, kind=kind, payload=clean, requested_by=actor)
    change.attachment = attachment
    change.save()
    audit.record(
        actor=actor,
        action="change_request_submit",
        obj=change,
        to_state=change.status,
        data={"kind": kind, "payload": clean},
    )
    return change


def _current_value(agency: Agency, kind: str) -> dict:
    if kind == ChangeRequestKind.NAME:
        return {"name": agency.organisation.name}
    if kind == ChangeRequestKind.LEGAL_REPRESENTATIVE:
        return {"legal_representative": agency.legal_representative}
    return {}


@transaction.atomic
def change_request_approve(
    *, actor, change_request: ChangeRequest, reason: str = "", today: datetime.date | None = None
) -> ChangeRequest:
    """A regulator in scope approves: the change is applied in the same transaction (the
    organisation's name, the legal representative, or a new certificate), the shelf follows
    (partner name, product titles, visibility), the agency is notified. The payload is checked
    again (a certificate number taken meanwhile, a certificate expired meanwhile)."""
    require_perm(actor, "review", change_request)
    change = _lock_request(change_request)
    if change.status != ChangeRequestStatus.SUBMITTED:
        raise _not_open(change)
    agency = Agency.objects.select_for_update(of=("self",)).select_related("organisation").get(
        pk=change.agency_id
    )
    clean = clean_payload(
        agency=agency, kind=change.kind, payload=change.payload, today=today,
        exclude_request=change.pk,
    )
    before = _current_value(agency, change.kind)
    applied: dict[str, Any] = dict(clean)
    if change.kind == ChangeRequestKind.NAME:
        # save(), not update(): the organisation's post_save keeps the search index in step.
        agency.organisation.name = clean["name"]
        agency.organisation.save(update_fields=["name"])
    elif change.kind == ChangeRequestKind.LEGAL_REPRESENTATIVE:
        Agency.objects.filter(pk=agency.pk).update(
            legal_representative=clean["legal_representative"], updated_at=timezone.now()
        )
        agency.legal_representative = clean["legal_representative"]
    else:
        certificate = QualificationCertificate(
            agency=agency,
            qualification_type=QualificationType.objects.get(code=clean["qualification_type"]),
            level=clean["level"],
            certificate_number=clean["certificate_number"],
            issuing_authority=clean["issuing_authority"],
            valid_from=datetime.date.fromisoformat(clean["valid_from"]),
            valid_until=datetime.date.fromisoformat(clean["valid_until"]),
            status=CertificateStatus.VALID,
        )
        if change.attachment:
            certificate.scan.name = change.attachment.name  # the checked scan, not a copy
        try:
            with transaction.atomic():
                certificate.save()
        except IntegrityError:
            raise ValidationError(
                {
                    "certificate_number": _(
                        "A %(type)s certificate with this number is already declared."
                    )
                    % {"type": certificate.qualification_type.name}
                }
            ) from None
        applied["certificate_id"] = certificate.pk
    change.approve(
        by=actor,
        reason=(reason or "").strip(),
        data={"kind": change.kind, "before": before, "applied": applied},
    )
    change.save()

    from agencies.shelf import partner_sync, shelf_refresh

    if agency.partner_id is not None:
        partner_sync(agency=agency)  # the partner's name; refreshes the shelf too
    else:
        shelf_refresh(agency=agency)
    notify_agency_members(
        agency,
        verb="change_request.approved",
        title=_("Your change request is approved: %(kind)s") % {"kind": change.get_kind_display()},
        body=(reason or "").strip(),
    )
    _sync(change_request, change)
    return change_request


@transaction.atomic
def change_request_reject(*, actor, change_request: ChangeRequest, reason: str) -> ChangeRequest:
    """A regulator in scope rejects, with a reason (required); nothing changes on the agency."""
    require_perm(actor, "review", change_request)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Give the reason for the rejection.")}, code="required")
    change = _lock_request(change_request)
    if change.status != ChangeRequestStatus.SUBMITTED:
        raise _not_open(change)
    change.reject(by=actor, reason=reason, data={"kind": change.kind})
    change.save()
    notify_agency_members(
        change.agency,
        verb="change_request.rejected",
        title=_("Your change request is rejected: %(kind)s") % {"kind": change.get_kind_display()},
        body=reason,
    )
    _sync(change_request, change)
    return change_request


@transaction.atomic
def change_request_withdraw(
    *, actor, change_request: ChangeRequest, reason: str = ""
) -> ChangeRequest:
    """The agency's administrator withdraws a request under review."""
    require_perm(actor, "withdraw", change_request)
    change = _lock_request(change_request)
    if change.status != ChangeRequestStatus.SUBMITTED:
        raise _not_open(change)
    change.withdraw(by=actor, reason=(reason or "").strip(), data={"kind": change.kind})
    change.save()
    _sync(change_request, change)
    return change_request
