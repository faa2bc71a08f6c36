import pytest
from django.core.exceptions import ValidationError

from cms.models import QualificationRequirement
from marketplace.reference import ensure_qualification_types

pytestmark = pytest.mark.django_db


def test_minimum_level_must_be_one_of_the_types_levels():
    types = ensure_qualification_types()
    QualificationRequirement(qualification=types["surveying"], minimum_level="乙级").clean()
    QualificationRequirement(qualification=types["surveying"], minimum_level="").clean()
    with pytest.raises(ValidationError) as exc:
        QualificationRequirement(qualification=types["surveying"], minimum_level="丙级").clean()
    assert "minimum_level" in exc.value.message_dict
    with pytest.raises(ValidationError):
        QualificationRequirement(qualification=types["eia-unit"], minimum_level="甲级").clean()


def test_demo_catalog_requirements_point_at_reference_types(demo_catalog):
    rows = QualificationRequirement.objects.select_related("qualification")
    assert rows.exists()
    for row in rows:
        row.clean()  # every demo minimum level is one of its type's levels
