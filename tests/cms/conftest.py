import pytest

from cms.demo import ensure_home, ensure_sections
from marketplace.reference import ensure_industries


@pytest.fixture
def site_tree(db):
    """Home (site root), catalog index, notices and policies; no industries or items."""
    home = ensure_home()
    sections = ensure_sections(home)
    return {"home": home, **sections}


@pytest.fixture
def industries(db):
    return ensure_industries()


@pytest.fixture
def fee_rules(db):
    from cms.fees.demo import load_fee_rules

    return load_fee_rules()


@pytest.fixture
def demo_catalog(db):
    from cms.demo import load_catalog

    return load_catalog()


@pytest.fixture
def zh(client):
    """A client speaking the default language (zh-hans)."""
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "zh-hans"
    return client
