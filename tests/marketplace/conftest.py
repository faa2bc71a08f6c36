import pytest

from marketplace.services import regions_load


@pytest.fixture
def yunnan(db):
    """Yunnan's real division tree (one bulk upsert, ~150 rows)."""
    regions_load(province="53")
    from marketplace.models import Region

    return Region.objects.get(code="530000")


@pytest.fixture(autouse=True)
def _english_messages():
    """Assertions match the English msgids; the Chinese catalogue is tested explicitly."""
    from django.utils import translation

    with translation.override("en"):
        yield
