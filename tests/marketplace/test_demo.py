import pytest
from django.contrib.auth import authenticate

from marketplace.demo import load_core_demo
from marketplace.models import Membership, Organisation, OrganisationKind, Region, User
from marketplace.permissions import has_perm, regulator_covers
from marketplace.selectors import is_platform_admin
from marketplace.validators import is_valid_uscc

pytestmark = pytest.mark.django_db


@pytest.fixture
def accounts():
    # Yunnan only, to keep the test quick; the default loads all of China.
    return load_core_demo(province="53")


def test_demo_accounts_log_in_with_their_printed_passwords(accounts):
    roles = {a["role"] for a in accounts}
    assert {
        "platform_admin",
        "regulator_reviewer",
        "regulator_supervisor",
        "owner_admin",
        "agency_admin",
    } <= roles
    for account in accounts:
        user = authenticate(email=account["email"], password=account["password"])
        assert user is not None, account["email"]
        assert Membership.objects.get(user=user).organisation.name == account["organisation"]
    admin = User.objects.get(email="platform@demo.example.com")
    assert admin.is_staff and admin.is_superuser and is_platform_admin(admin)


def test_demo_organisations(accounts):
    for org in Organisation.objects.exclude(uscc=""):
        assert is_valid_uscc(org.uscc)
    assert Organisation.objects.filter(kind=OrganisationKind.OWNER).exclude(uscc="").exists()
    assert Organisation.objects.filter(kind=OrganisationKind.AGENCY).exclude(uscc="").exists()
    province = Organisation.objects.get(name__startswith="云南省发展和改革委员会")
    ecology = Organisation.objects.get(name__startswith="昆明市生态环境局")
    wuhua, qujing = Region.objects.get(code="530102"), Region.objects.get(code="530300")
    assert regulator_covers(province, qujing, "water")
    assert regulator_covers(ecology, wuhua, "ecology")
    assert not regulator_covers(ecology, wuhua, "water")
    assert not regulator_covers(ecology, qujing, "ecology")
    owner_admin = User.objects.get(email="owner@demo.example.com")
    owner = Organisation.objects.get(kind=OrganisationKind.OWNER)
    assert has_perm(owner_admin, "manage", owner)
    assert not has_perm(owner_admin, "view", Organisation.objects.get(kind="agency"))


def test_demo_is_idempotent(accounts):
    counts = (Organisation.objects.count(), User.objects.count(), Membership.objects.count())
    again = load_core_demo(province="53")
    assert again == accounts
    assert (Organisation.objects.count(), User.objects.count(), Membership.objects.count()) == (
        counts
    )
