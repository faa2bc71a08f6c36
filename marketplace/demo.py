"""Demo data of the core: regions, industries, organisations of every kind and one user per
role. Every organisation is marked as demo data in its name or is a well-known public body
used only as a sample; every USCC is minted by ``make_uscc`` (valid, but not a real entity's).
Idempotent: rerunning updates in place."""

from __future__ import annotations

from django.db import transaction

from marketplace.models import (
    Membership,
    Organisation,
    OrganisationKind,
    Region,
    Role,
    User,
)
from marketplace.reference import ensure_industries
from marketplace.services import regions_load
from marketplace.validators import make_uscc

DEMO_PROVINCE = "53"  # Yunnan

# (key, kind, name, 16-char USCC prefix or "", region code, scope region, scope industries)
_ORGANISATIONS = [
    (
        "platform",
        OrganisationKind.PLATFORM,
        "中介服务超市运营中心（演示）",
        "",
        "530000",
        None,
        None,
    ),
    (
        "regulator-province",
        OrganisationKind.REGULATOR,
        "云南省发展和改革委员会（演示）",
        "",
        "530000",
        "530000",
        "all",
    ),
    (
        "regulator-kunming-ecology",
        OrganisationKind.REGULATOR,
        "昆明市生态环境局（演示）",
        "",
        "530100",
        "530100",
        ["ecology"],
    ),
    (
        "owner",
        OrganisationKind.OWNER,
        "示例：昆明市滇池新区投资建设有限公司",
        "91530100MA6DEM01",
        "530100",
        None,
        None,
    ),
    (
        "agency",
        OrganisationKind.AGENCY,
        "示例：云南滇峰环境科技咨询有限公司",
        "91530102MA6DEM02",
        "530102",
        None,
        None,
    ),
]

# (role label, e-mail, password, display name, organisation key, membership role, is_superuser)
_USERS = [
    (
        "platform_admin",
        "platform@demo.example.com",
        "demo-platform-2025",
        "平台管理员",
        "platform",
        Role.PLATFORM_ADMIN,
        True,
    ),
    (
        "regulator_reviewer",
        "reviewer@demo.example.com",
        "demo-reviewer-2025",
        "审核员（省发改委）",
        "regulator-province",
        Role.REVIEWER,
        False,
    ),
    (
        "regulator_supervisor",
        "supervisor@demo.example.com",
        "demo-supervisor-2025",
        "监管负责人（省发改委）",
        "regulator-province",
        Role.SUPERVISOR,
        False,
    ),
    (
        "regulator_reviewer_kunming_ecology",
        "ecology.reviewer@demo.example.com",
        "demo-ecology-2025",
        "审核员（昆明市生态环境局）",
        "regulator-kunming-ecology",
        Role.REVIEWER,
        False,
    ),
    (
        "owner_admin",
        "owner@demo.example.com",
        "demo-owner-2025",
        "业主单位管理员",
        "owner",
        Role.ADMIN,
        False,
    ),
    (
        "agency_admin",
        "agency@demo.example.com",
        "demo-agency-2025",
        "中介机构管理员",
        "agency",
        Role.ADMIN,
        False,
    ),
]


@transaction.atomic
def load_core_demo(*, province: str | None = None) -> list[dict]:
    """Loads the core demo data; returns the demo accounts as
    ``[{"role", "email", "password", "organisation"}]`` for the caller to print.
    ``province`` limits the regions loaded (default: all of China)."""
    regions_load(province=province)
    industries = ensure_industries()
    regions = Region.objects.in_bulk([row[4] for row in _ORGANISATIONS] + ["530000", "530100"])

    organisations: dict[str, Organisation] = {}
    for key, kind, name, uscc_prefix, region_code, scope_code, scope_inds in _ORGANISATIONS:
        uscc = make_uscc(uscc_prefix) if uscc_prefix else ""
        lookup = {"uscc": uscc} if uscc else {"kind": kind, "name": name}
        org, _created = Organisation.objects.update_or_create(
            **lookup,
            defaults={
                "kind": kind,
                "name": name,
                "region": regions.get(region_code),
                "scope_region": regions.get(scope_code) if scope_code else None,
                "scope_all_industries": scope_inds == "all",
                "is_active": True,
            },
        )
        org.full_clean()
        if isinstance(scope_inds, list):
            org.scope_industries.set([industries[code] for code in scope_inds])
        organisations[key] = org

    accounts = []
    for label, email, password, display, org_key, role, superuser in _USERS:
        user = User.objects.filter(email__iexact=email).first() or User(email=email)
        user.display_name = display
        user.is_active = True
        user.is_staff = superuser
        user.is_superuser = superuser
        user.set_password(password)
        user.save()
        Membership.objects.update_or_create(
            user=user,
            organisation=organisations[org_key],
            defaults={"role": role, "is_active": True},
        )
        accounts.append(
            {
                "role": label,
                "email": email,
                "password": password,
                "organisation": organisations[org_key].name,
            }
        )
    return accounts
