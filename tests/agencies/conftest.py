import pytest

from tests.agencies.factories import kunming, make_catalog


@pytest.fixture
def catalog(db):
    """Five live items with qualification requirements; see factories.make_catalog."""
    return make_catalog()


@pytest.fixture
def items(catalog):
    return catalog["items"]


@pytest.fixture
def types(catalog):
    return catalog["types"]


@pytest.fixture
def km(db):
    """昆明市 (Yunnan's division tree loaded)."""
    return kunming()


@pytest.fixture(autouse=True)
def _english_messages():
    """Assertions match the English msgids."""
    from django.utils import translation

    with translation.override("en"):
        yield
