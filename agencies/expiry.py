"""Certificate expiry (资质到期), run by the chronograph.

    @chronograph.job("agencies.certificate_expiry", every=1 hour)  →  certificate_expiry_run(today)

By the date in Asia/Shanghai (``today``):

1. **expiring**: a valid certificate whose ``valid_until`` is within 30 days
   (``today ≤ valid_until ≤ today + 30``) becomes *expiring*; the agency's active members are
   notified once (the transition happens once; the notification also carries a dedupe key);
2. **expired**: a valid or expiring certificate whose ``valid_until`` is before today becomes
   *expired*; the members are notified; the agency's shelf is refreshed (the offerings of the
   items that needed the certificate leave the shelf, ``agencies.shelf.shelf_refresh``); and an
   **approved agency left with no eligible item** (``agencies.eligibility.eligible_item_ids``:
   its declared items it is still qualified for) is suspended as the system
   (``agencies.services.agency_suspend(actor=None, …)``), the reason naming the certificate.
   It comes back by uploading a valid certificate, resubmitting and being re-approved.
3. **starting**: a certificate whose ``valid_from`` was reached in the last week may qualify its
   agency for more items: the shelf of its approved agency is refreshed (idempotent).

Each certificate is handled in its own transaction (transition, notification, shelf and
suspension together), so a crash leaves nothing half-done and the next run picks up what is
still due. Running twice, late, or after an outage does the right thing: what is due is read
from the data, never from when the job last ran.
"""

from __future__ import annotations

import datetime
import logging
from datetime import timedelta

from django.db import transaction
from django.utils.translation import gettext as _

from agencies.models import Agency, CertificateStatus, EnrolmentStatus, QualificationCertificate
from agencies.services import notify_agency_members
from marketplace import chronograph
from marketplace.workdays import SHANGHAI

logger = logging.getLogger(__name__)

JOB_NAME = "agencies.certificate_expiry"
EXPIRING_WITHIN_DAYS = 30
STARTING_LOOKBACK_DAYS = 7


def shanghai_date(now: datetime.datetime) -> datetime.date:
    """The calendar date in Asia/Shanghai of an aware datetime."""
    return now.astimezone(SHANGHAI).date()


@chronograph.job(JOB_NAME, every=timedelta(hours=1))
def certificate_expiry_job(now: datetime.datetime) -> dict:
    """The chronograph entry point (receives the tick's aware ``now``)."""
    return certificate_expiry_run(today=shanghai_date(now))


def certificate_expiry_run(*, today: datetime.date) -> dict[str, list[int]]:
    """Advances every certificate due on ``today`` (see the module docstring). Returns the ids
    concerned: {"expiring": [certificate ids], "expired": [...], "suspended": [agency ids],
    "refreshed": [agency ids]}."""
    summary: dict[str, list[int]] = {"expiring": [], "expired": [], "suspended": [], "refreshed": []}
    horizon = today + timedelta(days=EXPIRING_WITHIN_DAYS)

    # Expired first: a certificate past its date is expired, not "expiring".
    due_expired = QualificationCertificate.objects.filter(
        status__in=(CertificateStatus.VALID, CertificateStatus.EXPIRING), valid_until__lt=today
    ).values_list("pk", flat=True)
    for pk in list(due_expired.order_by("valid_until", "pk")):
        _expire_one(pk, today, summary)

    due_expiring = QualificationCertificate.objects.filter(
        status=CertificateStatus.VALID, valid_until__gte=today, valid_until__lte=horizon
    ).values_list("pk", flat=True)
    for pk in list(due_expiring.order_by("valid_until", "pk")):
        _mark_expiring_one(pk, today, summary)

    starting = (
        QualificationCertificate.objects.filter(
            status__in=(CertificateStatus.VALID, CertificateStatus.EXPIRING),
            valid_from__gt=today - timedelta(days=STARTING_LOOKBACK_DAYS),
            valid_from__lte=today,
            agency__status=EnrolmentStatus.APPROVED,
        )
        .values_list("agency_id", flat=True)
        .distinct()
    )
    for agency_id in sorted(set(starting)):
        from agencies.shelf import shelf_refresh

        changed = shelf_refresh(agency=Agency(pk=agency_id), today=today)
        if changed["shown"] or changed["hidden"]:
            summary["refreshed"].append(agency_id)
    return summary


def _certificate_label(certificate: QualificationCertificate) -> str:
    level = f" {certificate.level}" if certificate.level else ""
    return f"{certificate.qualification_type.name}{level}（{certificate.certificate_number}）"


def _notify_members(certificate, *, verb: str, title: str, body: str, key: str) -> None:
    notify_agency_members(certificate.agency, verb=verb, title=title, body=body, dedupe_key=key)


def _locked_certificate(pk: int) -> QualificationCertificate:
    return (
        QualificationCertificate.objects.select_for_update(of=("self",))
        .select_related("qualification_type", "agency__organisation")
        .get(pk=pk)
    )


def _mark_expiring_one(pk: int, today: datetime.date, summary: dict) -> None:
    with transaction.atomic():
        certificate = _locked_certificate(pk)
        if certificate.status != CertificateStatus.VALID or not (
            today <= certificate.valid_until <= today + timedelta(days=EXPIRING_WITHIN_DAYS)
        ):
            return  # changed since it was selected
        days_left = (certificate.valid_until - today).days
        certificate.mark_expiring(
            by=None,
            reason=_("Expires on %(date)s.") % {"date": certificate.valid_until.isoformat()},
            data={"valid_until": certificate.valid_until.isoformat(), "days_left": days_left},
        )
        certificate.save()
        label = _certificate_label(certificate)
        _notify_members(
            certificate,
            verb="certificate.expiring",
            title=_("A qualification certificate expires soon: %(certificate)s")
            % {"certificate": label},
            body=_(
                "%(certificate)s expires on %(date)s (in %(days)s days). Renew it and submit "
                "the new certificate as a change request, or the items that need it will "
                "leave the shelf."
            )
            % {"certificate": label, "date": certificate.valid_until.isoformat(), "days": days_left},
            key=f"agencies.certificate_expiring:{certificate.pk}:{certificate.valid_until}",
        )
    summary["expiring"].append(pk)


def _expire_one(pk: int, today: datetime.date, summary: dict) -> None:
    from agencies.eligibility import eligible_item_ids
    from agencies.services import agency_suspend
    from agencies.shelf import shelf_refresh

    with transaction.atomic():
        certificate = _locked_certificate(pk)
        if certificate.status not in (
            CertificateStatus.VALID,
            CertificateStatus.EXPIRING,
        ) or not (certificate.valid_until < today):
            return
        certificate.expire(
            by=None,
            reason=_("Expired on %(date)s.") % {"date": certificate.valid_until.isoformat()},
            data={"valid_until": certificate.valid_until.isoformat()},
        )
        certificate.save()
        label = _certificate_label(certificate)
        _notify_members(
            certificate,
            verb="certificate.expired",
            title=_("A qualification certificate has expired: %(certificate)s")
            % {"certificate": label},
            body=_(
                "%(certificate)s expired on %(date)s. The offerings of the items that need it "
                "have left the shelf until a valid certificate is approved."
            )
            % {"certificate": label, "date": certificate.valid_until.isoformat()},
            key=f"agencies.certificate_expired:{certificate.pk}",
        )
        agency = Agency.objects.select_for_update(of=("self",)).get(pk=certificate.agency_id)
        if agency.status == EnrolmentStatus.APPROVED and not eligible_item_ids(
            agency, today=today
        ):
            reason = _(
                "The qualification certificate %(certificate)s expired on %(date)s and the "
                "agency has no eligible service item left. Upload a valid certificate and "
                "resubmit the enrolment to be approved again."
            ) % {"certificate": label, "date": certificate.valid_until.isoformat()}
            agency_suspend(actor=None, agency=agency, reason=reason)
            summary["suspended"].append(agency.pk)
        shelf_refresh(agency=agency, today=today)
    summary["expired"].append(pk)
