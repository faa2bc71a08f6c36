"""The bulk generator (manage.py generate_agencies)."""

import io
import json
import time

import pytest
from django.core.management import call_command

from agencies.models import Agency, AgencyServiceItem, Practitioner, QualificationCertificate
from agencies.validators import resident_id_check_char
from marketplace.models import Organisation
from marketplace.validators import is_valid_uscc

pytestmark = pytest.mark.django_db


@pytest.fixture
def reference(db):
    from cms.demo import load_catalog
    from cms.fees.demo import load_fee_rules
    from marketplace.reference import ensure_qualification_types
    from marketplace.services import regions_load

    regions_load(province="53")
    ensure_qualification_types()
    load_fee_rules()
    load_catalog()


def _run(count, seed=1):
    out = io.StringIO()
    call_command("generate_agencies", count=count, seed=seed, batch=200, json=True, stdout=out)
    return json.loads(out.getvalue())


def test_generates_valid_unique_agencies_fast(reference):
    started = time.perf_counter()
    result = _run(500)
    elapsed = time.perf_counter() - started
    assert result["agencies"] == 500 and result["rows"] > 2000
    assert elapsed < 30, elapsed
    rows = list(Organisation.objects.filter(kind="agency").values_list("name", "uscc"))
    assert len(rows) == 500
    assert all(is_valid_uscc(u) for _, u in rows)
    assert len({u for _, u in rows}) == 500 and len({n for n, _ in rows}) == 500
    statuses = set(Agency.objects.values_list("status", flat=True))
    assert "approved" in statuses and "submitted" in statuses
    assert Agency.objects.filter(status="approved").count() > 350
    for number in Practitioner.objects.values_list("id_number", flat=True):
        assert resident_id_check_char(number[:17]) == number[17]
    assert QualificationCertificate.objects.count() >= 500
    assert AgencyServiceItem.objects.count() >= 500


def test_runs_twice_without_collisions(reference):
    _run(300, seed=7)
    _run(300, seed=7)  # same seed again: names and USCCs still new
    usccs = list(Organisation.objects.filter(kind="agency").values_list("uscc", flat=True))
    assert len(usccs) == 600 == len(set(usccs))
    numbers = QualificationCertificate.objects.values_list(
        "qualification_type_id", "certificate_number")
    assert len(set(numbers)) == len(numbers)
