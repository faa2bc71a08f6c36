"""The demo loader is idempotent."""

import pytest
from django.contrib.auth import get_user_model
from wagtail.models import Page, Revision, Site

from cms.models import (
    ApprovalMatter,
    IndustryPage,
    LegalBasis,
    NoticePage,
    PolicyPage,
    QualificationRequirement,
    ServiceItemPage,
)

pytestmark = pytest.mark.django_db


def _counts():
    return {
        "pages": Page.objects.count(),
        "industries": IndustryPage.objects.count(),
        "items": ServiceItemPage.objects.count(),
        "matters": ApprovalMatter.objects.count(),
        "legal": LegalBasis.objects.count(),
        "quals": QualificationRequirement.objects.count(),
        "notices": NoticePage.objects.count(),
        "policies": PolicyPage.objects.count(),
        "revisions": Revision.objects.count(),
        "sites": Site.objects.count(),
        "users": get_user_model().objects.count(),
    }


def test_load_catalog_twice_changes_nothing():
    from cms.demo import load_catalog

    first = load_catalog()
    before = _counts()
    second = load_catalog()
    assert _counts() == before
    assert first["items"] == second["items"] >= 30
    assert second["industries"] >= 6
    assert {a["email"] for a in second["accounts"]} == {
        "catalog.editor@demo.example",
        "catalog.reviewer@demo.example",
    }
    assert Site.objects.get(is_default_site=True).root_page.specific == first["home"]
