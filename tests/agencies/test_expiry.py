"""The certificate expiry job: expiring (notified once), expired, the shelf, suspension."""

from __future__ import annotations

import datetime
from datetime import timedelta

import pytest
from django.utils import timezone
from oscar.core.loading import get_model

from agencies import expiry, shelf
from agencies.models import CertificateStatus, EnrolmentStatus
from marketplace import chronograph
from marketplace.models import AuditEvent, OutboxMessage
from marketplace.workdays import SHANGHAI
from tests.agencies.factories import AgencyFactory, CertificateFactory, declare_items, qtype

Product = get_model("catalogue", "Product")

pytestmark = pytest.mark.django_db


def notices(verb: str) -> list[OutboxMessage]:
    return [m for m in OutboxMessage.objects.filter(topic="notify") if m.payload["verb"] == verb]


@pytest.fixture
def setup(items):
    """An approved agency (admin + staff) declaring ``eia`` and ``survey_b``, with an EIA
    certificate ending on day D (60 days from now) and a surveying one ending D + 10, and an
    offering of each on the shelf."""
    today = timezone.localdate()
    d = today + timedelta(days=60)
    agency = AgencyFactory(status=EnrolmentStatus.APPROVED, staff=True)
    eia = CertificateFactory(agency=agency, valid_until=d)
    survey = CertificateFactory(
        agency=agency,
        qualification_type=qtype("surveying"),
        level="乙级",
        valid_until=d + timedelta(days=10),
    )
    declare_items(agency, items["eia"], items["survey_b"])
    shelf.partner_sync(agency=agency)
    offerings = {
        key: shelf.offering_save(
            actor=agency.admin_user,
            agency=agency,
            service_item=items[key],
            pricing_mode="price",
            price="100",
            turnaround_days=5,
        )
        for key in ("eia", "survey_b")
    }
    return {"agency": agency, "eia": eia, "survey": survey, "d": d, "offerings": offerings}


def refreshed(obj):
    obj.refresh_from_db()
    return obj


def public(offering) -> bool:
    return Product.objects.get(pk=offering.product_id).is_public


def test_the_job_is_registered_and_passes_the_shanghai_date(setup):
    job = chronograph.default.jobs[expiry.JOB_NAME]
    assert job.every == timedelta(hours=1)
    d = setup["d"]
    # 23:30 UTC on D is already D + 1 in Shanghai: the EIA certificate is expired.
    now = datetime.datetime.combine(d, datetime.time(23, 30), tzinfo=datetime.UTC)
    assert expiry.shanghai_date(now) == d + timedelta(days=1)
    results = chronograph.run_due_jobs(now=now, names=[expiry.JOB_NAME])
    assert results[0].status == "ok"
    assert results[0].result["expired"] == [setup["eia"].pk]
    assert refreshed(setup["eia"]).status == CertificateStatus.EXPIRED
    # The same instant in Shanghai's own zone gives the same date.
    assert expiry.shanghai_date(now.astimezone(SHANGHAI)) == d + timedelta(days=1)


def test_timeline_expiring_once_then_expired_then_suspended(setup):
    agency, eia, survey, d = setup["agency"], setup["eia"], setup["survey"], setup["d"]
    offerings = setup["offerings"]
    run = expiry.certificate_expiry_run

    # 31 days before: nothing due.
    assert run(today=d - timedelta(days=31)) == {
        "expiring": [], "expired": [], "suspended": [], "refreshed": []
    }
    assert refreshed(eia).status == CertificateStatus.VALID

    # 30 days before: expiring, both members notified once.
    assert run(today=d - timedelta(days=30))["expiring"] == [eia.pk]
    assert refreshed(eia).status == CertificateStatus.EXPIRING
    assert len(notices("certificate.expiring")) == 2
    assert {m.payload["recipient_id"] for m in notices("certificate.expiring")} == {
        agency.admin_user.pk, agency.staff_user.pk
    }
    # Again the same day and the next days: no second notice.
    run(today=d - timedelta(days=30))
    run(today=d - timedelta(days=29))
    assert len(notices("certificate.expiring")) == 2
    # The surveying certificate (D + 10) became expiring on D - 20, notified once.
    run(today=d - timedelta(days=20))
    assert refreshed(survey).status == CertificateStatus.EXPIRING
    assert len(notices("certificate.expiring")) == 4

    # On D itself the EIA certificate is still usable; the offerings stay public.
    assert run(today=d)["expired"] == []
    assert public(offerings["eia"]) and public(offerings["survey_b"])

    # D + 1: expired, notified; its item leaves the shelf; the agency still has surveying.
    result = run(today=d + timedelta(days=1))
    assert result["expired"] == [eia.pk]
    assert result["suspended"] == []
    assert refreshed(eia).status == CertificateStatus.EXPIRED
    assert len(notices("certificate.expired")) == 2
    assert refreshed(agency).status == EnrolmentStatus.APPROVED
    assert not public(offerings["eia"])
    assert public(offerings["survey_b"])
    assert AuditEvent.objects.filter(
        action="expire", object_id=str(eia.pk), actor__isnull=True
    ).count() == 1

    # Idempotent.
    assert run(today=d + timedelta(days=1))["expired"] == []
    assert len(notices("certificate.expired")) == 2

    # D + 11: the surveying certificate expires too — no eligible item left: suspended.
    result = run(today=d + timedelta(days=11))
    assert result["expired"] == [survey.pk]
    assert result["suspended"] == [agency.pk]
    agency = refreshed(agency)
    assert agency.status == EnrolmentStatus.SUSPENDED
    assert survey.certificate_number in agency.status_reason
    assert not public(offerings["eia"]) and not public(offerings["survey_b"])
    assert list(shelf.public_offerings()) == []
    event = AuditEvent.objects.get(action="suspend", object_id=str(agency.pk))
    assert event.actor is None and event.to_state == EnrolmentStatus.SUSPENDED
    assert len(notices("agency.suspended")) == 2

    # Later runs change nothing.
    assert run(today=d + timedelta(days=12)) == {
        "expiring": [], "expired": [], "suspended": [], "refreshed": []
    }


def test_a_late_first_run_expires_directly(setup):
    """A valid certificate already past its date (the job was down) goes straight to expired,
    without an "expiring" notice."""
    d = setup["d"]
    result = expiry.certificate_expiry_run(today=d + timedelta(days=2))
    assert result["expired"] == [setup["eia"].pk]
    assert result["expiring"] == [setup["survey"].pk]
    assert refreshed(setup["eia"]).status == CertificateStatus.EXPIRED
    expiring_for = {m.payload["title"] for m in notices("certificate.expiring")}
    assert all(setup["survey"].certificate_number in t for t in expiring_for)


def test_an_agency_with_another_eligible_item_is_not_suspended(items):
    """An item without requirements (``free``) keeps the agency eligible."""
    today = timezone.localdate()
    agency = AgencyFactory(status=EnrolmentStatus.APPROVED)
    certificate = CertificateFactory(agency=agency, valid_until=today + timedelta(days=5))
    declare_items(agency, items["eia"], items["free"])
    result = expiry.certificate_expiry_run(today=today + timedelta(days=6))
    assert result["expired"] == [certificate.pk]
    assert result["suspended"] == []
    assert refreshed(agency).status == EnrolmentStatus.APPROVED


def test_revoked_and_unapproved_agencies(items):
    today = timezone.localdate()
    draft = AgencyFactory(status=EnrolmentStatus.DRAFT)
    draft_cert = CertificateFactory(agency=draft, valid_until=today + timedelta(days=1))
    revoked = CertificateFactory(
        agency=draft, valid_until=today + timedelta(days=1), status=CertificateStatus.REVOKED
    )
    result = expiry.certificate_expiry_run(today=today + timedelta(days=2))
    assert result["expired"] == [draft_cert.pk]
    assert result["suspended"] == []  # only approved agencies are suspended
    assert refreshed(draft).status == EnrolmentStatus.DRAFT
    assert refreshed(revoked).status == CertificateStatus.REVOKED


def test_a_certificate_starting_later_puts_the_offering_back(items):
    """Surveying certificate A ends tomorrow; its renewal B starts in 3 days. In between the
    offering is off the shelf (the agency stays approved: it declared an item without
    requirements); the run on B's first day puts it back."""
    today = timezone.localdate()
    agency = AgencyFactory(status=EnrolmentStatus.APPROVED)
    declare_items(agency, items["survey_b"], items["free"])
    old = CertificateFactory(
        agency=agency, qualification_type=qtype("surveying"), level="乙级",
        valid_until=today + timedelta(days=1),
    )
    offering = shelf.offering_save(
        actor=agency.admin_user, agency=agency, service_item=items["survey_b"],
        pricing_mode="price", price="100", turnaround_days=5,
    )
    CertificateFactory(
        agency=agency, qualification_type=qtype("surveying"), level="甲级",
        valid_from=today + timedelta(days=3),
    )
    result = expiry.certificate_expiry_run(today=today + timedelta(days=2))
    assert result["expired"] == [old.pk] and result["suspended"] == []
    assert not public(offering)
    assert expiry.certificate_expiry_run(today=today + timedelta(days=3))["refreshed"] == [
        agency.pk
    ]
    assert public(offering)
    assert expiry.certificate_expiry_run(today=today + timedelta(days=4))["refreshed"] == []
