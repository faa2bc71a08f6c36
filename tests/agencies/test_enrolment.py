"""Enrolment services and transitions: allowed and refused per role, bad input, audit and
notifications."""

import datetime

import pytest
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from agencies import selectors, services
from agencies.models import (
    Agency,
    AgencyServiceItem,
    EnrolmentReview,
    EnrolmentStatus,
    QualificationCertificate,
)
from marketplace.models import AuditEvent, Membership, Organisation, OutboxMessage, Role
from marketplace.permissions import has_perm
from marketplace.validators import make_uscc
from tests.agencies.factories import (
    AgencyFactory,
    CertificateFactory,
    UserFactory,
    declare_items,
    kunming,
    make_regulator_user,
    next_uscc,
    platform_admin,
    region,
)

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def pdf(name="licence.pdf"):
    return SimpleUploadedFile(name, PDF, content_type="application/pdf")


def register(user, **overrides):
    data = {
        "user": user,
        "name": "云南示范工程咨询有限公司",
        "uscc": next_uscc(),
        "region": kunming(),
        "legal_representative": "赵六",
        "registered_address": "昆明市盘龙区示范路8号",
        "contact_name": "钱七",
        "contact_phone": "0871-66668888",
        "contact_email": "contact@example.com",
        "business_scope": "工程咨询",
        "business_licence": pdf(),
        "accept_commitment": True,
    }
    data.update(overrides)
    return services.agency_register(**data)


def transitions(agency, name):
    return AuditEvent.objects.filter(
        object_id=str(agency.pk), action=name, content_type__model="agency"
    ).count()


def complete_agency(items, **kwargs):
    """A draft agency with everything needed to submit (licence, commitment, certificate for
    the ``eia`` item, that item declared)."""
    agency = AgencyFactory(**kwargs)
    CertificateFactory(agency=agency)
    declare_items(agency, items["eia"])
    return agency


# --- registration -----------------------------------------------------------------------------


def test_register_creates_organisation_admin_membership_and_draft(km):
    user = UserFactory()
    uscc = make_uscc("91530100MA6K0001")
    agency = register(user, uscc=uscc)
    assert agency.status == EnrolmentStatus.DRAFT
    assert agency.organisation.kind == "agency" and agency.organisation.uscc == uscc
    assert Membership.objects.get(user=user, organisation=agency.organisation).role == Role.ADMIN
    assert agency.commitment_accepted_at is not None and agency.business_licence
    assert (
        AuditEvent.objects.filter(action="agency.register", object_id=str(agency.pk)).count() == 1
    )


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(lambda c: c[:17] + ("0" if c[17] != "0" else "1"), id="wrong-check-char"),
        pytest.param(lambda c: c.lower(), id="lowercase"),
        pytest.param(lambda c: c[:17], id="17-chars"),
        pytest.param(lambda c: c[:10] + "I" + c[11:], id="letter-I"),
        pytest.param(lambda c: c[:10] + "O" + c[11:], id="letter-O"),
        pytest.param(lambda c: c[:10] + "Z" + c[11:], id="letter-Z"),
        pytest.param(lambda c: c[:10] + "S" + c[11:], id="letter-S"),
        pytest.param(lambda c: c[:10] + "V" + c[11:], id="letter-V"),
    ],
)
def test_register_refuses_corrupted_uscc_and_saves_nothing(km, mutate):
    good = make_uscc("91530100MA6K0002")
    bad = mutate(good)
    assert bad != good
    before = Organisation.objects.count(), Agency.objects.count(), Membership.objects.count()
    with pytest.raises(ValidationError) as exc:
        register(UserFactory(), uscc=bad)
    assert "uscc" in exc.value.message_dict
    assert (
        Organisation.objects.count(),
        Agency.objects.count(),
        Membership.objects.count(),
    ) == before


def test_register_refuses_an_enrolled_uscc(km):
    uscc = make_uscc("91530100MA6K0003")
    register(UserFactory(), uscc=uscc)
    with pytest.raises(ValidationError) as exc:
        register(UserFactory(), uscc=uscc, name="另一家")
    assert "already enrolled" in exc.value.message_dict["uscc"][0]
    assert Organisation.objects.filter(uscc=uscc).count() == 1


def test_register_refuses_without_commitment_and_user_in_another_agency(km):
    with pytest.raises(ValidationError) as exc:
        register(UserFactory(), accept_commitment=False)
    assert "accept_commitment" in exc.value.message_dict
    existing = AgencyFactory()
    with pytest.raises(ValidationError) as exc:
        register(existing.admin_user)
    assert NON_FIELD_ERRORS in exc.value.message_dict


def test_register_refuses_a_renamed_executable_as_licence(km):
    fake = SimpleUploadedFile("licence.pdf", b"MZ\x90\x00" + b"\x00" * 200)
    before = Organisation.objects.count()
    with pytest.raises(ValidationError) as exc:
        register(UserFactory(), business_licence=fake)
    assert "business_licence" in exc.value.message_dict
    assert Organisation.objects.count() == before


# --- basic data -------------------------------------------------------------------------------


def test_update_in_draft_and_refused_when_approved_or_submitted(km):
    agency = AgencyFactory(staff=True)
    services.agency_update(actor=agency.staff_user, agency=agency, legal_representative="孙八")
    agency.refresh_from_db()
    assert agency.legal_representative == "孙八"

    approved = AgencyFactory(status=EnrolmentStatus.APPROVED)
    with pytest.raises(ValidationError) as exc:
        services.agency_update(actor=approved.admin_user, agency=approved, name="新名称")
    assert "change request" in exc.value.messages[0]
    services.agency_update(actor=approved.admin_user, agency=approved, contact_phone="13800000000")
    approved.refresh_from_db()
    assert approved.contact_phone == "13800000000"

    submitted = AgencyFactory(status=EnrolmentStatus.SUBMITTED)
    with pytest.raises(ValidationError):
        services.agency_update(actor=submitted.admin_user, agency=submitted, business_scope="x")


def test_update_refused_for_other_agency_and_regulator(km):
    agency = AgencyFactory()
    other = AgencyFactory()
    reviewer = make_regulator_user(all_industries=True)
    for user in (other.admin_user, reviewer, platform_admin()):
        with pytest.raises(PermissionDenied):
            services.agency_update(actor=user, agency=agency, contact_name="x")


# --- certificates and practitioners -----------------------------------------------------------


def _cert(agency, actor=None, **kw):
    today = timezone.localdate()
    data = {
        "actor": actor or agency.admin_user,
        "agency": agency,
        "qualification_type": kw.pop("qualification_type"),
        "level": "",
        "certificate_number": "CERT-1",
        "issuing_authority": "云南省自然资源厅",
        "valid_from": today - datetime.timedelta(days=10),
        "valid_until": today + datetime.timedelta(days=400),
    }
    data.update(kw)
    return services.certificate_add(**data)


def test_certificate_date_rules(types, km):
    agency = AgencyFactory()
    today = timezone.localdate()
    with pytest.raises(ValidationError) as exc:
        _cert(
            agency,
            qualification_type=types["eia-unit"],
            valid_until=today - datetime.timedelta(days=1),
        )
    assert "expired" in exc.value.message_dict["valid_until"][0]
    with pytest.raises(ValidationError) as exc:
        _cert(
            agency,
            qualification_type=types["eia-unit"],
            valid_from=today,
            valid_until=today - datetime.timedelta(days=5),
        )
    assert "before the valid-from" in exc.value.message_dict["valid_until"][0]
    assert not QualificationCertificate.objects.filter(agency=agency).exists()
    cert = _cert(agency, qualification_type=types["eia-unit"], valid_until=today)  # last day
    assert cert.status == "valid"


def test_certificate_level_and_duplicate_rules(types, km):
    agency = AgencyFactory()
    with pytest.raises(ValidationError) as exc:
        _cert(agency, qualification_type=types["surveying"], level="丙级")
    assert "level" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        _cert(agency, qualification_type=types["eia-unit"], level="甲级")
    assert "level" in exc.value.message_dict
    _cert(agency, qualification_type=types["surveying"], level="甲级", certificate_number="CH-1")
    other = AgencyFactory()
    with pytest.raises(ValidationError) as exc:
        _cert(other, qualification_type=types["surveying"], level="乙级", certificate_number="CH-1")
    assert "certificate_number" in exc.value.message_dict


def test_certificate_for_approved_agency_points_to_change_request(types, km):
    agency = AgencyFactory(status=EnrolmentStatus.APPROVED)
    with pytest.raises(ValidationError) as exc:
        _cert(agency, qualification_type=types["eia-unit"])
    assert "change request" in exc.value.messages[0]


def test_certificate_refused_for_outsiders(types, km):
    agency = AgencyFactory()
    for user in (AgencyFactory().admin_user, make_regulator_user(all_industries=True)):
        with pytest.raises(PermissionDenied):
            _cert(agency, actor=user, qualification_type=types["eia-unit"])


def test_practitioner_id_number_checked_stored_and_masked(km):
    agency = AgencyFactory()
    good = "11010519491231002X"
    person = services.practitioner_add(
        actor=agency.admin_user,
        agency=agency,
        name="周九",
        id_number=good.lower(),
        professional_certificates=["注册测绘师"],
    )
    assert person.id_number == good
    assert person.masked_id_number == "1101************2X"
    event = AuditEvent.objects.get(action="practitioner.add")
    assert good not in str(event.data)
    for bad in (
        "110105194912310021",
        "11010519491231002",
        "110105194913310028",
        "1101051949123100XX",
    ):
        with pytest.raises(ValidationError) as exc:
            services.practitioner_add(
                actor=agency.admin_user, agency=agency, name="x", id_number=bad
            )
        assert "id_number" in exc.value.message_dict
    with pytest.raises(ValidationError):
        services.practitioner_add(
            actor=agency.admin_user, agency=agency, name="周九", id_number=good
        )
    services.practitioner_remove(actor=agency.admin_user, practitioner=person)
    assert not agency.practitioners.exists()


# --- service items and regions ----------------------------------------------------------------


def test_service_items_refuse_an_item_lacking_its_qualification(items, types, km):
    agency = AgencyFactory()
    CertificateFactory(agency=agency, qualification_type=types["surveying"], level="乙级")
    services.service_items_set(
        actor=agency.admin_user, agency=agency, items=[items["survey_b"], items["free"]]
    )
    with pytest.raises(ValidationError) as exc:
        services.service_items_set(
            actor=agency.admin_user, agency=agency, items=[items["survey_a"], items["eia"]]
        )
    text = " ".join(exc.value.message_dict["items"])
    assert items["survey_a"].code in text and "测绘资质" in text and "甲级" in text
    assert items["eia"].code in text and "环境影响评价单位" in text
    # nothing half-saved: the previous declaration stands
    assert set(agency.service_items.values_list("service_item_id", flat=True)) == {
        items["survey_b"].pk,
        items["free"].pk,
    }


def test_service_regions(km):
    agency = AgencyFactory()
    with pytest.raises(ValidationError):
        services.service_regions_set(actor=agency.admin_user, agency=agency, scope="regions")
    services.service_regions_set(
        actor=agency.admin_user, agency=agency, scope="regions", regions=[region("530100")]
    )
    assert list(agency.service_regions.values_list("code", flat=True)) == ["530100"]
    services.service_regions_set(actor=agency.admin_user, agency=agency, scope="province")
    assert not agency.service_regions.exists()


# --- enrolment_missing and submission ---------------------------------------------------------


def test_enrolment_missing_lists_everything(km):
    agency = AgencyFactory(business_licence=None, commitment_accepted_at=None)
    fields = {m.field for m in selectors.enrolment_missing(agency)}
    assert {"business_licence", "commitment", "certificates", "service_items"} <= fields
    with pytest.raises(ValidationError) as exc:
        services.enrolment_submit(actor=agency.admin_user, agency=agency)
    assert "business_licence" in exc.value.message_dict
    agency.refresh_from_db()
    assert agency.status == EnrolmentStatus.DRAFT


def test_submit_by_admin_only_one_audit_event(items, km):
    agency = complete_agency(items, staff=True)
    assert selectors.enrolment_missing(agency) == []
    for user in (
        agency.staff_user,
        AgencyFactory().admin_user,
        make_regulator_user(all_industries=True),
    ):
        with pytest.raises(PermissionDenied):
            services.enrolment_submit(actor=user, agency=agency)
    services.enrolment_submit(actor=agency.admin_user, agency=agency)
    assert agency.status == EnrolmentStatus.SUBMITTED and agency.submitted_at
    assert transitions(agency, "submit") == 1
    event = AuditEvent.objects.get(action="submit", object_id=str(agency.pk))
    assert (event.from_state, event.to_state, event.actor_id) == (
        "draft",
        "submitted",
        agency.admin_user.pk,
    )
    with pytest.raises(ValidationError):
        services.enrolment_submit(actor=agency.admin_user, agency=agency)


# --- review -----------------------------------------------------------------------------------


@pytest.fixture
def submitted(items, km):
    agency = complete_agency(items, staff=True)
    services.enrolment_submit(actor=agency.admin_user, agency=agency)
    return agency


def test_approve_allowed_for_reviewer_in_scope(submitted):
    reviewer = make_regulator_user(region=region("530000"), industries=["ecology"])
    services.enrolment_approve(actor=reviewer, agency=submitted, comment="材料齐全")
    submitted.refresh_from_db()
    assert submitted.status == EnrolmentStatus.APPROVED and submitted.approved_at
    assert transitions(submitted, "approve") == 1
    review = EnrolmentReview.objects.get(agency=submitted)
    assert review.decision == "approve" and review.reviewer == reviewer
    notes = OutboxMessage.objects.filter(topic="notify", payload__verb="agency.approved")
    assert {n.payload["recipient_id"] for n in notes} == {
        submitted.admin_user.pk,
        submitted.staff_user.pk,
    }


def test_supervisor_in_scope_may_approve(submitted):
    supervisor = make_regulator_user(role=Role.SUPERVISOR, all_industries=True)
    services.enrolment_approve(actor=supervisor, agency=submitted)
    assert submitted.status == EnrolmentStatus.APPROVED


@pytest.mark.parametrize(
    "who",
    ["agency_admin", "agency_staff", "other_member", "wrong_region", "wrong_industry", "platform"],
)
def test_approve_and_return_refused(submitted, who):
    users = {
        "agency_admin": lambda: submitted.admin_user,
        "agency_staff": lambda: submitted.staff_user,
        "other_member": lambda: AgencyFactory().admin_user,
        "wrong_region": lambda: make_regulator_user(region=region("530300"), all_industries=True),
        "wrong_industry": lambda: make_regulator_user(industries=["water", "fire"]),
        "platform": platform_admin,
    }
    user = users[who]()
    with pytest.raises(PermissionDenied):
        services.enrolment_approve(actor=user, agency=submitted)
    with pytest.raises(PermissionDenied):
        services.enrolment_return(actor=user, agency=submitted, field_reasons={"name": "x"})
    submitted.refresh_from_db()
    assert submitted.status == EnrolmentStatus.SUBMITTED
    assert not EnrolmentReview.objects.exists()


def test_anonymous_is_refused(submitted):
    from django.contrib.auth.models import AnonymousUser

    for action in ("review", "edit", "submit", "withdraw", "view_private"):
        assert not has_perm(AnonymousUser(), action, submitted)
    with pytest.raises(PermissionDenied):
        services.enrolment_approve(actor=AnonymousUser(), agency=submitted)


def test_return_needs_a_reason_then_resubmit_and_approve(submitted):
    reviewer = make_regulator_user(industries=["ecology"])
    with pytest.raises(ValidationError) as exc:
        services.enrolment_return(actor=reviewer, agency=submitted, field_reasons={"name": "  "})
    assert "field_reasons" in exc.value.message_dict
    services.enrolment_return(
        actor=reviewer,
        agency=submitted,
        field_reasons={"legal_representative": "与营业执照不一致"},
        comment="请修改",
    )
    assert submitted.status == EnrolmentStatus.RETURNED
    assert transitions(submitted, "return_for_correction") == 1
    review = EnrolmentReview.objects.get(agency=submitted)
    assert review.field_reasons == {"legal_representative": "与营业执照不一致"}
    assert OutboxMessage.objects.filter(payload__verb="agency.returned").count() == 2
    services.agency_update(
        actor=submitted.admin_user, agency=submitted, legal_representative="张三丰"
    )
    services.enrolment_submit(actor=submitted.admin_user, agency=submitted)
    services.enrolment_approve(actor=reviewer, agency=submitted)
    assert transitions(submitted, "submit") == 2 and transitions(submitted, "approve") == 1


def test_approve_refused_unless_submitted(items, km):
    agency = complete_agency(items)
    reviewer = make_regulator_user(all_industries=True)
    with pytest.raises((ValidationError, PermissionDenied)):
        services.enrolment_approve(actor=reviewer, agency=agency)
    assert not AuditEvent.objects.filter(action="approve").exists()


def test_review_scope_follows_declared_industry(submitted):
    ecology = make_regulator_user(industries=["ecology"])
    water = make_regulator_user(industries=["water"])
    assert has_perm(ecology, "review", submitted)
    assert not has_perm(water, "review", submitted)


# --- suspension and withdrawal ----------------------------------------------------------------


def test_suspend_by_system_then_resubmit_and_reapprove(items, types, km):
    agency = complete_agency(items, status=EnrolmentStatus.APPROVED)
    services.agency_suspend(agency=agency, reason="资质证书已过期")
    assert agency.status == EnrolmentStatus.SUSPENDED
    event = AuditEvent.objects.get(action="suspend", object_id=str(agency.pk))
    assert event.actor is None and event.reason == "资质证书已过期"
    assert OutboxMessage.objects.filter(payload__verb="agency.suspended").count() == 1
    # suspended agencies may upload a new certificate and resubmit
    _cert(agency, qualification_type=types["eia-unit"], certificate_number="NEW-1")
    services.enrolment_submit(actor=agency.admin_user, agency=agency)
    services.enrolment_approve(actor=make_regulator_user(all_industries=True), agency=agency)
    assert agency.status == EnrolmentStatus.APPROVED
    with pytest.raises(ValidationError):
        services.agency_suspend(agency=AgencyFactory(), reason="x")  # a draft


def test_suspend_by_person_needs_permission(items, km):
    agency = complete_agency(items, status=EnrolmentStatus.APPROVED)
    with pytest.raises(PermissionDenied):
        services.agency_suspend(actor=agency.admin_user, agency=agency, reason="x")
    with pytest.raises(PermissionDenied):
        services.agency_suspend(
            actor=make_regulator_user(all_industries=True), agency=agency, reason="x"
        )
    services.agency_suspend(actor=platform_admin(), agency=agency, reason="处罚")
    assert agency.status == EnrolmentStatus.SUSPENDED


@pytest.mark.parametrize(
    "status",
    [
        EnrolmentStatus.DRAFT,
        EnrolmentStatus.RETURNED,
        EnrolmentStatus.SUBMITTED,
        EnrolmentStatus.APPROVED,
        EnrolmentStatus.SUSPENDED,
    ],
)
def test_withdraw_by_admin_from_every_live_state(km, status):
    agency = AgencyFactory(status=status, staff=True)
    with pytest.raises(PermissionDenied):
        services.enrolment_withdraw(actor=agency.staff_user, agency=agency, reason="x")
    with pytest.raises(ValidationError):
        services.enrolment_withdraw(actor=agency.admin_user, agency=agency, reason=" ")
    services.enrolment_withdraw(actor=agency.admin_user, agency=agency, reason="停业")
    assert agency.status == EnrolmentStatus.WITHDRAWN
    assert transitions(agency, "withdraw") == 1
    with pytest.raises(ValidationError):
        services.enrolment_withdraw(actor=agency.admin_user, agency=agency, reason="again")


def test_nothing_half_saved_when_a_declared_item_lost_its_qualification(items, km):
    agency = AgencyFactory()
    declare_items(agency, items["survey_a"])
    with pytest.raises(ValidationError) as exc:
        services.enrolment_submit(actor=agency.admin_user, agency=agency)
    assert "service_items" in exc.value.message_dict
    assert AgencyServiceItem.objects.filter(agency=agency).count() == 1
    assert not AuditEvent.objects.filter(action="submit").exists()
