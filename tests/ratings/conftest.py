"""Fixtures of the ratings tests: the procurement ones (the catalog ``base`` once per module,
a ``world`` of an owner, a project and four eligible agencies, ``english`` messages)."""

import pytest

from tests.procurement.conftest import base, english, world  # noqa: F401


@pytest.fixture
def client(client):
    """Pages in English (the language cookie): the assertions use the msgids, and the UI is
    Chinese by default."""
    client.cookies["django_language"] = "en"
    return client
