import datetime

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import Http404
from django.utils import timezone

from agencies import selectors
from agencies.models import EnrolmentStatus
from marketplace.permissions import has_perm
from tests.agencies.factories import (
    AgencyFactory,
    AgencyOrganisationFactory,
    CertificateFactory,
    PractitionerFactory,
    declare_items,
    make_regulator_user,
    platform_admin,
    region,
)

pytestmark = pytest.mark.django_db


def _submitted(item, *, days_ago=0, region_code="530100"):
    org = AgencyOrganisationFactory(region=region(region_code))
    agency = AgencyFactory(organisation=org, status=EnrolmentStatus.SUBMITTED)
    agency.submitted_at = timezone.now() - datetime.timedelta(days=days_ago)
    agency.save(update_fields=["submitted_at"])
    CertificateFactory(agency=agency)
    declare_items(agency, item)
    return agency


def test_review_queue_scope_filters_and_order(items, km):
    old = _submitted(items["eia"], days_ago=10)
    new = _submitted(items["eia"], days_ago=1)
    elsewhere = _submitted(items["eia"], region_code="530300")  # 曲靖
    survey = _submitted(items["survey_b"], days_ago=5)
    AgencyFactory(status=EnrolmentStatus.APPROVED)
    kunming_ecology = make_regulator_user(region=region("530100"), industries=["ecology"])
    assert list(selectors.review_queue(user=kunming_ecology)) == [old, new]
    yunnan_all = make_regulator_user(region=region("530000"), all_industries=True)
    assert list(selectors.review_queue(user=yunnan_all)) == [old, survey, new, elsewhere]
    assert list(selectors.review_queue(user=yunnan_all, industry="natural-resources")) == [survey]
    assert list(selectors.review_queue(user=yunnan_all, region=region("530300"))) == [elsewhere]
    assert list(selectors.review_queue(user=yunnan_all, min_age_days=3)) == [old, survey]
    assert list(selectors.review_queue(user=old.admin_user)) == []
    assert list(selectors.review_queue(user=platform_admin())) == []


def test_review_queue_constant_queries(items, km, django_assert_num_queries):
    reviewer = make_regulator_user(all_industries=True)
    _submitted(items["eia"])

    def evaluate():
        reviewer.__dict__.pop("_mp_memberships", None)
        rows = list(selectors.review_queue(user=reviewer))
        for agency in rows:
            seen = [d.service_item.title for d in agency.service_items.all()]
            seen += [c.qualification_type.name for c in agency.certificates.all()]
            seen.append(agency.organisation.region.name)
        return rows

    # memberships (1), regulators (1) + their industries (1), industry pages (1), agencies
    # with organisation and region (1), declared items with pages (1), certificates (1)
    with django_assert_num_queries(7):
        assert len(evaluate()) == 1
    for _ in range(4):
        _submitted(items["eia"])
    with django_assert_num_queries(7):
        assert len(evaluate()) == 5


def test_agency_for_member_is_404_for_others(km):
    agency = AgencyFactory(staff=True)
    assert selectors.agency_for_member(agency.staff_user, agency.pk) == agency
    for user in (
        AgencyFactory().admin_user,
        make_regulator_user(all_industries=True),
        AnonymousUser(),
    ):
        with pytest.raises(Http404):
            selectors.agency_for_member(user, agency.pk)
    with pytest.raises(Http404):
        selectors.agency_for_member(agency.admin_user, "abc")


def test_public_queryset_and_view_public(items, km, django_assert_num_queries):
    approved = AgencyFactory(status=EnrolmentStatus.APPROVED)
    CertificateFactory(agency=approved)
    CertificateFactory(agency=approved, status="expired")
    declare_items(approved, items["eia"])
    draft = AgencyFactory()
    with django_assert_num_queries(3):
        rows = list(selectors.agency_public_queryset())
        assert [len(a.valid_certificates) for a in rows] == [1]
        assert [len(a.service_items.all()) for a in rows] == [1]
    assert rows == [approved]
    assert has_perm(AnonymousUser(), "view_public", approved)
    assert not has_perm(AnonymousUser(), "view_public", draft)


def test_file_download_rule(items, km):
    agency = AgencyFactory(status=EnrolmentStatus.SUBMITTED, staff=True)
    declare_items(agency, items["eia"])
    cert = CertificateFactory(agency=agency)
    person = PractitionerFactory(agency=agency)
    allowed = [
        agency.admin_user,
        agency.staff_user,
        make_regulator_user(industries=["ecology"]),
    ]
    refused = [
        AgencyFactory().admin_user,
        make_regulator_user(industries=["water"]),
        make_regulator_user(region=region("530300"), all_industries=True),
        platform_admin(),
        AnonymousUser(),
    ]
    for obj in (cert, person):
        assert all(has_perm(u, "download", obj) for u in allowed)
        assert not any(has_perm(u, "download", obj) for u in refused)


def test_view_private(items, km):
    agency = AgencyFactory(status=EnrolmentStatus.SUBMITTED)
    declare_items(agency, items["eia"])
    assert has_perm(agency.admin_user, "view_private", agency)
    assert has_perm(platform_admin(), "view_private", agency)
    assert has_perm(make_regulator_user(industries=["ecology"]), "view_private", agency)
    assert not has_perm(AgencyFactory().admin_user, "view_private", agency)
    assert not has_perm(make_regulator_user(industries=["water"]), "view_private", agency)
