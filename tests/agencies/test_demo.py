"""The demo agencies (agencies/demo.py): realistic, valid, in every state, idempotent."""

import datetime

import pytest
from django.utils import timezone

from agencies.demo import DEMO_SUFFIX, STATE_COUNTS, load_agencies_demo
from agencies.generate import Catalog
from agencies.models import (
    Agency,
    AgencyServiceItem,
    EnrolmentReview,
    EnrolmentStatus,
    Offering,
    Practitioner,
    QualificationCertificate,
)
from agencies.validators import resident_id_check_char
from marketplace.models import Organisation
from marketplace.validators import is_valid_uscc

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """Core demo (Yunnan), catalog and the demo agencies, loaded once for the module."""
    from cms.demo import load_catalog
    from cms.fees.demo import load_fee_rules
    from marketplace.demo import load_core_demo

    with django_db_blocker.unblock():
        from django.db import connection, transaction

        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            load_core_demo(province="53")
            load_fee_rules()
            load_catalog()
            summary = load_agencies_demo()
            yield summary
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)
            connection.close()


def _demo_agencies():
    return Agency.objects.filter(organisation__name__endswith=DEMO_SUFFIX)


def test_at_least_200_agencies_in_every_state(demo):
    assert demo["agencies"] >= 200
    for state in EnrolmentStatus.values:
        assert demo["by_status"][state] >= 1, state
    counts = {s: _demo_agencies().filter(status=s).count() for s in STATE_COUNTS}
    assert counts == STATE_COUNTS
    assert counts["approved"] > sum(counts.values()) / 2
    # Spread over prefectures and trades.
    prefectures = {code[:4] for code in _demo_agencies().values_list(
        "organisation__region_id", flat=True)}
    assert len(prefectures) >= 10
    types = set(QualificationCertificate.objects.values_list("qualification_type__code", flat=True))
    assert len(types) >= 12


def test_usccs_valid_and_unique_and_names_unique(demo):
    rows = list(Organisation.objects.filter(kind="agency").values_list("name", "uscc",
                                                                       "region_id"))
    usccs = [u for _, u, _ in rows]
    assert all(is_valid_uscc(u) for u in usccs)
    assert len(set(usccs)) == len(usccs)
    assert len({n for n, _, _ in rows}) == len(rows)
    for name, uscc, region in rows:
        if name.endswith(DEMO_SUFFIX):
            assert uscc[:2] == "91" and uscc[2:8] == region  # registered in its county


def test_practitioners_have_valid_id_numbers(demo):
    today = timezone.localdate()
    people = list(Practitioner.objects.filter(agency__in=_demo_agencies()).select_related(
        "agency__organisation"))
    assert len(people) >= 2 * demo["agencies"] - 10
    for p in people:
        n = p.id_number
        assert len(n) == 18 and n[:17].isdigit()
        assert resident_id_check_char(n[:17]) == n[17]
        born = datetime.date(int(n[6:10]), int(n[10:12]), int(n[12:14]))
        assert datetime.date(1960, 1, 1) <= born <= today - datetime.timedelta(days=20 * 365)
        assert n[:6] == p.agency.organisation.region_id
        assert p.professional_certificates and p.professional_certificates[0]["name"]


def test_certificates_consistent_with_dates(demo):
    today = timezone.localdate()
    certs = QualificationCertificate.objects.select_related("qualification_type")
    assert demo["expiring_certificates"] > 0 and demo["expired_certificates"] > 0
    for c in certs:
        assert c.valid_until >= c.valid_from
        left = (c.valid_until - today).days
        if c.status == "expired":
            assert left < 0
        elif c.status == "expiring":
            assert 0 <= left <= 30
        else:
            assert c.status == "valid" and left > 30
        levels = c.qualification_type.levels
        assert (c.level in levels) if levels else c.level == ""
        assert c.certificate_number and c.issuing_authority
    # Suspended agencies are those whose certificate expired.
    for agency in _demo_agencies().filter(status="suspended"):
        assert agency.status_reason
        assert agency.certificates.filter(status="expired").exists()


def test_declared_items_are_qualified_and_offerings_within_ceiling(demo):
    from agencies.eligibility import qualified_item_ids

    catalog = Catalog()
    assert AgencyServiceItem.objects.filter(agency__in=_demo_agencies()).count() >= demo["agencies"]
    for agency in Agency.objects.filter(status="approved"):
        declared = set(agency.service_items.values_list("service_item_id", flat=True))
        assert declared, agency
        assert declared <= qualified_item_ids(agency), agency
        for offering in agency.offerings.select_related("service_item__fee_rule"):
            assert offering.service_item_id in declared
    assert demo["offerings"] == Offering.objects.count() > 100
    assert not Offering.objects.exclude(agency__status="approved").exists()
    assert catalog.items


def test_reviews_and_the_core_demo_agency(demo):
    returned = EnrolmentReview.objects.filter(decision="return")
    assert returned.count() == STATE_COUNTS["returned"]
    assert all(r.field_reasons for r in returned)
    reviewers = set(EnrolmentReview.objects.values_list("reviewer__email", flat=True))
    assert "reviewer@demo.example.com" in reviewers
    ages = {
        (timezone.now() - a.submitted_at).days
        for a in Agency.objects.filter(status="submitted")
    }
    assert min(ages) <= 2 and max(ages) >= 30
    core = Agency.objects.get(organisation__memberships__user__email="agency@demo.example.com")
    assert core.status == "approved" and core.partner_id
    assert core.offerings.count() >= 2


def test_rerun_changes_nothing(demo):
    counts = (Organisation.objects.count(), Agency.objects.count(),
              QualificationCertificate.objects.count(), Practitioner.objects.count(),
              Offering.objects.count(), EnrolmentReview.objects.count())
    again = load_agencies_demo()
    assert again["created"] == 0
    assert again["by_status"] == demo["by_status"]
    assert counts == (Organisation.objects.count(), Agency.objects.count(),
                      QualificationCertificate.objects.count(), Practitioner.objects.count(),
                      Offering.objects.count(), EnrolmentReview.objects.count())
