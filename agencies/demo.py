"""Demo agencies: ``load_agencies_demo()`` creates 216 realistic agencies in Yunnan, spread over
the prefectures and trades, in every enrolment state, plus the enrolment of the core demo
agency (agency@demo.example.com's organisation), approved with offerings on the shelf.

Labelled as demo data: every generated organisation's name ends in "（演示）" (like the core
demo's regulators), its USCC is minted by ``make_uscc`` (valid, not a real entity's) and every
e-mail address is under example.com. Deterministic (seeded): a rerun creates nothing new and
changes nothing — agencies whose USCC exists are skipped. Runs on SQLite in a few seconds.

States are written in the constructors (bulk), not through the enrolment services: no audit
events or notifications are produced for the demo's past. Offerings go through
``agencies.shelf.offering_save`` (the real ceiling check, Oscar products, audit), each approved
agency acting through its own demo administrator (an e-mail-only user without a usable
password)."""

from __future__ import annotations

import datetime
import random
from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction
from django.utils import timezone

from agencies.generate import (
    PROFILE_BY_KEY,
    Catalog,
    Counties,
    SpecFactory,
    authority_for,
    certificate_number,
)

SEED = 20251121
DEMO_SUFFIX = "（演示）"
DEMO_AGENCY_EMAIL = "agency@demo.example.com"
REVIEWER_EMAIL = "reviewer@demo.example.com"
ECOLOGY_REVIEWER_EMAIL = "ecology.reviewer@demo.example.com"

# How many demo agencies per enrolment state (216 in all).
STATE_COUNTS = {
    "approved": 130,
    "submitted": 28,
    "returned": 14,
    "draft": 16,
    "suspended": 16,
    "withdrawn": 12,
}
RETURN_REASONS = [
    {"legal_representative": "法定代表人姓名与营业执照不一致，请核对后修改。"},
    {"business_licence": "营业执照扫描件不清晰，请上传清晰完整的彩色扫描件。"},
    {"registered_address": "注册地址应与营业执照登记的住所一致。",
     "contact_phone": "联系电话无法接通，请提供有效的联系电话。"},
    {"practitioners": "执业人员社保缴纳证明缺失，请补充近三个月的社保缴纳记录。"},
    {"certificates": "资质证书扫描件与填写的证书编号不一致。"},
    {"business_scope": "经营范围应与营业执照一致，不得自行扩大。"},
]
SUSPENSION_REASONS = [
    "资质证书已过期，暂停至上传有效证书并重新审核通过。",
    "所持资质证书已过期，无可执业的服务事项，系统自动暂停。",
]
WITHDRAWAL_REASONS = ["机构申请撤回入驻。", "机构业务调整，申请退出中介服务超市。"]
_REFERENCE_AMOUNTS = (Decimal(5000000), Decimal(20000000), Decimal(100000000))
_CENT = Decimal("0.01")


def _users():
    from marketplace.models import User

    users = {u.email.lower(): u for u in User.objects.filter(
        email__in=[DEMO_AGENCY_EMAIL, REVIEWER_EMAIL, ECOLOGY_REVIEWER_EMAIL]
    )}
    return users


def _regulator_of(user):
    from marketplace.models import OrganisationKind

    membership = user.memberships.filter(organisation__kind=OrganisationKind.REGULATOR).first()
    return membership.organisation if membership else None


def _state_plan(rng: random.Random) -> list[str]:
    plan = [state for state, n in STATE_COUNTS.items() for _ in range(n)]
    rng.shuffle(plan)
    return plan


@transaction.atomic
def load_agencies_demo(*, today: datetime.date | None = None) -> dict:
    """Creates the demo agencies (idempotent); returns a summary ``{"agencies", "created",
    "by_status", "offerings", "expiring_certificates", "expired_certificates"}``. Needs the
    core demo (regions, users), the qualification types and the catalog loaded first."""
    from agencies.models import Agency, EnrolmentStatus
    from marketplace.models import Organisation, OrganisationKind
    from marketplace.reference import ensure_qualification_types
    from marketplace.validators import make_uscc

    today = today or timezone.localdate()
    ensure_qualification_types()
    rng = random.Random(SEED)
    counties = Counties.load()
    catalog = Catalog()
    users = _users()
    factory = SpecFactory(rng, counties, today=today, name_suffix=DEMO_SUFFIX)

    specs = []
    for state in _state_plan(rng):
        cert_state = "valid"
        if state == "suspended":
            cert_state = "expired"
        elif state == "approved" and rng.random() < 0.15:
            cert_state = "expiring"
        spec = factory.build(cert_state=cert_state)
        # Some approved agencies renewed a certificate: the old one stays, expired.
        if state == "approved" and rng.random() < 0.12:
            main = spec.certificates[0]
            old = factory.certificate(
                main.code, {main.level: 1} if main.level else None, "expired"
            )
            spec.certificates.append(old)
        specs.append((state, spec))

    existing = set(
        Organisation.objects.filter(uscc__in=[s.uscc for _, s in specs]).values_list(
            "uscc", flat=True
        )
    )
    todo = [(state, s) for state, s in specs if s.uscc not in existing]
    created = _create(todo, catalog=catalog, users=users, rng=rng, today=today)

    # The core demo agency (agency@demo.example.com): approved, with offerings.
    core_uscc = make_uscc("91530102MA6DEM02")
    core_org = Organisation.objects.filter(uscc=core_uscc, kind=OrganisationKind.AGENCY).first()
    if core_org is not None and not Agency.objects.filter(organisation=core_org).exists():
        spec = factory.build(profile=PROFILE_BY_KEY["eia"], practitioners=4)
        spec.name, spec.uscc, spec.county_code = core_org.name, core_uscc, "530102"
        spec.certificates = [
            factory.certificate("eia-unit", None, "valid"),
            factory.certificate("cma", None, "expiring"),
        ]
        created += _create(
            [("approved", spec)], catalog=catalog, users=users, rng=rng, today=today,
            organisations={core_uscc: core_org}, admin=users.get(DEMO_AGENCY_EMAIL),
            offerings=4,
        )

    from agencies.models import Offering, QualificationCertificate

    demo_q = {"organisation__name__endswith": DEMO_SUFFIX}
    agencies = Agency.objects.filter(**demo_q) | Agency.objects.filter(
        organisation__uscc=core_uscc
    )
    by_status = {s: agencies.filter(status=s).count() for s in EnrolmentStatus.values}
    certs = QualificationCertificate.objects.filter(agency__in=agencies)
    return {
        "agencies": agencies.count(),
        "created": created,
        "by_status": by_status,
        "offerings": Offering.objects.filter(agency__in=agencies).count(),
        "expiring_certificates": certs.filter(status="expiring").count(),
        "expired_certificates": certs.filter(status="expired").count(),
    }


def summary_line(summary: dict) -> str:
    states = ", ".join(f"{k} {v}" for k, v in summary["by_status"].items())
    return (
        f"Demo agencies: {summary['agencies']} ({states}); {summary['offerings']} offerings; "
        f"certificates expiring {summary['expiring_certificates']}, "
        f"expired {summary['expired_certificates']}."
    )


def _create(todo, *, catalog: Catalog, users: dict, rng: random.Random, today: datetime.date,
            organisations: dict | None = None, admin=None, offerings: int | None = None) -> int:
    from agencies.models import (
        Agency,
        AgencyServiceItem,
        EnrolmentReview,
        Practitioner,
        QualificationCertificate,
        ReviewDecision,
    )
    from marketplace.models import Membership, Organisation, OrganisationKind, Role, User

    if not todo:
        return 0
    now = timezone.now()
    organisations = dict(organisations or {})
    new_orgs = Organisation.objects.bulk_create(
        [
            Organisation(kind=OrganisationKind.AGENCY, name=s.name, uscc=s.uscc,
                         region_id=s.county_code)
            for _, s in todo if s.uscc not in organisations
        ]
    )
    organisations.update({o.uscc: o for o in new_orgs})

    agencies = []
    for state, s in todo:
        submitted = None
        if state != "draft":
            # Pending ones spread over 0–45 days of waiting (the queue's age filter).
            age = rng.randint(0, 45) if state == "submitted" else rng.randint(20, 700)
            submitted = now - datetime.timedelta(days=age, hours=rng.randint(0, 23))
        reason = ""
        if state == "suspended":
            reason = rng.choice(SUSPENSION_REASONS)
        elif state == "withdrawn":
            reason = rng.choice(WITHDRAWAL_REASONS)
        agencies.append(
            Agency(
                organisation=organisations[s.uscc],
                legal_representative=s.legal_representative,
                registered_address=s.address,
                contact_name=s.contact_name,
                contact_phone=s.contact_phone,
                contact_email=s.contact_email,
                business_scope=s.profile.scope,
                commitment_accepted_at=submitted,
                status=state,  # in the constructor: the FSM field is protected
                submitted_at=submitted,
                approved_at=(
                    submitted + datetime.timedelta(days=rng.randint(1, 8))
                    if state in ("approved", "suspended") else None
                ),
                status_reason=reason,
            )
        )
    agencies = Agency.objects.bulk_create(agencies)

    serial = QualificationCertificate.objects.count() + 1
    certs, people, declared, reviews = [], [], [], []
    province_reviewer = users.get(REVIEWER_EMAIL)
    ecology_reviewer = users.get(ECOLOGY_REVIEWER_EMAIL)
    regulators = {
        u.pk: _regulator_of(u) for u in (province_reviewer, ecology_reviewer) if u is not None
    }
    plan = []
    for (state, s), agency in zip(todo, agencies, strict=True):
        for c in s.certificates:
            certs.append(QualificationCertificate(
                agency=agency,
                qualification_type=catalog.types[c.code],
                level=c.level,
                certificate_number=certificate_number(c.code, c.level, c.year, serial),
                issuing_authority=authority_for(c.code, c.level),
                valid_from=c.valid_from,
                valid_until=c.valid_until,
                status=c.status,
            ))
            serial += 1
        for name, id_number, prof in s.practitioners:
            people.append(Practitioner(agency=agency, name=name, id_number=id_number,
                                       professional_certificates=prof))
        items = catalog.qualified_items(s.certificates, usable_only=False)
        if len(items) > 2 and rng.random() < 0.3:
            items = sorted(rng.sample(items, k=len(items) - 1))
        declared += [AgencyServiceItem(agency=agency, service_item_id=i) for i in items]
        # Who reviews: the Kunming ecology bureau for Kunming's environmental agencies,
        # otherwise the provincial development and reform commission (all industries).
        reviewer = province_reviewer
        if (ecology_reviewer is not None and s.profile.key == "eia"
                and s.county_code.startswith("5301") and rng.random() < 0.7):
            reviewer = ecology_reviewer
        if reviewer is not None and regulators.get(reviewer.pk) is not None:
            if state == "returned":
                reasons = dict(rng.choice(RETURN_REASONS))
                reviews.append(EnrolmentReview(
                    agency=agency, reviewer=reviewer, regulator=regulators[reviewer.pk],
                    decision=ReviewDecision.RETURN, field_reasons=reasons,
                    comment="材料不符合要求，请按各项意见修改后重新提交。",
                ))
            elif state in ("approved", "suspended", "withdrawn") and agency.approved_at:
                reviews.append(EnrolmentReview(
                    agency=agency, reviewer=reviewer, regulator=regulators[reviewer.pk],
                    decision=ReviewDecision.APPROVE, comment="材料齐全，符合入驻条件。",
                ))
        if state == "approved":
            plan.append((agency, s, items))
    QualificationCertificate.objects.bulk_create(certs)
    Practitioner.objects.bulk_create(people)
    AgencyServiceItem.objects.bulk_create(declared)
    EnrolmentReview.objects.bulk_create(reviews)

    # Approved (and once-approved suspended) agencies are Oscar partners; approved ones list
    # offerings through the shelf service, each acting as its own administrator.
    from agencies.shelf import partner_sync

    for (state, s), agency in zip(todo, agencies, strict=True):
        if state not in ("approved", "suspended"):
            continue
        actor = admin
        if actor is None:
            email = f"admin.{s.uscc[-8:].lower()}@agency.example.com"
            actor = User.objects.filter(email=email).first() or User(email=email)
            actor.display_name = s.contact_name
            actor.set_unusable_password()
            actor.save()
        Membership.objects.get_or_create(
            user=actor, organisation=agency.organisation, defaults={"role": Role.ADMIN}
        )
        partner_sync(agency=agency)
    for agency, s, items in plan:
        actor = admin or User.objects.get(email=f"admin.{s.uscc[-8:].lower()}@agency.example.com")
        count = offerings if offerings is not None else rng.randint(1, 3)
        for item_id in items[:count]:
            _offer(agency, catalog.items[item_id], actor=actor, rng=rng)
    return len(todo)


def _offer(agency, item, *, actor, rng: random.Random) -> None:
    """One offering within the ceiling: 80–100 % of the ceiling (fixed rules, or amount-based
    rules at a reference amount), or a 5–20 % discount rate on the standard fee, or a market
    price for items without a fee rule."""
    from agencies.shelf import offering_save
    from cms.fees import api as fees

    days = max(1, item.time_limit_days - rng.randint(0, item.time_limit_days // 3))
    kwargs = {"pricing_mode": "price"}
    rule, category = item.fee_rule, item.fee_category or None
    if rule is None:
        kwargs["price"] = Decimal(rng.randrange(30, 400) * 100)
    elif rng.random() < 0.4:
        kwargs = {"pricing_mode": "discount", "discount_rate": Decimal(rng.randint(5, 20))}
    else:
        ceiling, amount = None, None
        for amount in (None, *_REFERENCE_AMOUNTS):
            try:
                ceiling = fees.fee_ceiling(rule, amount, category=category)
                break
            except fees.FeeError:
                continue
        if ceiling is None:
            kwargs["pricing_mode"], kwargs["discount_rate"] = "discount", Decimal(10)
        else:
            factor = Decimal(rng.randint(80, 100)) / 100
            kwargs["price"] = (ceiling * factor).quantize(_CENT, rounding=ROUND_HALF_UP)
            kwargs["reference_amount"] = amount
    offering_save(
        actor=actor, agency=agency, service_item=item, turnaround_days=days,
        description=f"{agency.organisation.name}承接{item.title}，按合同约定时限完成并出具成果文件。",
        **kwargs,
    )
