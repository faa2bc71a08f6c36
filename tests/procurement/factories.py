"""Builders for the procurement tests (and the other procurement test modules, the room and
the bench). Everything through the services where the services exist.

    world = make_world()              # catalog with fee rules, an owner with a project in
                                      # 五华区, four approved agencies qualified for ``eia``
    a = make_announcement(world)      # a published random draw of ``eia``, deadline in 3
                                      # working days (settings minimum), ceiling 10,000
    register_all(a, world.agencies)   # each agency's admin registers
    close_and_draw(a)                 # as the scheduler would at the deadline
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from types import SimpleNamespace

from django.utils import timezone

from agencies.models import EnrolmentStatus
from marketplace.models import Role
from procurement import services
from procurement.models import Announcement, Owner, SelectionMethod
from tests.agencies.factories import (
    AgencyFactory,
    CertificateFactory,
    add_member,
    declare_items,
    kunming,
    make_catalog,
    next_uscc,
    qtype,
    region,
)
from tests.marketplace.factories import UserFactory

WUHUA = "530102"  # 昆明市五华区


def make_owner(*, name: str = "昆明市五华区城市建设投资有限公司", legal="赵六") -> Owner:
    user = UserFactory()
    owner = services.owner_register(
        actor=user,
        name=name,
        uscc=next_uscc("530102"),
        region=region(WUHUA),
        legal_representative=legal,
        contact_name="钱七",
        contact_phone="0871-63330000",
    )
    owner.admin_user = user
    return owner


def make_project(owner: Owner, *, code: str = "", investment="8000000", where: str = WUHUA):
    return services.project_create(
        actor=owner.admin_user,
        owner=owner,
        name="五华区老旧小区改造项目",
        code=code,
        region=region(where),
        total_investment=investment,
    )


def make_eligible_agency(item, *, home: str = "530100", **kwargs):
    """An approved agency holding a valid 环境影响评价单位 certificate, declaring ``item``."""
    organisation_kwargs = {}
    if home:
        organisation_kwargs["organisation__region"] = region(home)
        organisation_kwargs["organisation__uscc"] = next_uscc(home)
    agency = AgencyFactory(status=EnrolmentStatus.APPROVED, **organisation_kwargs, **kwargs)
    CertificateFactory(agency=agency, qualification_type=qtype("eia-unit"))
    declare_items(agency, item)
    return agency


def make_base() -> dict:
    """The catalog (make_catalog) with the demo fee rules, ``eia`` priced by 招标代理 (services
    category, 1.5 % up to 1 M, float ±20 %). Seconds to build: module-scoped in tests
    (tests/procurement/conftest.py ``base``)."""
    from cms.fees.demo import load_fee_rules

    rules = load_fee_rules()
    return make_catalog(fee_rules={"eia": rules["zbdl-1980"], "eia_category": "services"})


def make_world(*, agencies: int = 4, fee_rule: bool = True, base: dict | None = None):
    """An owner with a project in 五华区 and ``agencies`` approved agencies eligible for
    ``eia``, on ``base`` (make_base(), built here when not given)."""
    catalog = base or (make_base() if fee_rule else make_catalog())
    item = catalog["items"]["eia"]
    owner = make_owner()
    project = make_project(owner)
    return SimpleNamespace(
        catalog=catalog,
        item=item,
        items=catalog["items"],
        owner=owner,
        project=project,
        agencies=[make_eligible_agency(item) for _ in range(agencies)],
    )


def deadline(days: int | None = None) -> datetime.datetime:
    """A deadline that satisfies the minimum (the settings' working days, +1 for margin)."""
    from django.conf import settings

    from marketplace import workdays

    n = days if days is not None else settings.PROCUREMENT["MIN_REGISTRATION_WORKING_DAYS"] + 1
    return workdays.deadline_at(timezone.localdate(), n)


def draft(world, **fields) -> Announcement:
    values = {
        "title": "五华区老旧小区改造项目环境影响评价",
        "scope": "编制环境影响报告表并取得批复",
        "budget_ceiling": Decimal(10000),
        "method": SelectionMethod.RANDOM_DRAW,
        "registration_deadline": deadline(),
        "selected_count": 1,
        "alternate_count": 2,
    }
    values.update(fields)
    return services.announcement_create(
        actor=world.owner.admin_user,
        project=fields.pop("project", world.project),
        service_item=values.pop("service_item", world.item),
        **{k: v for k, v in values.items() if k != "project"},
    )


def make_announcement(world, **fields) -> Announcement:
    announcement = draft(world, **fields)
    return services.announcement_publish(actor=world.owner.admin_user, announcement=announcement)


def register_all(announcement, agencies) -> list:
    return [
        services.registration_submit(
            actor=agency.admin_user, announcement=announcement, agency=agency
        )
        for agency in agencies
    ]


def pass_deadline(announcement) -> datetime.datetime:
    """A moment just after the announcement's registration deadline."""
    announcement.refresh_from_db()
    return announcement.registration_deadline + datetime.timedelta(seconds=1)


def close_and_draw(announcement) -> str:
    now = pass_deadline(announcement)
    outcome = services.close_registration(announcement.pk, now=now)
    if outcome == "closed":
        outcome = services.run_selection(announcement.pk, now=now)
    announcement.refresh_from_db()
    return outcome


def make_awarded_contract(world, **fields):
    """An announcement drawn, confirmed and awarded: its contract draft (one milestone for the
    whole price, an Oscar order)."""
    from marketplace.models import Membership, Role
    from procurement.models import Contract, RegistrationStatus

    announcement = make_announcement(world, **fields)
    register_all(announcement, world.agencies)
    close_and_draw(announcement)
    selected = announcement.registrations.get(status=RegistrationStatus.SELECTED)
    agency_admin = Membership.objects.get(
        organisation_id=selected.agency.organisation_id, role=Role.ADMIN
    ).user
    services.registration_confirm(actor=agency_admin, registration=selected)
    announcement.refresh_from_db()
    after = announcement.publicity_ends_at + datetime.timedelta(seconds=1)
    assert services.award_due(announcement.pk, now=after) == "awarded"
    return Contract.objects.get(announcement=announcement)


def login(client, user):
    """``client`` logged in as ``user``, with English pages (assertions use the msgids)."""
    client.force_login(user)
    client.cookies["django_language"] = "en"
    return client


def text(response) -> str:
    return response.content.decode()


def owner_member(owner: Owner, role=Role.STAFF):
    return add_member(owner.organisation, role)


__all__ = [
    "WUHUA",
    "close_and_draw",
    "deadline",
    "draft",
    "kunming",
    "make_announcement",
    "make_awarded_contract",
    "make_eligible_agency",
    "make_owner",
    "make_project",
    "make_world",
    "owner_member",
    "pass_deadline",
    "register_all",
]
