import pytest


@pytest.fixture(scope="module")
def base(module_db):
    """The catalog with fee rules (factories.make_base), once per module: Wagtail pages take
    seconds to publish. Tests using it must not be transactional."""
    from tests.procurement.factories import make_base

    return make_base()


@pytest.fixture
def world(base):
    """An owner, a project in 五华区 and four eligible agencies (factories.make_world)."""
    from tests.procurement.factories import make_world

    return make_world(base=base)


@pytest.fixture
def english():
    """Messages asserted in English (the msgids); the UI shows them in Chinese. Modules opt in
    with ``pytest.mark.usefixtures("english")``."""
    from django.utils import translation

    with translation.override("en"):
        yield
