"""Change requests of an approved agency's key data, reviewed while it stays listed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from oscar.core.loading import get_model

from agencies import shelf
from agencies.changes import (
    change_request_approve,
    change_request_reject,
    change_request_submit,
    change_request_withdraw,
)
from agencies.models import (
    ChangeRequest,
    ChangeRequestStatus,
    EnrolmentStatus,
    QualificationCertificate,
)
from marketplace.models import AuditEvent, Organisation, OutboxMessage, Role
from tests.agencies.factories import (
    AgencyFactory,
    CertificateFactory,
    UserFactory,
    declare_items,
    kunming,
    make_regulator_user,
    qtype,
    region,
)

Product = get_model("catalogue", "Product")
Partner = get_model("partner", "Partner")

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n%test\n"


def scan(name="licence.pdf", data=PDF):
    return SimpleUploadedFile(name, data)


@pytest.fixture
def agency(items):
    """Approved, in Kunming, ecology (EIA certificate), listed with an offering of ``eia``."""
    agency = AgencyFactory(status=EnrolmentStatus.APPROVED, staff=True)
    CertificateFactory(agency=agency)
    declare_items(agency, items["eia"])
    shelf.partner_sync(agency=agency)
    agency.offering = shelf.offering_save(
        actor=agency.admin_user, agency=agency, service_item=items["eia"],
        pricing_mode="price", price="100", turnaround_days=5,
    )
    return agency


@pytest.fixture
def reviewer(agency):
    return make_regulator_user(region=kunming(), industries=["ecology"])


def submit(agency, kind, payload, **kwargs):
    kwargs.setdefault("attachment", scan())
    return change_request_submit(
        actor=kwargs.pop("actor", agency.admin_user), agency=agency, kind=kind, payload=payload,
        **kwargs,
    )


def still_listed(agency) -> None:
    agency.refresh_from_db()
    assert agency.status == EnrolmentStatus.APPROVED
    assert list(shelf.public_offerings(agency=agency)) == [agency.offering]


def qualification_payload(**overrides):
    today = timezone.localdate()
    payload = {
        "qualification_type": "surveying",
        "level": "乙级",
        "certificate_number": "CH-2025-0001",
        "issuing_authority": "云南省自然资源厅",
        "valid_from": (today - timedelta(days=10)).isoformat(),
        "valid_until": (today + timedelta(days=700)).isoformat(),
    }
    payload.update(overrides)
    return payload


# --- name ---------------------------------------------------------------------------------------


def test_a_name_change_is_applied_on_approval_and_the_shelf_follows(agency, reviewer, items):
    old_name = agency.name
    change = submit(agency, "name", {"name": "  云南新名称咨询有限公司 "})
    assert change.status == ChangeRequestStatus.SUBMITTED
    assert change.payload == {"name": "云南新名称咨询有限公司"}
    # Under review: nothing changed, still listed.
    assert Organisation.objects.get(pk=agency.organisation_id).name == old_name
    still_listed(agency)

    change_request_approve(actor=reviewer, change_request=change, reason="营业执照已核")

    change.refresh_from_db()
    assert change.status == ChangeRequestStatus.APPROVED
    assert change.decided_by == reviewer
    assert Organisation.objects.get(pk=agency.organisation_id).name == "云南新名称咨询有限公司"
    assert Partner.objects.get(pk=agency.partner_id).name == "云南新名称咨询有限公司"
    title = Product.objects.get(pk=agency.offering.product_id).title
    assert title.endswith("· 云南新名称咨询有限公司")
    still_listed(agency)
    event = AuditEvent.objects.get(action="approve", object_id=str(change.pk))
    assert event.actor == reviewer
    assert event.data["before"] == {"name": old_name}
    assert event.data["applied"] == {"name": "云南新名称咨询有限公司"}
    assert AuditEvent.objects.filter(action="change_request_submit").count() == 1
    verbs = [m.payload["verb"] for m in OutboxMessage.objects.filter(topic="notify")]
    assert verbs.count("change_request.approved") == 2  # admin and staff


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"name": "   "}, "Enter the new name"),
        ({"name": "名" * 201}, "at most 200"),
        ({}, "Enter the new name"),
    ],
)
def test_bad_names_are_refused(agency, payload, message):
    with pytest.raises(ValidationError) as info:
        submit(agency, "name", payload)
    assert message in " ".join(info.value.message_dict["name"])
    assert ChangeRequest.objects.count() == 0


def test_the_current_name_is_not_a_change(agency):
    with pytest.raises(ValidationError) as info:
        submit(agency, "name", {"name": agency.name})
    assert "already" in info.value.message_dict["name"][0]


# --- legal representative -----------------------------------------------------------------------


def test_a_legal_representative_change(agency, reviewer):
    change = submit(agency, "legal_representative", {"legal_representative": "王五"})
    change_request_approve(actor=reviewer, change_request=change)
    agency.refresh_from_db()
    assert agency.legal_representative == "王五"
    still_listed(agency)


# --- qualification ------------------------------------------------------------------------------


def test_a_new_certificate_is_created_on_approval_and_qualifies_new_items(
    agency, reviewer, items
):
    change = submit(agency, "qualification", qualification_payload(), attachment=scan("c.pdf"))
    assert not QualificationCertificate.objects.filter(certificate_number="CH-2025-0001").exists()
    with pytest.raises(ValidationError):  # not qualified for surveying yet
        shelf.offering_save(
            actor=agency.admin_user, agency=agency, service_item=items["survey_b"],
            pricing_mode="price", price="100", turnaround_days=5,
        )

    change_request_approve(actor=reviewer, change_request=change)

    certificate = QualificationCertificate.objects.get(certificate_number="CH-2025-0001")
    assert certificate.agency == agency
    assert certificate.qualification_type == qtype("surveying")
    assert certificate.level == "乙级"
    assert certificate.scan.name == ChangeRequest.objects.get(pk=change.pk).attachment.name
    assert certificate.scan.read() == PDF
    event = AuditEvent.objects.get(action="approve", object_id=str(change.pk))
    assert event.data["applied"]["certificate_id"] == certificate.pk
    shelf.offering_save(
        actor=agency.admin_user, agency=agency, service_item=items["survey_b"],
        pricing_mode="price", price="100", turnaround_days=5,
    )
    still_listed_ids = {o.service_item_id for o in shelf.public_offerings(agency=agency)}
    assert still_listed_ids == {items["eia"].pk, items["survey_b"].pk}


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"qualification_type": "nope"}, "qualification_type", "Choose a qualification type"),
        ({"level": "丙级"}, "level", "Choose the level"),
        ({"qualification_type": "eia-unit", "level": "甲级"}, "level", "has no levels"),
        ({"certificate_number": ""}, "certificate_number", "Enter the certificate number"),
        ({"issuing_authority": " "}, "issuing_authority", "Enter the issuing authority"),
        ({"valid_from": "2025-13-01"}, "valid_from", "YYYY-MM-DD"),
        ({"valid_until": "2020-01-01", "valid_from": "2019-01-01"}, "valid_until", "expired"),
        ({"valid_until": "2024-01-01", "valid_from": "2025-01-01"}, "valid_until", "before"),
    ],
)
def test_bad_certificates_are_refused(agency, overrides, field, message):
    with pytest.raises(ValidationError) as info:
        submit(agency, "qualification", qualification_payload(**overrides))
    assert message in " ".join(info.value.message_dict[field])
    assert ChangeRequest.objects.count() == 0


def test_a_certificate_number_already_declared_or_pending_is_refused(agency):
    existing = agency.certificates.get()
    with pytest.raises(ValidationError) as info:
        submit(agency, "qualification", qualification_payload(
            qualification_type="eia-unit", level="", certificate_number=existing.certificate_number
        ))
    assert "already declared" in info.value.message_dict["certificate_number"][0]
    other = AgencyFactory(status=EnrolmentStatus.APPROVED)
    submit(other, "qualification", qualification_payload())
    with pytest.raises(ValidationError) as info:
        submit(agency, "qualification", qualification_payload())
    assert "already declared" in info.value.message_dict["certificate_number"][0]


def test_a_certificate_expired_while_under_review_is_not_applied(agency, reviewer):
    today = timezone.localdate()
    change = submit(agency, "qualification", qualification_payload(
        valid_until=(today + timedelta(days=3)).isoformat()
    ))
    with pytest.raises(ValidationError) as info:
        change_request_approve(
            actor=reviewer, change_request=change, today=today + timedelta(days=5)
        )
    assert "expired" in info.value.message_dict["valid_until"][0]
    assert ChangeRequest.objects.get(pk=change.pk).status == ChangeRequestStatus.SUBMITTED
    assert not QualificationCertificate.objects.filter(certificate_number="CH-2025-0001").exists()


# --- attachments --------------------------------------------------------------------------------


def test_the_supporting_document_is_required_and_checked_by_content(agency):
    with pytest.raises(ValidationError) as info:
        submit(agency, "name", {"name": "新名称"}, attachment=None)
    assert "supporting document" in info.value.message_dict["attachment"][0]
    with pytest.raises(ValidationError) as info:
        submit(agency, "name", {"name": "新名称"}, attachment=scan("x.pdf", b"\x7fELF\x02\x01"))
    assert "program" in info.value.message_dict["attachment"][0]
    assert ChangeRequest.objects.count() == 0


# --- who and when -------------------------------------------------------------------------------


def test_only_the_agency_admin_may_submit(agency):
    other = AgencyFactory(status=EnrolmentStatus.APPROVED)
    for user in (agency.staff_user, other.admin_user, UserFactory()):
        with pytest.raises(PermissionDenied):
            submit(agency, "name", {"name": "新名称"}, actor=user)
    assert ChangeRequest.objects.count() == 0


def test_only_an_approved_agency_submits_change_requests(items):
    draft = AgencyFactory(status=EnrolmentStatus.DRAFT)
    with pytest.raises(ValidationError) as info:
        submit(draft, "name", {"name": "新名称"})
    assert "approved" in " ".join(info.value.messages)


def test_one_open_request_per_kind(agency):
    submit(agency, "name", {"name": "新名称一"})
    with pytest.raises(ValidationError) as info:
        submit(agency, "name", {"name": "新名称二"})
    assert "already under review" in info.value.message_dict["kind"][0]
    submit(agency, "legal_representative", {"legal_representative": "王五"})  # another kind
    with pytest.raises(ValidationError) as info:
        submit(agency, "address", {})
    assert "kind" in info.value.message_dict


def test_only_regulators_in_scope_decide(agency, reviewer):
    change = submit(agency, "name", {"name": "新名称"})
    outsiders = [
        agency.admin_user,
        UserFactory(),
        make_regulator_user(region=kunming(), industries=["water"]),  # other industry
        make_regulator_user(region=region("530300"), industries=["ecology"]),  # 曲靖市
    ]
    for user in outsiders:
        with pytest.raises(PermissionDenied):
            change_request_approve(actor=user, change_request=change)
        with pytest.raises(PermissionDenied):
            change_request_reject(actor=user, change_request=change, reason="不行")
    assert ChangeRequest.objects.get(pk=change.pk).status == ChangeRequestStatus.SUBMITTED
    supervisor = make_regulator_user(
        role=Role.SUPERVISOR, region=region("530000"), all_industries=True
    )
    change_request_approve(actor=supervisor, change_request=change)
    assert ChangeRequest.objects.get(pk=change.pk).status == ChangeRequestStatus.APPROVED


def test_reject_needs_a_reason_and_changes_nothing(agency, reviewer):
    old_name = agency.name
    change = submit(agency, "name", {"name": "新名称"})
    with pytest.raises(ValidationError) as info:
        change_request_reject(actor=reviewer, change_request=change, reason="  ")
    assert "reason" in info.value.message_dict
    change_request_reject(actor=reviewer, change_request=change, reason="营业执照名称不符")
    change.refresh_from_db()
    assert change.status == ChangeRequestStatus.REJECTED
    assert change.decision_reason == "营业执照名称不符"
    assert Organisation.objects.get(pk=agency.organisation_id).name == old_name
    still_listed(agency)
    with pytest.raises(ValidationError):  # decided: no second decision
        change_request_approve(actor=reviewer, change_request=change)
    verbs = [m.payload["verb"] for m in OutboxMessage.objects.filter(topic="notify")]
    assert verbs.count("change_request.rejected") == 2


def test_withdraw_by_the_agency_admin(agency, reviewer):
    change = submit(agency, "name", {"name": "新名称"})
    with pytest.raises(PermissionDenied):
        change_request_withdraw(actor=agency.staff_user, change_request=change)
    with pytest.raises(PermissionDenied):
        change_request_withdraw(actor=reviewer, change_request=change)
    change_request_withdraw(actor=agency.admin_user, change_request=change)
    assert ChangeRequest.objects.get(pk=change.pk).status == ChangeRequestStatus.WITHDRAWN
    with pytest.raises(ValidationError):
        change_request_approve(actor=reviewer, change_request=change)
    # A new request of the same kind may follow.
    submit(agency, "name", {"name": "新名称"})
    assert AuditEvent.objects.filter(action="withdraw", object_id=str(change.pk)).count() == 1


def test_nothing_half_saved_when_applying_fails(agency, reviewer):
    """The certificate number is taken directly between submission and approval: the approval
    is refused as a whole (no certificate, request still open, agency unchanged)."""
    change = submit(agency, "qualification", qualification_payload())
    other = AgencyFactory(status=EnrolmentStatus.APPROVED)
    CertificateFactory(
        agency=other, qualification_type=qtype("surveying"), level="甲级",
        certificate_number="CH-2025-0001",
    )
    with pytest.raises(ValidationError) as info:
        change_request_approve(actor=reviewer, change_request=change)
    assert "already declared" in info.value.message_dict["certificate_number"][0]
    assert ChangeRequest.objects.get(pk=change.pk).status == ChangeRequestStatus.SUBMITTED
    assert agency.certificates.count() == 1
    assert not AuditEvent.objects.filter(action="approve", object_id=str(change.pk)).exists()
    still_listed(agency)






# --- the regulator's change-request queue -----------------------------------------------------


def test_change_queue_is_scoped_and_costs_the_same_whatever_its_length(
    agency, reviewer, items, django_assert_num_queries
):
    from agencies.selectors import change_request_queue

    submit(agency, "name", {"name": "云南新名称咨询有限公司"})
    out_of_scope = make_regulator_user(region=region("530300"), industries=["ecology"])
    assert list(change_request_queue(user=out_of_scope)) == []

    def page():
        return list(change_request_queue(user=reviewer)[:20])

    page()  # warms the per-user membership cache
    # 4 queries: the regulator with its scope region (1) and industries (1), the industry
    # pages (1), and the page of requests with their agencies, organisations, regions and
    # requesters (1).
    with django_assert_num_queries(4):
        first = page()
    assert [c.agency_id for c in first] == [agency.pk]

    for _ in range(3):
        other = AgencyFactory(status=EnrolmentStatus.APPROVED)
        CertificateFactory(agency=other)
        declare_items(other, items["eia"])
        submit(other, "legal_representative", {"legal_representative": "王五"})
    with django_assert_num_queries(4):
        assert len(page()) == 4
