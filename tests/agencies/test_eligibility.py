import datetime

import pytest
from django.utils import timezone

from agencies import eligibility
from agencies.models import CertificateStatus, EnrolmentStatus
from tests.agencies.factories import AgencyFactory, CertificateFactory, declare_items

pytestmark = pytest.mark.django_db


def test_levels(items, types, km):
    a_holder = AgencyFactory()
    CertificateFactory(agency=a_holder, qualification_type=types["surveying"], level="甲级")
    b_holder = AgencyFactory()
    CertificateFactory(agency=b_holder, qualification_type=types["surveying"], level="乙级")
    assert eligibility.is_qualified(a_holder, items["survey_a"])
    assert eligibility.is_qualified(a_holder, items["survey_b"])  # 甲级 meets 乙级
    assert eligibility.is_qualified(b_holder, items["survey_b"])
    missing = eligibility.missing_qualifications(b_holder, items["survey_a"])  # 乙级 < 甲级
    assert len(missing) == 1 and "below the minimum level" in missing[0].explanation
    assert not eligibility.is_qualified(b_holder, items["eia"])


def test_expired_revoked_and_future_certificates_do_not_count(items, types, km):
    today = timezone.localdate()
    agency = AgencyFactory()
    CertificateFactory(
        agency=agency,
        valid_from=today - datetime.timedelta(days=800),
        valid_until=today - datetime.timedelta(days=1),
    )
    [check] = eligibility.missing_qualifications(agency, items["eia"])
    assert "expired" in check.explanation
    agency2 = AgencyFactory()
    CertificateFactory(agency=agency2, status=CertificateStatus.EXPIRED)
    assert not eligibility.is_qualified(agency2, items["eia"])
    agency3 = AgencyFactory()
    CertificateFactory(agency=agency3, status=CertificateStatus.REVOKED)
    assert "revoked" in eligibility.missing_qualifications(agency3, items["eia"])[0].explanation
    agency4 = AgencyFactory()
    CertificateFactory(agency=agency4, status=CertificateStatus.EXPIRING)
    assert eligibility.is_qualified(agency4, items["eia"])
    # the day before expiry it still counts, the day after not
    cert = agency4.certificates.get()
    assert eligibility.is_qualified(agency4, items["eia"], today=cert.valid_until)
    assert not eligibility.is_qualified(
        agency4, items["eia"], today=cert.valid_until + datetime.timedelta(days=1)
    )


def test_all_requirements_and_no_requirement(items, types, km):
    agency = AgencyFactory()
    CertificateFactory(
        agency=agency, qualification_type=types["engineering-consulting"], level="乙级"
    )
    missing = eligibility.missing_qualifications(agency, items["two"])
    assert [m.qualification_name for m in missing] == ["安全评价机构资质"]
    CertificateFactory(agency=agency, qualification_type=types["safety-assessment"], level="甲级")
    assert eligibility.is_qualified(agency, items["two"])
    assert eligibility.is_qualified(AgencyFactory(), items["free"])


def test_qualified_item_ids_batched_without_n_plus_one(items, types, km, django_assert_num_queries):
    agencies = []
    for level in ("甲级", "乙级", None):
        agency = AgencyFactory()
        if level:
            CertificateFactory(agency=agency, qualification_type=types["surveying"], level=level)
        agencies.append(agency)
    ids = [i.pk for i in items.values()]
    # items' requirements with their types (1), the agencies' usable certificates (1)
    with django_assert_num_queries(2):
        result = eligibility.qualified_item_ids_for(agencies, item_ids=ids)
    a, b, none = (result[x.pk] for x in agencies)
    assert a == {items["survey_a"].pk, items["survey_b"].pk, items["free"].pk}
    assert b == {items["survey_b"].pk, items["free"].pk}
    assert none == {items["free"].pk}
    assert eligibility.qualified_item_ids(agencies[0]) >= a  # every live item by default


def test_eligible_item_ids_needs_approval_and_declaration(items, types, km):
    agency = AgencyFactory(status=EnrolmentStatus.APPROVED)
    CertificateFactory(agency=agency)
    declare_items(agency, items["eia"], items["survey_b"])
    assert eligibility.eligible_item_ids(agency) == {items["eia"].pk}
    draft = AgencyFactory()
    CertificateFactory(agency=draft)
    declare_items(draft, items["eia"])
    assert eligibility.eligible_item_ids(draft) == set()


def test_explanations_in_chinese(items, km):
    from django.utils import translation

    agency = AgencyFactory()
    with translation.override("zh-hans"):
        [check] = eligibility.missing_qualifications(agency, items["survey_a"])
    assert "测绘资质" in check.explanation and "甲级" in check.explanation
