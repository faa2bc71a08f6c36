"""Demo contracts and fulfilment (合同与履约演示数据), produced through ``procurement.contracts``
so that the signatures, the audit trail, the Oscar orders and the notices are the real ones.

Loaded by ``procurement.demo.load_procurement_demo`` after the announcements. Everything is
demo data: the projects and announcements are ``illustrative=True`` and each contract takes
``illustrative`` from its project; the deliverables are short PDFs marked "演示数据".

The contract to walk through (``draft``): the contract of the demo's awarded announcement
(滇中引水二期昆明市配套工程（西山区段）水土保持方案编制), left a DRAFT with the owner's terms
(two milestones, 40 % and 60 %), so that one can sign it as both parties and take it through
the whole flow: sign → deliver → return → rework → accept → pay → completed. Who acts:

- 甲方 (owner): ``dzys.owner@demo.example.com`` / ``demo-dzys-2025``
  (云南省滇中引水工程建设管理局（演示）, ``procurement.demo._OWNERS``);
- 乙方 (agency): the administrator of the agency the draw selected. Demo agencies'
  administrators are e-mail-only users (``admin.<last 8 characters of the USCC>@agency.
  example.com``, ``agencies.demo``); this one is given the password
  ``demo-partyb-2025`` (:data:`WALKTHROUGH_AGENCY_PASSWORD`). The draw is random, so which
  agency it is differs from one database to the next: ``load_demo`` prints the login.

Each other stage has an announcement of its own, made and awarded the way the demo's
``awarded`` one is (``procurement.demo.make_announcement``), registering agencies that have no
contract yet first, so that the contracts are with different agencies:

- ``returned``  (甲方 ``owner@demo.example.com``): signed, the first result delivered and
  returned with reasons (退回整改);
- ``delivered`` (甲方 ``wuhua.owner@demo.example.com``): signed, the first result delivered,
  awaiting acceptance (待验收);
- ``accepted``  (甲方 ``wuhua.owner@demo.example.com``): delivered and accepted, the milestone
  awaiting payment (已验收待支付);
- ``overdue``   (甲方 ``dzys.owner@demo.example.com``): signed and started, its due date then
  moved to a past working day (demo data only: a contract can't be signed in the past) and
  flagged by ``contracts.flag_overdue`` (逾期, with its event and notices);
- ``extended``  (甲方 ``dzys.owner@demo.example.com``): in progress, an extension proposed by
  the agency and agreed by the owner (工期延长);
- ``terminated`` (甲方 ``owner@demo.example.com``): signed, started and terminated by the owner
  with a reason (终止).

Their agencies' administrators have no password (as every demo agency's); the owners' logins
above act for 甲方 in each.

Idempotent: an announcement that exists (by project and title) and its contract are left as
they are, whatever happened to them since; the draft's terms are set once (while it is a draft
without signatures and its terms were never set).
"""

from __future__ import annotations

import html
import logging
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from django.db import transaction
from django.utils import timezone

from procurement.demo import SPECS, Spec

logger = logging.getLogger(__name__)

WALKTHROUGH_AGENCY_PASSWORD = "demo-partyb-2025"
OVERDUE_WORKING_DAYS = 3  # the overdue contract's due date: this many working days ago
# Documentation addresses (RFC 5737) and an honest browser string for the demo's signatures.
OWNER_IP, AGENCY_IP = "192.0.2.10", "198.51.100.20"
USER_AGENT = "load_demo（演示数据）"
_HUNDRED = Decimal(100)
_CENT = Decimal("0.01")


@dataclass(frozen=True)
class Step:
    """One milestone of the terms: its title, its share of the price (per cent) and its due
    date as a fraction of the time limit (in working days from the day the terms are set)."""

    title: str
    percent: int
    at: Decimal


@dataclass(frozen=True)
class ContractSpec:
    key: str
    announcement: Spec | None  # None: the demo's ``awarded`` announcement (the walk-through)
    price_factor: Decimal  # the agreed price as a share of the ceiling (rounded down to 100)
    steps: tuple[Step, ...]
    report: str = ""  # the first result's file name (without .pdf)
    note: str = ""  # the agency's note with it
    review: str = ""  # the owner's reasons (returned) or comment (accepted)
    extension: str = ""  # the agency's reason for the extension
    termination: str = ""  # the owner's reason for terminating
    extension_days: int = 0  # working days the agreed extension adds


def _awarded(key, project, item_code, title, scope, **kwargs) -> Spec:
    return Spec(
        key=f"contract-{key}",
        project=project,
        item_code=item_code,
        title=title,
        scope=scope,
        registrants=4,  # the minimum of 3 eligible and one spare: keeps loading quick
        stage="awarded",
        fresh_agencies=True,
        **kwargs,
    )


CONTRACTS = [
    ContractSpec(
        "draft",
        None,
        Decimal("0.95"),
        (
            Step("水土保持方案报告书（送审稿）", 40, Decimal("0.5")),
            Step("取得水土保持方案批复", 60, Decimal(1)),
        ),
    ),
    ContractSpec(
        "returned",
        _awarded(
            "returned",
            "dianchi-wwtp",
            "YN-ZJ-0013",
            "呈贡区吴家营片区污水处理厂提标改造工程环境影响报告表编制",
            "编制建设项目环境影响报告表，开展厂界噪声、恶臭及尾水受纳水体现状调查，配合完成技术"
            "评估并取得环评批复文件。",
        ),
        Decimal("0.92"),
        (
            Step("环境影响报告表（送审稿）", 40, Decimal("0.5")),
            Step("取得环评批复", 60, Decimal(1)),
        ),
        report="环境影响报告表（送审稿）",
        note="报告表送审稿已完成，请审查。",
        review=(
            "1. 缺少噪声环境现状监测数据，请补充鼓风机房、厂界四周及周边居民点昼夜噪声监测后"
            "重新提交；\n"
            "2. 尾水排放对洛龙河水质的影响预测未采用近三年的常规监测数据，请更新后补充。"
        ),
    ),
    ContractSpec(
        "delivered",
        _awarded(
            "delivered",
            "wuhua-renovation",
            "YN-ZJ-0011",
            "五华区2025年城镇老旧小区改造提升项目（第二批）社会稳定风险评估报告编制",
            "开展社会稳定风险调查和公众意见征询，识别评估风险因素并提出防范化解措施，编制社会"
            "稳定风险评估报告并配合通过评审。",
            budget_cap=Decimal("168000.00"),
        ),
        Decimal("0.9"),
        (
            Step("社会稳定风险调查及公众意见征询报告", 30, Decimal("0.4")),
            Step("社会稳定风险评估报告（评审稿）", 70, Decimal(1)),
        ),
        report="社会稳定风险调查及公众意见征询报告",
        note="已完成32个小区入户问卷调查（有效问卷1268份）和3场居民座谈会，请审查。",
    ),
    ContractSpec(
        "accepted",
        _awarded(
            "accepted",
            "wuhua-road",
            "YN-ZJ-0017",
            "五华区普吉路提升改造工程建设用地勘测定界",
            "开展建设用地勘测定界外业测量，编制勘测定界报告书和界址点成果表，绘制勘测定界图。",
        ),
        Decimal("0.96"),
        (Step("勘测定界报告书及界址点成果表", 100, Decimal(1)),),
        report="普吉路建设用地勘测定界报告书",
        note="勘测定界报告书、界址点成果表及勘测定界图已完成，请验收。",
        review="成果资料齐全，界址点坐标经抽检复核无误，同意验收。",
    ),
    ContractSpec(
        "overdue",
        _awarded(
            "overdue",
            "dzys-xishan",
            "YN-ZJ-0025",
            "滇中引水二期昆明市配套工程（西山区段）水资源论证报告书编制",
            "论证取水水源、取用水合理性及退水影响，编制水资源论证报告书并配合通过水行政主管"
            "部门审查。",
            budget_cap=Decimal("126000.00"),
        ),
        Decimal("0.93"),
        (
            Step("水资源论证报告书（送审稿）", 50, Decimal("0.6")),
            Step("取得水资源论证审查意见", 50, Decimal(1)),
        ),
    ),
    ContractSpec(
        "extended",
        _awarded(
            "extended",
            "dzys-xishan",
            "YN-ZJ-0030",
            "滇中引水二期昆明市配套工程（西山区段）气候可行性论证",
            "收集分析工程区域气候背景和极端天气资料，论证气候条件对工程建设和运行的影响，编制"
            "气候可行性论证报告并通过专家评审。",
            budget_cap=Decimal("98000.00"),
        ),
        Decimal("0.88"),
        (
            Step("气候可行性论证报告（送审稿）", 60, Decimal("0.7")),
            Step("通过专家评审并提交终稿", 40, Decimal(1)),
        ),
        extension=(
            "西山区国家气象观测站近30年逐日观测资料须向省气象信息中心申请调取，审批周期约"
            "两周，申请将完成日期顺延10个工作日。"
        ),
        extension_days=10,
    ),
    ContractSpec(
        "terminated",
        _awarded(
            "terminated",
            "dianchi-flood",
            "YN-ZJ-0008",
            "呈贡区洛龙河片区防洪排涝设施提升工程节能报告编制",
            "编制固定资产投资项目节能报告，分析项目能源消费及能效水平，配合通过节能审查。",
        ),
        Decimal("0.9"),
        (Step("节能报告（送审稿）", 100, Decimal(1)),),
        termination=(
            "经复核，本项目年综合能源消费量不满1000吨标准煤且年电力消费量不满500万千瓦时，"
            "按规定不再单独进行节能审查，无需编制节能报告。经双方协商一致终止本合同，尚未开展"
            "的工作不再实施。"
        ),
    ),
]


# --- the deliverables' files ---------------------------------------------------------------------

_REPORT_HTML = """<!doctype html><html lang="zh-Hans"><head><meta charset="utf-8"><style>
@page {{ size: A4; margin: 30mm 25mm;
  @top-right {{ content: "演示数据 (demo data)"; font-size: 8pt; color: #b00000; }} }}
html {{ font-family: "Noto Sans CJK SC", "Noto Serif CJK SC", sans-serif; color: #111; }}
h1 {{ font-family: "Noto Serif CJK SC", "Noto Sans CJK SC", serif; font-size: 22pt;
  text-align: center; margin: 60mm 0 8mm; }}
p {{ text-align: center; font-size: 12pt; margin: 3mm 0; }}
.meta {{ margin-top: 70mm; }}
.demo {{ margin-top: 20mm; font-size: 9pt; color: #b00000; }}
</style></head><body>
<p>{project}</p>
<h1>{title}</h1>
<div class="meta"><p>建设单位：{owner}</p><p>编制单位：{agency}</p><p>合同编号：{code}</p>
<p>{date}</p></div>
<p class="demo">本文件为中介服务超市演示数据，内容为示例，不是真实的服务成果。</p>
</body></html>"""


def plain_pdf(text: str) -> bytes:
    """A one-page PDF with one line of ASCII ``text`` in Helvetica (no font to embed): the
    deliverables' file when WeasyPrint (pango) is not installed."""
    safe = text.encode("ascii", "replace").replace(b"\\", b"").replace(b"(", b"").replace(b")", b"")
    content = b"BT /F1 16 Tf 72 760 Td (" + safe + b") Tj ET\n"
    objects = [
        b"<</Type/Catalog/Pages 2 0 R>>",
        b"<</Type/Pages/Kids[3 0 R]/Count 1>>",
        (
            b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Contents 4 0 R"
            b"/Resources<</Font<</F1 5 0 R>>>>>>"
        ),
        b"<</Length %d>>stream\n" % len(content) + content + b"endstream",
        b"<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>",
    ]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<</Size %d/Root 1 0 R>>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def report_pdf(contract, title: str) -> bytes:
    """A result's cover page as a PDF (in Chinese, marked as demo data)."""
    from procurement import pdf

    text = _REPORT_HTML.format(
        project=html.escape(contract.project.name),
        title=html.escape(title),
        owner=html.escape(contract.owner.organisation.name),
        agency=html.escape(contract.agency.organisation.name),
        code=html.escape(contract.code),
        date=timezone.localdate().strftime("%Y年%m月"),
    )
    try:
        import weasyprint

        # Nothing to fetch; the restricted fetcher makes sure of it.
        return weasyprint.HTML(string=text, url_fetcher=pdf.local_url_fetcher(roots=[])).write_pdf()
    except (ImportError, OSError) as exc:  # pango or its fonts missing
        logger.warning("demo contracts: WeasyPrint unavailable (%s); plain PDF instead", exc)
        return plain_pdf(f"Demo deliverable (demo data): contract {contract.code}")


def _file(contract, title: str):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(f"{title}.pdf", report_pdf(contract, title), "application/pdf")


# --- moving a contract on ------------------------------------------------------------------------


def _terms(contract, spec: ContractSpec) -> tuple[Decimal, list[dict]]:
    """The price (a share of the ceiling, rounded down to 100 yuan) and the milestones, the
    last one taking the rest so that they add up to the price."""
    from marketplace import workdays

    price = (contract.price_ceiling * spec.price_factor / _HUNDRED).quantize(
        Decimal(1), ROUND_DOWN
    ) * _HUNDRED
    price = min(price, contract.price_ceiling).quantize(_CENT)
    today = timezone.localdate()
    rows, left = [], price
    for number, step in enumerate(spec.steps, start=1):
        amount = left
        if number < len(spec.steps):
            amount = (price * step.percent / _HUNDRED).quantize(_CENT, ROUND_DOWN)
        left -= amount
        days = max(1, int((contract.time_limit_days * step.at).to_integral_value(ROUND_DOWN)))
        rows.append(
            {
                "title": step.title,
                "amount": amount,
                "due_date": workdays.add_working_days(today, days),
            }
        )
    return price, rows


def _set_terms(contract, spec: ContractSpec, owner_user):
    from procurement import contracts

    price, rows = _terms(contract, spec)
    return contracts.contract_update_terms(
        actor=owner_user, contract=contract, price=price, scope=contract.scope, milestones=rows
    )


def _sign_both(contract, owner_user, agency_user) -> None:
    from procurement import contracts

    contracts.contract_sign(
        actor=owner_user, contract=contract, ip_address=OWNER_IP, user_agent=USER_AGENT
    )
    contracts.contract_sign(
        actor=agency_user, contract=contract, ip_address=AGENCY_IP, user_agent=USER_AGENT
    )


def _first_milestone(contract):
    return contract.milestones.order_by("sequence").select_related("contract").first()


def _move(contract, spec: ContractSpec, owner_user, agency_user) -> None:
    """Terms, signatures and the rest of the way to ``spec.key``, through the services."""
    from marketplace import workdays
    from procurement import contracts
    from procurement.models import Contract

    _set_terms(contract, spec, owner_user)
    _sign_both(contract, owner_user, agency_user)
    contract.refresh_from_db()
    if spec.report:
        deliverable = contracts.deliverable_submit(
            actor=agency_user,
            milestone=_first_milestone(contract),
            file=_file(contract, spec.report),
            note=spec.note,
        )
        milestone = deliverable.milestone
        if spec.key == "returned":
            contracts.deliverable_return(actor=owner_user, milestone=milestone, reasons=spec.review)
        elif spec.key == "accepted":
            contracts.deliverable_accept(actor=owner_user, milestone=milestone, comment=spec.review)
        return
    contracts.contract_start(actor=agency_user, contract=contract)
    contract.refresh_from_db()
    if spec.key == "overdue":
        # Demo data only: a contract can't be signed in the past, so after signing its due
        # date is moved to a past working day (the milestones keep their dates: they are part
        # of the signed terms); ``flag_overdue`` (called once everything is loaded) then
        # raises the flag with its real event and notices.
        past = workdays.add_working_days(timezone.localdate(), -OVERDUE_WORKING_DAYS)
        Contract.objects.filter(pk=contract.pk).update(due_date=past)
    elif spec.key == "extended":
        extension = contracts.extension_propose(
            actor=agency_user,
            contract=contract,
            new_due_date=workdays.add_working_days(contract.due_date, spec.extension_days),
            reason=spec.extension,
        )
        contracts.extension_answer(
            actor=owner_user, extension=extension, agree=True, reason="同意顺延。"
        )
    elif spec.key == "terminated":
        contracts.contract_terminate(actor=owner_user, contract=contract, reason=spec.termination)


def _walkthrough(spec: ContractSpec, projects: dict):
    """The contract of the demo's ``awarded`` announcement, with the owner's terms set once."""
    from django.contrib.contenttypes.models import ContentType

    from marketplace.models import AuditEvent
    from procurement.demo import existing_announcement
    from procurement.models import Contract, ContractStatus

    awarded = next(s for s in SPECS if s.key == "awarded")
    announcement = existing_announcement(awarded, projects)
    contract = (
        Contract.objects.filter(announcement=announcement).order_by("pk").first()
        if announcement is not None
        else None
    )
    if contract is None:
        return None, False
    terms_set = AuditEvent.objects.filter(
        content_type=ContentType.objects.get_for_model(Contract),
        object_id=str(contract.pk),
        action="contract.terms",
    ).exists()
    if contract.status != ContractStatus.DRAFT or terms_set or contract.signatures.exists():
        return contract, False
    _set_terms(contract, spec, projects[awarded.project].admin_user)
    return contract, True


def _agency_account(contract) -> dict | None:
    """The walk-through agency's administrator, given the demo password."""
    from procurement.demo import admin_of, demo_user

    admin = admin_of(contract.agency)
    if admin is None:
        return None
    demo_user(admin.email, WALKTHROUGH_AGENCY_PASSWORD, admin.display_name)
    return {
        "role": "agency_contract_walkthrough",
        "email": admin.email,
        "password": WALKTHROUGH_AGENCY_PASSWORD,
        "organisation": contract.agency.organisation.name,
    }


def _contract(pk):
    from procurement.models import Contract

    return Contract.objects.select_related("agency__organisation", "announcement").get(pk=pk)


def _other(spec: ContractSpec, projects: dict, items: dict):
    """``(contract, moved)`` of one of the other stages: a new awarded announcement whose
    contract is moved to ``spec.key``, or the existing one left alone."""
    from procurement.demo import admin_of, ensure_announcement
    from procurement.models import Contract

    announcement, made = ensure_announcement(spec.announcement, projects, items)
    if announcement is None:
        return None, False
    contract = Contract.objects.filter(announcement=announcement).order_by("pk").first()
    if contract is None:
        logger.warning(
            "demo contracts: %s is %s, without a contract", announcement.code, announcement.status
        )
        return None, False
    if made:
        owner_user = projects[spec.announcement.project].admin_user
        _move(contract, spec, owner_user, admin_of(contract.agency))
    return contract, made


def load_contract_demo(*, projects: dict | None = None) -> dict:
    """Loads the demo contracts (idempotent); returns ``{"created": n, "contracts": {key:
    {"code", "status", "overdue", "announcement", "owner_login", "agency_login", "agency"}},
    "accounts": [...]}``: ``created`` counts the contracts set up in this run, the accounts
    are the walk-through agency's login. ``projects`` as
    ``procurement.demo.ensure_projects`` returns them (made when not given)."""
    from procurement import contracts
    from procurement.demo import admin_of, service_items

    if projects is None:
        from procurement.demo import ensure_owners, ensure_projects

        with transaction.atomic():
            owners, _accounts = ensure_owners()
            projects = ensure_projects(owners)
    awarded = next(s for s in SPECS if s.key == "awarded")
    items = service_items([s.announcement for s in CONTRACTS if s.announcement])
    created, found, accounts = 0, {}, []
    for spec in CONTRACTS:
        with transaction.atomic():
            if spec.announcement is None:
                contract, moved = _walkthrough(spec, projects)
            else:
                contract, moved = _other(spec, projects, items)
        if contract is None:
            continue
        if spec.announcement is None:
            account = _agency_account(contract)
            accounts += [account] if account else []
        created += moved
        found[spec.key] = (contract.pk, (spec.announcement or awarded).project)
    contracts.flag_overdue()  # what the scheduler does every day; idempotent
    rows = {}
    for key, (pk, project_key) in found.items():
        contract = _contract(pk)
        admin = admin_of(contract.agency)
        rows[key] = {
            "code": contract.code,
            "status": contract.status,
            "overdue": contract.is_overdue,
            "announcement": contract.announcement.code if contract.announcement_id else "",
            "owner_login": projects[project_key].admin_user.email,
            "agency_login": admin.email if admin else "",
            "agency": contract.agency.organisation.name,
        }
    return {"created": created, "contracts": rows, "accounts": accounts}


def summary_line(summary: dict) -> str:
    lines = [
        f"Demo contracts: {len(summary['contracts'])} ({summary['created']} set up in this "
        + "run; sign 'draft' as both parties to walk through the whole flow):"
    ]
    for key, row in summary["contracts"].items():
        status = row["status"] + (", overdue" if row["overdue"] else "")
        lines.append(
            f"  {key:<10} {row['code']} ({status}); 甲方 {row['owner_login']}, "
            f"乙方 {row['agency_login']}"
        )
    return "\n".join(lines)
