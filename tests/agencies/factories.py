"""factory_boy factories and small builders for the agencies tests (reused by every agencies
test module: enrolment, shelf, expiry, change requests, views).

    agency = AgencyFactory()                        # draft, Kunming, one admin member
    agency.admin_user / agency.staff_user           # the members (staff only if staff=True)
    AgencyFactory(status="approved", staff=True)
    CertificateFactory(agency=agency, qualification_type=qtype("surveying"), level="甲级")
    catalog = make_catalog()                        # a few items with requirements, see below
    reviewer = make_regulator_user(region=kunming(), industries=["ecology"])
"""

from __future__ import annotations

import datetime
import itertools

import factory
from django.utils import timezone

from agencies.models import (
    Agency,
    AgencyServiceItem,
    CertificateStatus,
    EnrolmentStatus,
    Practitioner,
    QualificationCertificate,
)
from agencies.validators import make_resident_id
from marketplace.models import (
    Membership,
    Organisation,
    OrganisationKind,
    QualificationType,
    Region,
    Role,
)
from marketplace.validators import make_uscc
from tests.marketplace.factories import UserFactory, platform_admin  # noqa: F401 (re-export)

_uscc_seq = itertools.count(1)


def next_uscc(region_code: str = "530100") -> str:
    """A fresh valid 统一社会信用代码 (enterprise, registered in ``region_code``)."""
    n = next(_uscc_seq)
    return make_uscc(f"91{region_code}{n + 10_000_000:08d}")


# --- regions and reference lists --------------------------------------------------------------


def yunnan_regions() -> None:
    """Loads Yunnan's real division tree once per test transaction (one bulk upsert)."""
    if not Region.objects.filter(code="530100").exists():
        from marketplace.services import regions_load

        regions_load(province="53")


def region(code: str) -> Region:
    yunnan_regions()
    return Region.objects.get(code=code)


def kunming() -> Region:
    return region("530100")  # 昆明市


def qtype(code: str) -> QualificationType:
    """A reference qualification type by code (e.g. "surveying": 测绘资质 甲级/乙级)."""
    found = QualificationType.objects.filter(code=code).first()
    if found is None:
        from marketplace.reference import ensure_qualification_types

        found = ensure_qualification_types()[code]
    return found


# --- organisations and users ------------------------------------------------------------------


def add_member(organisation: Organisation, role: str = Role.ADMIN, user=None):
    user = user or UserFactory()
    Membership.objects.create(user=user, organisation=organisation, role=role)
    return user


def make_regulator(
    *,
    region: Region | None = None,
    industries=(),
    all_industries: bool = False,
    name: str | None = None,
) -> Organisation:
    """A regulator organisation supervising ``region``'s subtree in ``industries`` (codes or
    Industry rows)."""
    from marketplace.models import Industry
    from marketplace.reference import ensure_industries

    ensure_industries()
    org = Organisation.objects.create(
        kind=OrganisationKind.REGULATOR,
        name=name or f"监管部门{next(_uscc_seq)}",
        scope_region=region or kunming(),
        scope_all_industries=all_industries,
    )
    rows = [i if isinstance(i, Industry) else Industry.objects.get(code=i) for i in industries]
    if rows:
        org.scope_industries.set(rows)
    return org


def make_regulator_user(*, role: str = Role.REVIEWER, **scope):
    """A user who is ``role`` (reviewer or supervisor) of a new regulator; see make_regulator."""
    org = make_regulator(**scope)
    return add_member(org, role)


# --- agencies ---------------------------------------------------------------------------------


class AgencyOrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation

    kind = OrganisationKind.AGENCY
    name = factory.Sequence(lambda n: f"云南测试咨询有限公司{n}")
    uscc = factory.LazyFunction(next_uscc)
    region = factory.LazyFunction(kunming)


class AgencyFactory(factory.django.DjangoModelFactory):
    """An agency (draft unless ``status=`` is given) with an admin member
    (``agency.admin_user``) and, with ``staff=True``, a staff member (``agency.staff_user``).
    ``status`` is set at creation (the FSM field is protected afterwards); submitted/approved
    agencies get their timestamps."""

    class Meta:
        model = Agency
        skip_postgeneration_save = True

    organisation = factory.SubFactory(AgencyOrganisationFactory)
    legal_representative = "张三"
    registered_address = "云南省昆明市五华区测试路1号"
    contact_name = "李四"
    contact_phone = "0871-65550000"
    contact_email = factory.Sequence(lambda n: f"agency{n}@test.example.com")
    business_scope = "工程咨询；测绘服务；环境影响评价"
    business_licence = factory.django.FileField(filename="licence.pdf", data=b"%PDF-1.4\n%test\n")
    commitment_accepted_at = factory.LazyFunction(timezone.now)
    status = EnrolmentStatus.DRAFT
    submitted_at = factory.LazyAttribute(
        lambda o: (
            timezone.now()
            if o.status in (EnrolmentStatus.SUBMITTED, EnrolmentStatus.APPROVED)
            else None
        )
    )
    approved_at = factory.LazyAttribute(
        lambda o: timezone.now() if o.status == EnrolmentStatus.APPROVED else None
    )

    @factory.post_generation
    def admin_user(obj, create, extracted, **kwargs):
        if create:
            obj.admin_user = add_member(obj.organisation, Role.ADMIN, user=extracted)

    @factory.post_generation
    def staff(obj, create, extracted, **kwargs):
        obj.staff_user = (
            add_member(obj.organisation, Role.STAFF) if (create and extracted) else None
        )


class CertificateFactory(factory.django.DjangoModelFactory):
    """A valid certificate (two years left) of 环境影响评价单位 unless told otherwise."""

    class Meta:
        model = QualificationCertificate

    agency = factory.SubFactory(AgencyFactory)
    qualification_type = factory.LazyFunction(lambda: qtype("eia-unit"))
    level = ""
    certificate_number = factory.Sequence(lambda n: f"ZS-{n:06d}")
    issuing_authority = "云南省生态环境厅"
    valid_from = factory.LazyFunction(lambda: timezone.localdate() - datetime.timedelta(days=365))
    valid_until = factory.LazyFunction(lambda: timezone.localdate() + datetime.timedelta(days=730))
    status = CertificateStatus.VALID


class PractitionerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Practitioner

    agency = factory.SubFactory(AgencyFactory)
    name = factory.Sequence(lambda n: f"王{'一二三四五六七八九十'[n % 10]}")
    id_number = factory.Sequence(lambda n: make_resident_id(f"530102198{n % 10}0101{n % 1000:03d}"))
    professional_certificates = factory.LazyFunction(
        lambda: [{"name": "注册测绘师", "number": "CH-0001"}]
    )


def declare_items(agency: Agency, *items) -> None:
    """Declares service items directly (no checks) — for arranging tests."""
    for item in items:
        AgencyServiceItem.objects.get_or_create(agency=agency, service_item=item)


# --- a small catalog --------------------------------------------------------------------------


def make_catalog(*, fee_rules: dict | None = None) -> dict:
    """Home, catalog and industry pages (cms.demo helpers), plus five live items whose
    requirements point at the reference qualification types:

    ``eia``        ecology — 环境影响评价单位 (ungraded)
    ``survey_b``   natural-resources — 测绘资质 at least 乙级
    ``survey_a``   natural-resources — 测绘资质 at least 甲级
    ``two``        development — 工程咨询单位 乙级 AND 安全评价机构资质 乙级
    ``free``       ecology — no requirement (any approved agency qualifies)

    ``fee_rules`` maps those keys to a FeeRule (and optionally "<key>_category") for the
    shelf tests. Returns {"items": {key: page}, "types": {code: QualificationType},
    "industry_pages": {...}, "catalog": page}."""
    from cms.demo import ensure_home, ensure_industry_pages, ensure_sections
    from cms.models import QualificationRequirement as Req
    from marketplace.reference import ensure_qualification_types
    from tests.cms.factories import make_item

    fee_rules = fee_rules or {}
    types = ensure_qualification_types()
    sections = ensure_sections(ensure_home())
    pages = ensure_industry_pages(sections["catalog"])
    specs = {
        "eia": ("ecology", [Req(qualification=types["eia-unit"], minimum_level="")]),
        "survey_b": (
            "natural-resources",
            [Req(qualification=types["surveying"], minimum_level="乙级")],
        ),
        "survey_a": (
            "natural-resources",
            [Req(qualification=types["surveying"], minimum_level="甲级")],
        ),
        "two": (
            "development",
            [
                Req(qualification=types["engineering-consulting"], minimum_level="乙级"),
                Req(qualification=types["safety-assessment"], minimum_level="乙级"),
            ],
        ),
        "free": ("ecology", []),
    }
    items = {}
    for key, (industry, requirements) in specs.items():
        items[key] = make_item(
            pages[industry],
            requirements=requirements,
            fee_rule=fee_rules.get(key),
            fee_category=fee_rules.get(f"{key}_category", ""),
        )
    return {
        "items": items,
        "types": types,
        "industry_pages": pages,
        "catalog": sections["catalog"],
    }
