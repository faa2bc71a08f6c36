"""The agencies' web interface through the Django test client: enrolment journey, review,
offerings, cross-agency access, uploads and query counts."""

from __future__ import annotations

import datetime
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from agencies.models import Agency, EnrolmentStatus, Offering, QualificationCertificate
from marketplace import outbox
from marketplace.models import Organisation
from tests.agencies.factories import (
    AgencyFactory,
    CertificateFactory,
    PractitionerFactory,
    declare_items,
    make_catalog,
    make_regulator_user,
    next_uscc,
    qtype,
)

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n%test scan\n"


def pdf(name="scan.pdf"):
    return SimpleUploadedFile(name, PDF, content_type="application/pdf")


def exe(name="scan.pdf"):
    """A Windows executable renamed to .pdf."""
    return SimpleUploadedFile(name, b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 64, "application/pdf")


def login(client, user):
    client.force_login(user)
    return client


def basic_data(**overrides):
    data = {
        "name": "云南测试环评咨询有限公司",
        "uscc": next_uscc("530102"),
        "legal_representative": "张三",
        "registered_address": "云南省昆明市五华区测试路1号",
        "region": "530102",
        "contact_name": "李四",
        "contact_phone": "0871-65550000",
        "contact_email": "contact@test.example.com",
        "business_scope": "环境影响评价",
        "business_licence": pdf("licence.pdf"),
        "accept_commitment": "on",
    }
    data.update(overrides)
    return data


def certificate_data(**overrides):
    today = timezone.localdate()
    data = {
        "cert-qualification_type": qtype("eia-unit").pk,
        "cert-level": "",
        "cert-certificate_number": "HP-2024-0001",
        "cert-issuing_authority": "云南省生态环境厅",
        "cert-valid_from": (today - datetime.timedelta(days=100)).isoformat(),
        "cert-valid_until": (today + datetime.timedelta(days=700)).isoformat(),
        "cert-scan": pdf("cert.pdf"),
    }
    data.update(overrides)
    return data


# --- the enrolment journey ---------------------------------------------------------------------


def test_register_enrol_return_correct_resubmit_approve(client, catalog, km):
    items = catalog["items"]
    # 1. Sign up (name, e-mail, password) and land on the registration form.
    response = client.post(
        reverse("agencies:signup"),
        {
            "display_name": "王五",
            "email": "wangwu@test.example.com",
            "password1": "Yunnan-2025-pw",
            "password2": "Yunnan-2025-pw",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("agencies:enrol_register")
    assert client.get(reverse("agencies:enrol_register")).status_code == 200

    # 2. Register the agency.
    response = client.post(reverse("agencies:enrol_register"), basic_data())
    assert response.status_code == 302, response.context["form"].errors
    agency = Agency.objects.get(organisation__name="云南测试环评咨询有限公司")
    assert response["Location"] == reverse("agencies:enrolment", args=[agency.pk])
    assert agency.status == EnrolmentStatus.DRAFT
    enrol_url = reverse("agencies:enrolment", args=[agency.pk])
    page = client.get(enrol_url)
    assert page.status_code == 200
    assert page.context["missing"]  # certificates, items … still missing

    # 3. Declare a certificate, a practitioner, an item; regions stay province-wide.
    response = client.post(
        reverse("agencies:certificate_add", args=[agency.pk]), certificate_data()
    )
    assert response.status_code == 302
    response = client.post(
        reverse("agencies:practitioner_add", args=[agency.pk]),
        {
            "prac-name": "赵六",
            "prac-id_number": "11010519491231002X",
            "prac-certificate_names": "环境影响评价工程师 HP0001",
            "prac-social_insurance_proof": pdf("si.pdf"),
        },
    )
    assert response.status_code == 302
    page = client.get(enrol_url)
    assert "1101************2X" in page.content.decode()
    assert "11010519491231002X" not in page.content.decode()
    response = client.post(
        reverse("agencies:service_items", args=[agency.pk]), {"items": [items["eia"].pk]}
    )
    assert response.status_code == 302
    # An item the agency lacks the qualification for is shown disabled with the reason.
    html = client.get(enrol_url).content.decode()
    survey_box = re.search(rf'<input[^>]*value="{items["survey_a"].pk}"[^>]*>', html).group(0)
    assert "disabled" in survey_box
    assert f'id="item-{items["survey_a"].pk}-missing"' in html

    # 4. Submit.
    response = client.post(reverse("agencies:enrolment_submit", args=[agency.pk]))
    assert response.status_code == 302
    agency.refresh_from_db()
    assert agency.status == EnrolmentStatus.SUBMITTED

    # 5. A regulator in scope sees it in the queue and returns it with a field reason.
    reviewer = make_regulator_user(industries=["ecology"])
    regulator = client_for(reviewer)
    queue = regulator.get(reverse("agencies:review_queue"))
    assert queue.status_code == 200
    assert agency in list(queue.context["page_obj"])
    detail_url = reverse("agencies:review_detail", args=[agency.pk])
    assert regulator.get(detail_url).status_code == 200
    # Returning without any reason is refused beside the form.
    response = regulator.post(detail_url, {"decision": "return", "comment": "请修改"})
    assert response.status_code == 200
    assert response.context["form"].non_field_errors()
    agency.refresh_from_db()
    assert agency.status == EnrolmentStatus.SUBMITTED
    response = regulator.post(
        detail_url,
        {
            "decision": "return",
            "comment": "请核对法定代表人",
            "reason__legal_representative": "法定代表人与营业执照不一致",
        },
    )
    assert response.status_code == 302
    agency.refresh_from_db()
    assert agency.status == EnrolmentStatus.RETURNED

    # 6. The agency sees the reason beside the field, corrects and resubmits.
    html = client.get(enrol_url).content.decode()
    field_block = html[html.index('id="field-legal_representative"') :]
    field_block = field_block[: field_block.index('id="field-registered_address"')]
    assert "法定代表人与营业执照不一致" in field_block
    assert "请核对法定代表人" in html
    data = basic_data(uscc=agency.uscc, legal_representative="张三丰")
    del data["accept_commitment"]
    response = client.post(reverse("agencies:enrolment_basic", args=[agency.pk]), data)
    assert response.status_code == 302
    agency.refresh_from_db()
    assert agency.legal_representative == "张三丰"
    assert client.post(reverse("agencies:enrolment_submit", args=[agency.pk])).status_code == 302
    agency.refresh_from_db()
    assert agency.status == EnrolmentStatus.SUBMITTED

    # 7. The regulator approves; the agency appears in the public directory.
    response = regulator.post(detail_url, {"decision": "approve", "comment": "同意入驻"})
    assert response.status_code == 302
    agency.refresh_from_db()
    assert agency.status == EnrolmentStatus.APPROVED
    outbox.sweep()  # the index update (Celery is not eager in tests)
    directory = client.get(reverse("agencies:directory"))
    assert _directory_ids(directory) == [agency.pk]
    profile = client.get(reverse("agencies:profile", args=[agency.pk])).content.decode()
    assert "赵*" in profile and "赵六" not in profile
    assert "<dt>信用等级</dt><dd>暂无</dd>" in profile
    assert '<dt>合同数</dt><dd id="profile-contract-count">0</dd>' in profile


def client_for(user):
    from django.test import Client

    c = Client()
    c.force_login(user)
    return c


def test_invalid_uscc_keeps_input_and_saves_nothing(client, catalog, km):
    from tests.agencies.factories import UserFactory

    user = UserFactory()
    login(client, user)
    data = basic_data(uscc="91530102MA6K000000")
    response = client.post(reverse("agencies:enrol_register"), data)
    assert response.status_code == 200
    form = response.context["form"]
    assert "uscc" in form.errors
    assert form["name"].value() == "云南测试环评咨询有限公司"
    assert not Organisation.objects.filter(name="云南测试环评咨询有限公司").exists()
    assert 'href="#id_uscc"' in response.content.decode()  # error summary links to the field


def test_renamed_executable_is_refused_and_nothing_saved(client, catalog, km):
    from tests.agencies.factories import UserFactory

    login(client, UserFactory())
    response = client.post(
        reverse("agencies:enrol_register"), basic_data(business_licence=exe("licence.pdf"))
    )
    assert response.status_code == 200
    assert "business_licence" in response.context["form"].errors
    assert not Agency.objects.exists()

    agency = AgencyFactory()
    login(client, agency.admin_user)
    response = client.post(
        reverse("agencies:certificate_add", args=[agency.pk]),
        certificate_data(**{"cert-scan": exe("cert.pdf")}),
    )
    assert response.status_code == 200
    assert "scan" in response.context["certificate_form"].errors
    assert not QualificationCertificate.objects.filter(agency=agency).exists()


def test_certificate_valid_until_before_valid_from_is_a_field_error(client, catalog):
    agency = AgencyFactory()
    login(client, agency.admin_user)
    today = timezone.localdate()
    response = client.post(
        reverse("agencies:certificate_add", args=[agency.pk]),
        certificate_data(
            **{
                "cert-valid_from": today.isoformat(),
                "cert-valid_until": (today - datetime.timedelta(days=1)).isoformat(),
            }
        ),
    )
    assert response.status_code == 200
    assert "valid_until" in response.context["certificate_form"].errors
    assert not agency.certificates.exists()


# --- offerings -----------------------------------------------------------------------------------


@pytest.fixture
def shop(db):
    from cms.fees.demo import load_fee_rules

    rules = load_fee_rules()
    # survey_b: fixed 30,000 with a ±10 % float → ceiling 33,000.
    return make_catalog(
        fee_rules={"survey_b": rules["energy-fixed"], "survey_b_category": "report"}
    )


def test_offering_within_ceiling_saved_above_refused_with_computation(client, shop):
    from agencies import shelf

    item = shop["items"]["survey_b"]
    agency = AgencyFactory(status=EnrolmentStatus.APPROVED)
    CertificateFactory(agency=agency, qualification_type=qtype("surveying"), level="乙级")
    declare_items(agency, item)
    shelf.partner_sync(agency=agency)
    login(client, agency.admin_user)
    url = reverse("agencies:offering_add", args=[agency.pk])
    assert client.get(url).status_code == 200
    terms = {
        "service_item": item.pk,
        "pricing_mode": "price",
        "turnaround_days": 5,
        "description": "含现场踏勘",
    }
    response = client.post(url, {**terms, "price": "40000.00"})
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "price" in errors
    message = " ".join(errors["price"])
    assert "33,000.00" in message  # the ceiling, from the computation
    assert not Offering.objects.filter(agency=agency).exists()

    response = client.post(url, {**terms, "price": "32000.00"})
    assert response.status_code == 302
    offering = Offering.objects.get(agency=agency)
    assert str(offering.price) == "32000.00"
    portal = client.get(reverse("agencies:portal_agency", args=[agency.pk]))
    assert offering in portal.context["offerings"]


# --- access ----------------------------------------------------------------------------------------


def test_cross_agency_access_is_404(client, catalog):
    mine = AgencyFactory()
    theirs = AgencyFactory(status=EnrolmentStatus.SUBMITTED)
    cert = CertificateFactory(agency=theirs, scan=pdf("c.pdf"))
    prac = PractitionerFactory(agency=theirs, social_insurance_proof=pdf("s.pdf"))
    login(client, mine.admin_user)
    for url in (
        reverse("agencies:enrolment", args=[theirs.pk]),  # drafts and review notes
        reverse("agencies:portal_agency", args=[theirs.pk]),
        reverse("agencies:offering_add", args=[theirs.pk]),
        reverse("agencies:review_detail", args=[theirs.pk]),
        reverse("agencies:review_queue"),
        reverse("agencies:file", args=["licence", theirs.pk]),
        reverse("agencies:file", args=["certificate", cert.pk]),
        reverse("agencies:file", args=["practitioner", prac.pk]),
        reverse("agencies:profile", args=[theirs.pk]),  # not approved: not public either
    ):
        assert client.get(url).status_code == 404, url
    response = client.post(
        reverse("agencies:certificate_add", args=[theirs.pk]), certificate_data()
    )
    assert response.status_code == 404
    assert not theirs.certificates.exclude(pk=cert.pk).exists()


def test_member_downloads_own_file_as_attachment(client, catalog):
    agency = AgencyFactory()
    cert = CertificateFactory(agency=agency, scan=pdf("c.pdf"))
    login(client, agency.admin_user)
    response = client.get(reverse("agencies:file", args=["certificate", cert.pk]))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content) == PDF


def test_regulator_out_of_scope_cannot_review(client, catalog):
    agency = AgencyFactory(status=EnrolmentStatus.SUBMITTED)
    declare_items(agency, catalog["items"]["eia"])
    CertificateFactory(agency=agency)
    # Covers Kunming but not the ecology industry.
    other = make_regulator_user(industries=["water"])
    login(client, other)
    url = reverse("agencies:review_detail", args=[agency.pk])
    assert client.get(url).status_code in (403, 404)
    response = client.post(url, {"decision": "approve"})
    assert response.status_code in (403, 404)
    agency.refresh_from_db()
    assert agency.status == EnrolmentStatus.SUBMITTED
    assert agency not in list(client.get(reverse("agencies:review_queue")).context["page_obj"])
    # An in-scope regulator may read the files.
    inscope = make_regulator_user(industries=["ecology"])
    login(client, inscope)
    assert client.get(reverse("agencies:file", args=["licence", agency.pk])).status_code == 200


@pytest.mark.parametrize(
    "name",
    ["agencies:enrol_register", "agencies:portal", "agencies:review_queue"],
)
def test_anonymous_is_sent_to_login(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("customer:login"))


def test_anonymous_file_download_goes_to_login(client, catalog):
    agency = AgencyFactory()
    response = client.get(reverse("agencies:file", args=["licence", agency.pk]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("customer:login"))


def _directory_ids(response) -> list[int]:
    """The agencies listed by the directory (a search page: search/views.py)."""
    assert response.status_code == 200
    return [int(hit.id) for hit in response.context["result"].hits]


def test_public_pages_render_for_anonymous_and_nav_links_directory(client, catalog):
    agency = AgencyFactory(status=EnrolmentStatus.APPROVED)
    CertificateFactory(agency=agency)
    declare_items(agency, catalog["items"]["eia"])
    outbox.sweep()  # the index update (Celery is not eager in tests)
    response = client.get(reverse("agencies:directory"))
    html = response.content.decode()
    assert 'href="/agencies/"' in html  # main navigation
    assert "中介机构名录" in html and "中介机构</a>" in html  # Chinese first
    assert reverse("agencies:enrol_start") in html  # 机构入驻
    assert agency.name in html
    assert client.get(reverse("agencies:profile", args=[agency.pk])).status_code == 200
    assert client.get(reverse("agencies:enrol_start")).status_code == 200
    response = client.get(reverse("agencies:directory"), {"industry": "ecology"})
    assert _directory_ids(response) == [agency.pk]
    response = client.get(reverse("agencies:directory"), {"industry": "water"})
    assert _directory_ids(response) == []


# --- query counts ----------------------------------------------------------------------------


def _count(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


# The directory's query count: tests/search/test_views.py.


def test_review_queue_query_count_is_constant(client, catalog):
    """The queue costs the same for 2 and 20 submitted agencies: session and user (2), the
    memberships (1), the regulators with their industries (2), industry pages (1), the count
    (1), the page (1) with prefetched items (1) and certificates (1), and the filter form's
    region and industry lists (2) — fixed, whatever the page size."""
    reviewer = make_regulator_user(industries=["ecology"])
    login(client, reviewer)

    def make(n):
        for _ in range(n):
            agency = AgencyFactory(status=EnrolmentStatus.SUBMITTED)
            CertificateFactory(agency=agency)
            declare_items(agency, catalog["items"]["eia"])

    url = reverse("agencies:review_queue")
    make(2)
    small = _count(client, url)
    make(18)
    assert _count(client, url) == small


def test_change_request_submitted_in_portal_and_approved_by_regulator(client, catalog):
    agency = AgencyFactory(status=EnrolmentStatus.APPROVED)
    CertificateFactory(agency=agency)
    declare_items(agency, catalog["items"]["eia"])
    login(client, agency.admin_user)
    url = reverse("agencies:change_request_new", args=[agency.pk])
    response = client.post(url, {"kind": "legal_representative", "new_value": ""})
    assert response.status_code == 200
    assert "new_value" in response.context["change_form"].errors
    response = client.post(
        url,
        {"kind": "legal_representative", "new_value": "王二", "attachment": pdf("decision.pdf")},
    )
    assert response.status_code == 302
    change = agency.change_requests.get()
    reviewer = client_for(make_regulator_user(industries=["ecology"]))
    queue = reviewer.get(reverse("agencies:change_queue"))
    assert change in list(queue.context["page_obj"])
    # Rejecting needs a reason.
    detail = reverse("agencies:change_detail", args=[change.pk])
    assert reviewer.post(detail, {"decision": "reject"}).status_code == 200
    assert reviewer.post(detail, {"decision": "approve"}).status_code == 302
    agency.refresh_from_db()
    assert agency.legal_representative == "王二"
    assert agency.status == EnrolmentStatus.APPROVED
    # Another agency's member cannot see the request's document.
    other = AgencyFactory()
    login(client, other.admin_user)
    assert client.get(reverse("agencies:file", args=["change", change.pk])).status_code == 404


def test_withdraw_from_the_enrolment_page(client, catalog):
    agency = AgencyFactory(status=EnrolmentStatus.SUBMITTED, staff=True)
    page_url = reverse("agencies:enrolment", args=[agency.pk])
    withdraw_url = reverse("agencies:enrolment_withdraw", args=[agency.pk])

    # Staff may work on the enrolment but not withdraw it: no form, and a refused post.
    login(client, agency.staff_user)
    assert withdraw_url not in client.get(page_url).content.decode()
    client.post(withdraw_url, {"reason": "不再经营"})
    agency.refresh_from_db()
    assert agency.status == EnrolmentStatus.SUBMITTED

    client.logout()
    login(client, agency.admin_user)
    assert withdraw_url in client.get(page_url).content.decode()
    client.post(withdraw_url, {"reason": ""})  # a reason is required
    agency.refresh_from_db()
    assert agency.status == EnrolmentStatus.SUBMITTED
    client.post(withdraw_url, {"reason": "本机构停止中介服务业务"})
    agency.refresh_from_db()
    assert agency.status == EnrolmentStatus.WITHDRAWN
    assert agency.status_reason == "本机构停止中介服务业务"
