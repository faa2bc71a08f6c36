"""Demo ratings, complaints and sanctions (评价、投诉与失信惩戒演示数据), produced through the
real services (``ratings.rating``, ``ratings.complaints``, ``ratings.sanctions``,
``ratings.credit``), so that the audit trail, the notices, the enforcement (shelf, search,
registration and draws) and the credit are the real ones.

Loaded by ``load_demo`` after the demo procurement and contracts (``procurement.demo``), on
the demo agencies (``agencies.demo``) and the core demo's logins (``marketplace.demo``):

1. **Rating** (服务评价): the demo contract in state ``accepted`` (普吉路勘测定界,
   ``procurement.demo_contracts``) is rated by its owner (``wuhua.owner@demo.example.com``)
   and the agency replies (its administrator, an e-mail-only user); the agency's credit is
   then recomputed at once, so that its grade shows on its profile and in search.
2. **Complaint** (投诉举报): the owner of the overdue demo contract
   (``dzys.owner@demo.example.com``) complains about its agency; the regulator in charge
   accepts it, the agency states its case, the regulator investigates and upholds it; the
   outcome is published (``/ratings/complaints/…``), the credit follows.
2b. **Public complaint**: a member of the public (``citizen@demo.example.com``, the code read
   from the outbox as they would read their e-mail) complains about the agency of the
   extended demo contract; the regulator accepts it and the agency's statement is awaited
   (answering it starts the investigation); the summary prints the citizen's tracking link.
3. **Market ban** (市场禁入, four eyes): proposed by ``reviewer@demo.example.com`` and
   approved by ``supervisor@demo.example.com`` (云南省发展和改革委员会（演示）) on a demo
   agency in Kunming that has no contract nor registration in the other demo scenes; it
   takes effect today for a year (off the shelf, out of search, registration and draws); the
   agency appeals and a regulator neither proposing nor approving
   (``ecology.reviewer@demo.example.com``, 昆明市生态环境局（演示）, when it covers the agency,
   else ``appeals.reviewer@demo.example.com`` / demo-appeals-2025 of the provincial regulator)
   upholds it.
4. **Suspension** (暂停参与选取): proposed by the reviewer on another such agency, in effect
   at once, from today until tomorrow (a sanction cannot start in the past): the scheduler's
   job ``ratings.sanctions`` (``sanctions.expire_due``) ends it on schedule the day after
   tomorrow, as it ends the ban a year from now.

Everything is on the public blacklist (``/ratings/blacklist/``) with its reason, legal basis,
period and appeal outcome. Texts are labelled “（演示）”.

Idempotent: each scene is found by its text (the rating by its contract) and left alone when
it exists, whatever happened to it since; each scene runs in a transaction of its own.
"""

from __future__ import annotations

import datetime
import logging
import re

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

logger = logging.getLogger(__name__)

DEMO = "（演示）"
REVIEWER_EMAIL = "reviewer@demo.example.com"
SUPERVISOR_EMAIL = "supervisor@demo.example.com"
ECOLOGY_REVIEWER_EMAIL = "ecology.reviewer@demo.example.com"

RATING_SCORES = {"quality": 5, "timeliness": 5, "attitude": 5, "fees": 4, "compliance": 5}
RATING_COMMENT = (
    "外业测量组按约定时间进场，界址点布设和坐标测量规范，勘测定界报告书、界址点成果表和勘测"
    "定界图一次性提交且资料齐全，经抽检复核无误。沟通及时，对现场提出的调整意见响应迅速。收"
    "费在合同约定范围内，略高于同类项目平均水平。总体满意。" + DEMO
)
RATING_REPLY = (
    "感谢贵单位的肯定与信任。我们将继续严格执行测绘技术规范，在保证成果质量的前提下进一步"
    "优化作业组织、控制成本，欢迎今后继续监督指导。" + DEMO
)

COMPLAINT_SUBJECT = "水资源论证报告书编制逾期未提交且未说明原因" + DEMO
COMPLAINT_DESCRIPTION = (
    "我单位与该机构签订滇中引水二期昆明市配套工程（西山区段）水资源论证报告书编制合同，合同"
    "约定的完成日期已过，该机构至今未提交报告书送审稿，经我单位多次电话催告仍未说明原因，也"
    "未按合同约定申请延期，已影响项目取水许可申请进度。请监管部门依法调查处理。" + DEMO
)
COMPLAINT_STATEMENT = (
    "我单位承认报告书未能按期提交。原因是项目取水口下游水文站资料调取延误，且未及时向业主"
    "书面申请延期，沟通不到位。目前送审稿已完成约八成，承诺五个工作日内提交。" + DEMO
)
COMPLAINT_DECISION = (
    "经调查，被投诉机构未在合同约定期限内提交水资源论证报告书，逾期期间未向业主书面说明原因或"
    "申请延期，投诉事实成立。责令该机构于5个工作日内提交报告书送审稿，并纳入信用评价记录。" + DEMO
)

BAN_REASON = "FALSE_RESULT"
BAN_DAYS = 365
BAN_FACTS = (
    "经查，该机构在承接的建设项目环境影响评价文件编制中，引用与项目无关的监测数据并伪造现场"
    "踏勘记录，出具的中介服务成果严重失实。依据相关规定，拟对其实施市场禁入一年。" + DEMO
)
APPEAL_GROUNDS = (
    "我单位对处理决定认定的事实有异议：相关监测数据系委托第三方检测机构取得，现场踏勘记录"
    "为项目负责人补记，并非伪造。请求撤销市场禁入决定。" + DEMO
)
APPEAL_DECISION = (
    "经复核，第三方检测报告的采样点位与项目所在地不符，现场踏勘记录的日期早于项目委托日期，"
    "申诉理由不能成立，维持原处理决定。" + DEMO
)

SUSPENSION_REASON = "OVERCHARGE"
SUSPENSION_FACTS = (
    "经查，该机构在服务过程中超出合同约定范围另行收取“加急费”，违反中介服务收费有关规定。"
    "暂停其参与中介服务选取，期限至次日届满（演示：由定时任务按期结束）。" + DEMO
)


def _user(email: str):
    from marketplace.models import User

    return User.objects.filter(email__iexact=email, is_active=True).first()


def _org_admin(organisation_id: int):
    from marketplace.models import Membership, Role

    membership = (
        Membership.objects.filter(organisation_id=organisation_id, role=Role.ADMIN, is_active=True)
        .select_related("user")
        .order_by("pk")
        .first()
    )
    return membership.user if membership else None


def _demo_contract(key: str):
    """The demo contract of stage ``key`` (procurement.demo_contracts), found by its
    announcement's title."""
    from procurement.demo_contracts import CONTRACTS
    from procurement.models import Contract

    spec = next(s for s in CONTRACTS if s.key == key)
    return (
        Contract.objects.filter(illustrative=True, announcement__title=spec.announcement.title)
        .select_related("agency__organisation", "owner__organisation")
        .order_by("pk")
        .first()
    )


# --- 1. the rating ------------------------------------------------------------------------------


def _rating_scene() -> tuple[dict | None, bool]:
    from ratings import credit
    from ratings.models import Rating
    from ratings.rating import rating_reply, rating_submit

    contract = _demo_contract("accepted")
    if contract is None:
        logger.warning("ratings demo: no accepted demo contract; no rating")
        return None, False
    made = False
    rating = Rating.objects.filter(contract=contract).first()
    if rating is None:
        owner_user = _org_admin(contract.owner.organisation_id)
        try:
            with transaction.atomic():
                rating = rating_submit(
                    actor=owner_user, contract=contract, comment=RATING_COMMENT, **RATING_SCORES
                )
                rating = rating_reply(
                    actor=_org_admin(contract.agency.organisation_id),
                    rating=rating,
                    reply=RATING_REPLY,
                )
        except (ValidationError, PermissionDenied) as exc:  # e.g. the time to rate is over
            logger.warning("ratings demo: rating of %s refused: %s", contract.code, exc)
            return None, False
        # At once (the outbox would do it after commit): the grade on the profile and in search.
        credit.recompute([contract.agency_id], "rating.submit")
        made = True
    contract.agency.refresh_from_db()
    return {
        "contract": contract.code,
        "agency": contract.agency.organisation.name,
        "average": str(rating.average),
        "grade": contract.agency.credit_grade,
        "score": str(contract.agency.credit_score),
        "owner_login": rating.rated_by.email,
    }, made


# --- 2. the complaint ---------------------------------------------------------------------------


APPEALS_EMAIL = "appeals.reviewer@demo.example.com"
APPEALS_PASSWORD = "demo-appeals-2025"


def _appeals_reviewer(colleague):
    """A reviewer of ``colleague``'s regulator who hears appeals (demo login)."""
    from marketplace.models import Membership, Role
    from procurement.demo import demo_user

    user = demo_user(APPEALS_EMAIL, APPEALS_PASSWORD, "申诉复核人员（演示）")
    membership = Membership.objects.filter(
        user=colleague, role__in=(Role.REVIEWER, Role.SUPERVISOR)
    ).first()
    if membership is not None:
        Membership.objects.get_or_create(
            user=user, organisation_id=membership.organisation_id, defaults={"role": Role.REVIEWER}
        )
    return user


def _handler(complaint):
    """A reviewer or supervisor of the regulator in charge (the demo's regulator logins)."""
    from ratings.complaint_rules import is_handler

    for email in (REVIEWER_EMAIL, ECOLOGY_REVIEWER_EMAIL, SUPERVISOR_EMAIL):
        user = _user(email)
        if user is not None and is_handler(user, complaint):
            return user
    return None


def _complaint_scene() -> tuple[dict | None, bool]:
    from ratings import complaints
    from ratings.models import ComplainantKind, Complaint

    complaint = Complaint.objects.filter(subject=COMPLAINT_SUBJECT).order_by("pk").first()
    made = False
    if complaint is None:
        contract = _demo_contract("overdue")
        if contract is None:
            logger.warning("ratings demo: no overdue demo contract; no complaint")
            return None, False
        with transaction.atomic():
            complaint = complaints.complaint_file(
                actor=_org_admin(contract.owner.organisation_id),
                complainant_kind=ComplainantKind.OWNER,
                agency=contract.agency,
                subject=COMPLAINT_SUBJECT,
                description=COMPLAINT_DESCRIPTION,
            )
            handler = _handler(complaint)
            if handler is None:
                raise RuntimeError(f"ratings demo: no demo login handles {complaint.code}")
            complaints.complaint_accept(actor=handler, complaint=complaint)
            complaints.complaint_statement(
                actor=_org_admin(contract.agency.organisation_id),
                complaint=complaint,
                statement=COMPLAINT_STATEMENT,
            )  # which starts the investigation
            complaint = complaints.complaint_decide(
                actor=handler, complaint=complaint, upheld=True, decision=COMPLAINT_DECISION
            )
        made = True
    complaint.refresh_from_db()
    return {
        "code": complaint.code,
        "status": complaint.status,
        "agency": complaint.agency.organisation.name,
        "regulator": complaint.regulator.name if complaint.regulator_id else "",
        "complainant_login": complaint.complainant.email if complaint.complainant_id else "",
        "handler_login": complaint.decided_by.email if complaint.decided_by_id else "",
    }, made


PUBLIC_CONTACT = "citizen@demo.example.com"
# The complained-about agency's administrator gets a password, to answer in the walk-through.
ANSWERING_AGENCY_PASSWORD = "demo-answer-2025"
PUBLIC_NAME = "王女士（演示）"
PUBLIC_SUBJECT = "服务收费高于公示的收费标准" + DEMO
PUBLIC_DESCRIPTION = (
    "本人作为项目周边居民，了解到该机构在本项目中收取的技术服务费高于平台公示的收费标准，"
    "且未向业主出具收费明细。请监管部门核查。"
)


def _public_complaint_scene() -> tuple[dict | None, bool]:
    """A member of the public's complaint, accepted and waiting for the agency's statement:
    the walk-through follows it by its private link and, as the agency, answers it (which
    starts the investigation)."""
    from marketplace.models import OutboxMessage
    from ratings import complaints
    from ratings.models import ComplainantKind, Complaint

    complaint = Complaint.objects.filter(subject=PUBLIC_SUBJECT).order_by("pk").first()
    made = False
    if complaint is None:
        contract = _demo_contract("extended")
        if contract is None:
            logger.warning("ratings demo: no extended demo contract; no public complaint")
            return None, False
        with transaction.atomic():
            complaints.contact_verification_start(contact=PUBLIC_CONTACT, ip_address="127.0.0.1")
            # The code as the citizen reads it in the e-mail (the outbox holds it until sent).
            mail = (
                OutboxMessage.objects.filter(topic="email.send", payload__to=[PUBLIC_CONTACT])
                .order_by("-pk")
                .first()
            )
            code = re.search(r"\b(\d{6})\b", mail.payload["body"]).group(1)
            complaint = complaints.complaint_file(
                complainant_kind=ComplainantKind.PUBLIC,
                agency=contract.agency,
                subject=PUBLIC_SUBJECT,
                description=PUBLIC_DESCRIPTION,
                public_name=PUBLIC_NAME,
                public_contact=PUBLIC_CONTACT,
                verification_code=code,
                ip_address="127.0.0.1",
            )
            handler = _handler(complaint)
            if handler is None:
                raise RuntimeError(f"ratings demo: no demo login handles {complaint.code}")
            complaints.complaint_accept(actor=handler, complaint=complaint)
        made = True
    complaint.refresh_from_db()
    admin = _org_admin(complaint.agency.organisation_id)
    if admin is not None:
        from procurement.demo import demo_user

        demo_user(admin.email, ANSWERING_AGENCY_PASSWORD, admin.display_name)
    return {
        "code": complaint.code,
        "status": complaint.status,
        "agency": complaint.agency.organisation.name,
        "agency_login": getattr(admin, "email", ""),
        "tracking_url": complaints.tracking_url(complaint, absolute=True),
    }, made


# --- 3. and 4. the sanctions --------------------------------------------------------------------


def _busy_agency_ids() -> set[int]:
    """Agencies in the other demo scenes: with a contract, a registration or a complaint."""
    from procurement.models import Contract, Registration
    from ratings.models import Complaint, Sanction

    return (
        set(Contract.objects.values_list("agency_id", flat=True))
        | set(Registration.objects.values_list("agency_id", flat=True))
        | set(Complaint.objects.exclude(agency=None).values_list("agency_id", flat=True))
        | set(Sanction.objects.values_list("agency_id", flat=True))
    )


def _free_agency(users: list, *, exclude: set[int]):
    """The first approved demo agency (by USCC) in Kunming that every one of ``users`` covers
    (ratings.sanction_rules) and that no other demo scene uses."""
    from agencies.demo import DEMO_SUFFIX
    from agencies.models import Agency, EnrolmentStatus
    from ratings.sanction_rules import covering_regulators

    busy = _busy_agency_ids() | exclude
    candidates = (
        Agency.objects.filter(
            status=EnrolmentStatus.APPROVED,
            organisation__name__endswith=DEMO_SUFFIX,
            organisation__region__code__startswith="5301",
        )
        .exclude(pk__in=busy)
        .select_related("organisation__region")
        .order_by("organisation__uscc")
    )
    for agency in candidates.iterator(chunk_size=50):
        if all(covering_regulators(user, agency) for user in users):
            return agency
    return None


def _ban_scene() -> tuple[dict | None, bool]:
    from ratings import sanctions
    from ratings.models import Sanction, SanctionSeverity

    ban = Sanction.objects.filter(facts=BAN_FACTS).order_by("pk").first()
    made = False
    if ban is None:
        reviewer, supervisor = _user(REVIEWER_EMAIL), _user(SUPERVISOR_EMAIL)
        ecology = _user(ECOLOGY_REVIEWER_EMAIL)
        if reviewer is None or supervisor is None:
            logger.warning("ratings demo: the demo regulator logins are missing; no ban")
            return None, False
        agency = _free_agency([reviewer, supervisor, ecology], exclude=set()) if ecology else None
        decider = ecology
        if agency is None:
            # The appeal goes to someone neither proposing nor approving: a third member of
            # the provincial regulator, made for the demo.
            decider = _appeals_reviewer(reviewer)
            agency = _free_agency([reviewer, supervisor, decider], exclude=set())
        if agency is None:
            logger.warning("ratings demo: no free demo agency to ban")
            return None, False
        today = timezone.localdate()
        with transaction.atomic():
            ban = sanctions.sanction_propose(
                actor=reviewer,
                agency=agency,
                reason_code=BAN_REASON,
                facts=BAN_FACTS,
                severity=SanctionSeverity.BAN,
                starts_on=today,
                ends_on=today + datetime.timedelta(days=BAN_DAYS - 1),
            )
            ban = sanctions.sanction_approve(actor=supervisor, sanction=ban)
            sanctions.appeal_file(
                actor=_org_admin(agency.organisation_id), sanction=ban, grounds=APPEAL_GROUNDS
            )
            sanctions.appeal_decide(
                actor=decider, sanction=ban, uphold=True, decision=APPEAL_DECISION
            )
        made = True
    ban = Sanction.objects.select_related(
        "agency__organisation", "proposed_by", "approved_by", "appeal_record__decided_by"
    ).get(pk=ban.pk)
    appeal = getattr(ban, "appeal_record", None)
    return {
        "code": ban.code,
        "status": ban.status,
        "agency": ban.agency.organisation.name,
        "period": f"{ban.starts_on.isoformat()} – {ban.ends_on.isoformat()}",
        "proposed_by": ban.proposed_by.email,
        "approved_by": ban.approved_by.email if ban.approved_by_id else "",
        "appeal_decided_by": appeal.decided_by.email if appeal and appeal.decided_by_id else "",
        "agency_login": getattr(_org_admin(ban.agency.organisation_id), "email", ""),
    }, made


def _suspension_scene() -> tuple[dict | None, bool]:
    from ratings import sanctions
    from ratings.models import Sanction, SanctionSeverity

    suspension = Sanction.objects.filter(facts=SUSPENSION_FACTS).order_by("pk").first()
    made = False
    if suspension is None:
        reviewer = _user(REVIEWER_EMAIL)
        agency = _free_agency([reviewer], exclude=set()) if reviewer else None
        if agency is None:
            logger.warning("ratings demo: no reviewer or free demo agency; no suspension")
            return None, False
        today = timezone.localdate()
        with transaction.atomic():
            suspension = sanctions.sanction_propose(
                actor=reviewer,
                agency=agency,
                reason_code=SUSPENSION_REASON,
                facts=SUSPENSION_FACTS,
                severity=SanctionSeverity.SUSPENSION,
                starts_on=today,
                ends_on=today + datetime.timedelta(days=1),
            )
        made = True
    suspension = Sanction.objects.select_related("agency__organisation").get(pk=suspension.pk)
    return {
        "code": suspension.code,
        "status": suspension.status,
        "agency": suspension.agency.organisation.name,
        "period": f"{suspension.starts_on.isoformat()} – {suspension.ends_on.isoformat()}",
    }, made


def load_ratings_demo() -> dict:
    """Loads the scenes (idempotent); returns ``{"created": n, "rating": {...}, "complaint":
    {...}, "ban": {...}, "suspension": {...}}`` (a scene that could not be produced is None;
    ``created`` counts the scenes produced in this run)."""
    created, result = 0, {}
    for key, scene in (
        ("rating", _rating_scene),
        ("complaint", _complaint_scene),
        ("public_complaint", _public_complaint_scene),
        ("ban", _ban_scene),
        ("suspension", _suspension_scene),
    ):
        row, made = scene()
        result[key] = row
        created += made
    return {"created": created, **result}


def summary_line(summary: dict) -> str:
    lines = [
        f"Demo ratings, complaints and sanctions: {summary['created']} scenes set up in this run:"
    ]
    rating = summary.get("rating")
    if rating:
        lines.append(
            f"  rating     {rating['contract']} rated {rating['average']} by "
            f"{rating['owner_login']}; {rating['agency']} credit {rating['score']} "
            f"(grade {rating['grade']})"
        )
    complaint = summary.get("complaint")
    if complaint:
        lines.append(
            f"  complaint  {complaint['code']} ({complaint['status']}) against "
            f"{complaint['agency']}; by {complaint['complainant_login']}, decided by "
            f"{complaint['handler_login']}"
        )
    public = summary.get("public_complaint")
    if public:
        lines.append(
            f"  public     {public['code']} ({public['status']}) against {public['agency']}, "
            f"filed by a member of the public; the agency ({public['agency_login']} / "
            f"{ANSWERING_AGENCY_PASSWORD}) may answer it; the citizen follows it at "
            f"{public['tracking_url']}"
        )
    ban = summary.get("ban")
    if ban:
        lines.append(
            f"  ban        {ban['code']} ({ban['status']}, {ban['period']}) on {ban['agency']}; "
            f"proposed by {ban['proposed_by']}, approved by {ban['approved_by']}, appeal "
            f"decided by {ban['appeal_decided_by']}"
        )
    suspension = summary.get("suspension")
    if suspension:
        lines.append(
            f"  suspension {suspension['code']} ({suspension['status']}, {suspension['period']}) "
            f"on {suspension['agency']}; the job ratings.sanctions ends it after its last day"
        )
    lines.append("  Blacklist: /ratings/blacklist/")
    return "\n".join(lines)
