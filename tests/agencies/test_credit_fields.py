"""Agency.save() leaves the credit fields to ratings.credit: a service holding an instance
loaded before a recompute must not write the old grade back."""

from decimal import Decimal

import pytest

from agencies.models import Agency
from tests.agencies.factories import AgencyFactory

pytestmark = pytest.mark.django_db


def test_a_stale_instance_does_not_overwrite_a_fresh_credit_score():
    agency = AgencyFactory()
    stale = Agency.objects.get(pk=agency.pk)
    Agency.objects.filter(pk=agency.pk).update(credit_grade="A", credit_score=Decimal("93.50"))
    stale.status_reason = "edited by another service"
    stale.save()
    fresh = Agency.objects.get(pk=agency.pk)
    assert (fresh.credit_grade, fresh.credit_score) == ("A", Decimal("93.50"))
    assert fresh.status_reason == "edited by another service"


def test_credit_fields_are_written_when_named_and_on_creation():
    agency = AgencyFactory()
    agency.credit_grade = "C"
    agency.save(update_fields=["credit_grade"])
    assert Agency.objects.get(pk=agency.pk).credit_grade == "C"


def test_a_deferred_instance_saves_without_loading_its_deferred_fields(
    django_assert_num_queries,
):
    agency = AgencyFactory()
    partial = Agency.objects.only("pk", "status", "status_reason").get(pk=agency.pk)
    partial.status_reason = "x"
    with django_assert_num_queries(1):
        partial.save()
