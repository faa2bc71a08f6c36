"""Demo procurement (采购演示数据): project owner units, their projects and announcements in
every stage, produced through ``procurement.services`` so that the audit trail, the outbox
events and the draws are the real ones (each draw verifies with ``procurement/draw.py``).

Everything is labelled as demo data: the owner units' names end in "（演示）" (the core demo
owner keeps its "示例：" name), projects and announcements are ``illustrative=True``, USCCs are
minted by ``make_uscc`` (valid, not a real entity's), and the investment project codes use real
region codes with invented serial numbers.

Stages (one announcement each):

- ``open``: registration open, several demo agencies registered, the deadline a few minutes
  after loading, so that in the demo the deadline passes by itself and the in-process scheduler
  freezes the pool and draws (the demo sets ``MIN_REGISTRATION_WORKING_DAYS`` to 0);
- ``selected``: drawn, waiting for the selected agency to confirm;
- ``publicity``: confirmed, in its publicity period (公示);
- ``awarded``: the publicity ended, awarded, a contract draft created;
- ``failed``: too few registrants when registration closed (流标);
- ``direct``: a direct selection (直接选取), confirmed, in publicity.

The past stages are reached by calling the services with a ``now`` just after each deadline
(and, for the award, just after the publicity ends): the deadline must be in the future when an
announcement is published, so those moments lie minutes (or, with a working-day minimum, days)
ahead of the loading time; the audit events carry the real loading time.

Then ``procurement.demo_contracts`` loads the demo contracts: the awarded announcement's
contract with the owner's terms (a draft to walk through), and further awarded announcements
(same helpers: :func:`make_announcement` with ``Spec.stage``) whose contracts are in each stage
of fulfilment.

Needs the core demo, the catalog and the demo agencies (``agencies.demo``) loaded first.
Idempotent: an owner (by USCC), a project (by its code) or an announcement (by project and
title) that exists is left as it is, whatever state the scheduler has moved it to since.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from django.db import transaction
from django.utils import timezone

DEMO_SUFFIX = "（演示）"
OPEN_DEADLINE_MINUTES = 5  # the open announcement closes this long after loading
PAST_DEADLINE_MINUTES = 1  # the deadline of the announcements moved on at once

# (key, name, USCC prefix (16 characters), region, legal representative, contact, phone,
#  user e-mail, password, display name). "dianchi" is the core demo's owner organisation
# (owner@demo.example.com, marketplace/demo.py): it only gets its owner profile here.
_OWNERS = [
    (
        "wuhua",
        "昆明市五华区城市建设投资有限公司（演示）",
        "91530102MA6DEM11",
        "530102",
        "李建华",
        "杨晓梅",
        "0871-65301021",
        "wuhua.owner@demo.example.com",
        "demo-wuhua-2025",
        "五华城投项目负责人",
    ),
    (
        "dzys",
        "云南省滇中引水工程建设管理局（演示）",
        "12530111MB1DEM21",
        "530111",
        "张永平",
        "段丽萍",
        "0871-63211560",
        "dzys.owner@demo.example.com",
        "demo-dzys-2025",
        "滇中引水建管局项目负责人",
    ),
]
_CORE_OWNER_USCC_PREFIX = "91530100MA6DEM01"
_CORE_OWNER_EMAIL = "owner@demo.example.com"
_CORE_OWNER_PROFILE = {
    "legal_representative": "周国栋",
    "contact_name": "王海燕",
    "contact_phone": "0871-67488800",
}

# (key, owner key, name, 投资项目统一代码, region, total investment, description)
_PROJECTS = [
    (
        "wuhua-renovation",
        "wuhua",
        "五华区2025年城镇老旧小区改造提升项目（第二批）",
        "2025-530102-47-01-008712",
        "530102",
        "86500000.00",
        "对辖区内32个老旧小区实施水电气管网改造、外立面整治、加装电梯及配套设施提升。",
    ),
    (
        "wuhua-road",
        "wuhua",
        "五华区普吉路提升改造工程",
        "2026-530102-48-01-000356",
        "530102",
        "42000000.00",
        "普吉路全长2.1公里道路、排水及人行道提升改造，同步实施绿化和照明工程。",
    ),
    (
        "dzys-xishan",
        "dzys",
        "滇中引水二期昆明市配套工程（西山区段）",
        "2025-530112-76-01-000421",
        "530112",
        "386000000.00",
        "西山区段输水干渠、调蓄池及配水管网工程，输水线路长约18.6公里。",
    ),
    (
        "dianchi-flood",
        "dianchi",
        "呈贡区洛龙河片区防洪排涝设施提升工程",
        "2026-530114-78-01-000087",
        "530114",
        "23600000.00",
        "新建排涝泵站2座、改造雨水管渠4.3公里及配套监测设施。",
    ),
    (
        "dianchi-wwtp",
        "dianchi",
        "呈贡区吴家营片区污水处理厂提标改造工程",
        "2026-530114-77-01-000152",
        "530114",
        "58000000.00",
        (
            "处理规模5万立方米/日，出水标准由一级A提升至地表水准IV类，新建深度处理单元及"
            "配套除臭、污泥脱水设施。"
        ),
    ),
]


@dataclass(frozen=True)
class Spec:
    key: str
    project: str
    item_code: str
    title: str
    scope: str
    registrants: int = 6  # demo agencies that register (eligible ones, by USCC order)
    include_core_agency: bool = False  # the core demo agency (agency@demo.example.com)
    budget_cap: Decimal | None = None
    selected_count: int = 1
    alternate_count: int = 2
    stage: str = ""  # the stage to reach, when it is not ``key`` (the contract demo's specs)
    # Register agencies without a contract first, so that the demo's contracts (one per
    # awarded announcement) are with different agencies.
    fresh_agencies: bool = False

    @property
    def target(self) -> str:
        return self.stage or self.key


SPECS = [
    Spec(
        "open",
        "wuhua-road",
        "YN-ZJ-0013",
        "五华区普吉路提升改造工程环境影响报告表编制",
        "编制建设项目环境影响报告表，配合完成技术评估并取得环评批复文件。",
        registrants=6,
        include_core_agency=True,
    ),
    Spec(
        "selected",
        "wuhua-renovation",
        "YN-ZJ-0001",
        "五华区2025年城镇老旧小区改造提升项目（第二批）施工招标代理",
        "承担施工招标全过程代理：编制招标文件、发布公告、组织开标评标、发布中标候选人公示。",
        registrants=6,
    ),
    Spec(
        "publicity",
        "dzys-xishan",
        "YN-ZJ-0012",
        "滇中引水二期昆明市配套工程（西山区段）环境影响报告书编制",
        "编制环境影响报告书，开展现状监测与公众参与，配合技术评估并取得批复。",
        registrants=7,
    ),
    Spec(
        "awarded",
        "dzys-xishan",
        "YN-ZJ-0024",
        "滇中引水二期昆明市配套工程（西山区段）水土保持方案编制",
        "编制水土保持方案报告书并取得水行政主管部门批复。",
        registrants=8,
    ),
    Spec(
        "failed",
        "dzys-xishan",
        "YN-ZJ-0026",
        "滇中引水二期昆明市配套工程（西山区段）洪水影响评价报告编制",
        "编制洪水影响评价报告，论证工程对河道行洪及防洪设施的影响并提出防治措施。",
        registrants=2,  # fewer than the minimum of eligible registrants: 流标
    ),
    Spec(
        "direct",
        "dianchi-flood",
        "YN-ZJ-0027",
        "呈贡区洛龙河片区排涝泵站防雷装置检测",
        "对2座排涝泵站的防雷装置进行检测并出具检测报告。",
        budget_cap=Decimal("60000.00"),
    ),
]


def demo_user(email: str, password: str, display: str):
    from marketplace.models import User

    user = User.objects.filter(email__iexact=email).first() or User(email=email)
    changed = user.pk is None or not user.is_active or user.display_name != display
    user.display_name = display
    user.is_active = True
    if user.pk is None or not user.check_password(password):
        user.set_password(password)
        changed = True
    if changed:
        user.save()
    return user


def ensure_owners() -> tuple[dict, list[dict]]:
    """{key: Owner with .admin_user} and the demo accounts to print."""
    from marketplace import audit
    from marketplace.models import Organisation, Region, User
    from marketplace.validators import make_uscc
    from procurement import services
    from procurement.models import Owner

    owners, accounts = {}, []
    for key, name, prefix, region, legal, contact, phone, email, password, display in _OWNERS:
        user = demo_user(email, password, display)
        uscc = make_uscc(prefix)
        organisation = Organisation.objects.filter(uscc=uscc).first()
        if organisation is None:
            owner = services.owner_register(
                actor=user,
                name=name,
                uscc=uscc,
                region=Region.objects.get(code=region),
                legal_representative=legal,
                contact_name=contact,
                contact_phone=phone,
            )
        else:
            owner = organisation.owner
        owner.admin_user = user
        owners[key] = owner
        accounts.append(
            {"role": f"owner_{key}", "email": email, "password": password, "organisation": name}
        )

    organisation = Organisation.objects.filter(uscc=make_uscc(_CORE_OWNER_USCC_PREFIX)).first()
    user = User.objects.filter(email__iexact=_CORE_OWNER_EMAIL).first()
    if organisation is not None and user is not None:
        owner, created = Owner.objects.get_or_create(
            organisation=organisation, defaults=_CORE_OWNER_PROFILE
        )
        if created:
            audit.record(
                actor=None, action="owner.register", obj=owner, data={"uscc": organisation.uscc}
            )
        owner.admin_user = user
        owners["dianchi"] = owner
    return owners, accounts


def ensure_projects(owners: dict) -> dict:
    from marketplace.models import Region
    from procurement import services
    from procurement.models import Project

    projects = {}
    for key, owner_key, name, code, region, investment, description in _PROJECTS:
        owner = owners.get(owner_key)
        if owner is None:
            continue
        project = Project.objects.filter(code=code).first()
        if project is None:
            project = services.project_create(
                actor=owner.admin_user,
                owner=owner,
                name=name,
                code=code,
                region=Region.objects.get(code=region),
                total_investment=investment,
                description=description,
                illustrative=True,
            )
        project.admin_user = owner.admin_user
        projects[key] = project
    return projects


def _deadline(now: datetime.datetime, minutes: int) -> datetime.datetime:
    """``minutes`` after ``now``, moved to the first day the minimum of working days allows
    (same time of day) when that is later."""
    from marketplace import workdays
    from procurement import services

    wanted = timezone.localtime(now + datetime.timedelta(minutes=minutes), workdays.SHANGHAI)
    earliest = services.earliest_deadline(now)
    if wanted.date() < earliest:
        wanted = datetime.datetime.combine(earliest, wanted.timetz())
    return wanted


def _budget(item, project, cap: Decimal | None) -> Decimal:
    """90 % of the item's fee ceiling at the project's investment (rounded down to 100 yuan),
    at most ``cap``; a market-priced item (no fee rule) gets a plausible amount."""
    from cms.fees import api as fees

    rule = item.fee_rule
    budget = Decimal("180000.00")
    if rule is not None:
        amount = project.total_investment if rule.compiled.needs_amount else None
        ceiling = fees.fee_ceiling(rule, amount, category=item.fee_category or None)
        budget = (ceiling * Decimal("0.9") / 100).quantize(Decimal(1), ROUND_DOWN) * 100
    if cap is not None:
        budget = min(budget, cap)
    return budget.quantize(Decimal("0.01"))


def admin_of(agency):
    from marketplace.models import Membership, Role

    membership = (
        Membership.objects.filter(
            organisation_id=agency.organisation_id, role=Role.ADMIN, is_active=True
        )
        .select_related("user")
        .order_by("pk")
        .first()
    )
    return membership.user if membership else None


def _eligible_demo_agencies(announcement, *, include_core: bool) -> list:
    """The demo agencies eligible for ``announcement``, in USCC order (deterministic), the
    core demo agency first when asked for and eligible."""
    from agencies.demo import DEMO_SUFFIX as AGENCY_SUFFIX
    from agencies.models import Agency, EnrolmentStatus
    from marketplace.validators import make_uscc
    from procurement import eligibility

    core_uscc = make_uscc("91530102MA6DEM02")
    candidates = Agency.objects.filter(status=EnrolmentStatus.APPROVED).filter(
        organisation__name__endswith=AGENCY_SUFFIX
    ) | Agency.objects.filter(status=EnrolmentStatus.APPROVED, organisation__uscc=core_uscc)
    candidates = list(candidates.select_related("organisation").order_by("organisation__uscc"))
    outcomes = eligibility.evaluate(announcement, candidates)
    eligible = [a for a in candidates if outcomes[a.pk].eligible]
    core = [a for a in eligible if a.organisation.uscc == core_uscc]
    others = [a for a in eligible if a.organisation.uscc != core_uscc]
    return (core if include_core else []) + others


def _registration_of(announcement, agency):
    from procurement.models import Registration

    return Registration.objects.select_related("announcement", "agency__organisation").get(
        announcement=announcement, agency=agency
    )


def _confirm_selected(announcement) -> None:
    from procurement import services
    from procurement.models import Registration, RegistrationStatus

    for registration in Registration.objects.filter(
        announcement=announcement, status=RegistrationStatus.SELECTED
    ).select_related("announcement", "agency__organisation"):
        services.registration_confirm(
            actor=admin_of(registration.agency), registration=registration
        )


def make_announcement(spec: Spec, projects: dict, items: dict) -> str:
    """Creates, publishes and moves one announcement to its stage (``spec.target``); returns
    its status. ``projects`` as :func:`ensure_projects` returns them, ``items`` by code."""
    from procurement import services
    from procurement.models import Announcement, AnnouncementStatus, SelectionMethod

    project = projects[spec.project]
    actor = project.admin_user
    item = items[spec.item_code]
    now = timezone.now()
    fields = {
        "title": spec.title,
        "scope": spec.scope,
        "budget_ceiling": _budget(item, project, spec.budget_cap),
        "selected_count": spec.selected_count,
        "alternate_count": spec.alternate_count,
    }
    if spec.target == "direct":
        # The owner names an agency eligible for the item (checked again at publication).
        probe = Announcement(
            pk=0, project=project, service_item=item, requirements=_item_requirements(item)
        )
        agency = _eligible_demo_agencies(probe, include_core=False)[0]
        draft = services.announcement_create(
            actor=actor,
            project=project,
            service_item=item,
            illustrative=True,
            method=SelectionMethod.DIRECT,
            direct_agency=agency,
            direct_reason="项目紧急且金额较小，选取在本区域有同类泵站检测业绩的机构直接承接。",
            **{**fields, "alternate_count": 0},
        )
        announcement = services.announcement_publish(actor=actor, announcement=draft)
        _confirm_selected(announcement)
        announcement.refresh_from_db()
        return announcement.status

    minutes = OPEN_DEADLINE_MINUTES if spec.target == "open" else PAST_DEADLINE_MINUTES
    draft = services.announcement_create(
        actor=actor,
        project=project,
        service_item=item,
        illustrative=True,
        method=SelectionMethod.RANDOM_DRAW,
        registration_deadline=_deadline(now, minutes),
        **fields,
    )
    announcement = services.announcement_publish(actor=actor, announcement=draft)
    agencies = _eligible_demo_agencies(announcement, include_core=spec.include_core_agency)
    if spec.fresh_agencies:
        from procurement.models import Contract

        contracted = set(Contract.objects.values_list("agency_id", flat=True))
        agencies = sorted(agencies, key=lambda a: a.pk in contracted)  # stable: fresh first
    for agency in agencies[: spec.registrants]:
        services.registration_submit(
            actor=admin_of(agency), announcement=announcement, agency=agency
        )
    if spec.target == "open":
        return announcement.status

    after_deadline = announcement.registration_deadline + datetime.timedelta(seconds=1)
    outcome = services.close_registration(announcement.pk, now=after_deadline)
    if outcome == "closed":
        services.run_selection(announcement.pk, now=after_deadline)
    if spec.target in ("publicity", "awarded"):
        _confirm_selected(announcement)
    if spec.target == "awarded":
        announcement.refresh_from_db()
        if announcement.status == AnnouncementStatus.PUBLICITY:
            services.award_due(
                announcement.pk,
                now=announcement.publicity_ends_at + datetime.timedelta(seconds=1),
            )
    announcement.refresh_from_db()
    return announcement.status


def _item_requirements(item) -> list:
    from procurement.services import _requirements

    requirements, _errors = _requirements(item, {})
    return requirements


def service_items(specs) -> dict:
    """The live catalog items ``specs`` use, by code."""
    from cms.models import ServiceItemPage

    return {
        i.code: i
        for i in ServiceItemPage.objects.live()
        .filter(code__in=[s.item_code for s in specs])
        .select_related("fee_rule")
    }


def existing_announcement(spec: Spec, projects: dict):
    """The demo announcement of ``spec`` (by project and title), or None."""
    from procurement.models import Announcement

    project = projects.get(spec.project)
    if project is None:
        return None
    return Announcement.objects.filter(project=project, title=spec.title).first()


def ensure_announcement(spec: Spec, projects: dict, items: dict):
    """``(announcement, created)``: the existing one, left as it is, or a new one moved to its
    stage; ``(None, False)`` when its project or item is missing."""
    if projects.get(spec.project) is None or spec.item_code not in items:
        return None, False
    existing = existing_announcement(spec, projects)
    if existing is not None:
        return existing, False
    with transaction.atomic():
        make_announcement(spec, projects, items)
    return existing_announcement(spec, projects), True


def load_procurement_demo() -> dict:
    """Loads the demo procurement (idempotent), then the demo contracts
    (``procurement.demo_contracts``); returns ``{"accounts": [...], "announcements": {key:
    (code, status)}, "created": n, "contracts": {...}}``. The accounts are the owner units'
    demo logins and the agency login of the contract to walk through."""
    from procurement.demo_contracts import load_contract_demo

    with transaction.atomic():
        owners, accounts = ensure_owners()
        projects = ensure_projects(owners)
    items = service_items(SPECS)
    result, created = {}, 0
    for spec in SPECS:
        announcement, made = ensure_announcement(spec, projects, items)
        if announcement is None:
            continue
        created += made
        result[spec.key] = (announcement.code, announcement.status)
    contracts = load_contract_demo(projects=projects)
    return {
        "accounts": accounts + contracts["accounts"],
        "announcements": result,
        "created": created,
        "contracts": contracts,
    }


def summary_line(summary: dict) -> str:
    from procurement.demo_contracts import summary_line as contracts_line

    stages = ", ".join(
        f"{key} {code} ({status})" for key, (code, status) in summary["announcements"].items()
    )
    line = f"Demo procurement: {summary['created']} announcements created; {stages}."
    if "contracts" in summary:
        line += "\n" + contracts_line(summary["contracts"])
    return line
