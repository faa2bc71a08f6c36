"""procurement/pdf.py: the canonical terms (terms_text, terms_hash) and the contract document
as a PDF in Chinese, read back with pypdf. The contracts are built with the ORM here (the
contract services are tested on their own)."""

from __future__ import annotations

import datetime
import hashlib
import http.server
import io
import re
import threading
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone
from pypdf import PdfReader

from agencies.models import Offering
from procurement import pdf
from procurement.models import (
    Contract,
    ContractSource,
    ContractStatus,
    Milestone,
    Signature,
    SigningParty,
)
from tests.procurement.factories import draft

pytestmark = pytest.mark.django_db

OWNER_NAME = "昆明市五华区城市建设投资有限公司"
PRICE_WORDS = "壹万贰仟叁佰肆拾伍元陆角整"  # 12,345.60


def make_contract(world, *, purchase: bool = False, milestones=None, **fields) -> Contract:
    agency = world.agencies[0]
    values = {
        "code": "HT-2026-000123",
        "project": world.project,
        "service_item": world.item,
        "owner": world.owner,
        "agency": agency,
        "scope": "编制《五华区老旧小区改造项目环境影响报告表》，\n并协助取得生态环境部门的批复。",
        "price_ceiling": Decimal("15000.00"),
        "price": Decimal("12345.60"),
        "standard_fee": Decimal("15000.00"),
        "time_limit_days": 20,
    }
    if purchase:
        offering = Offering.objects.create(
            agency=agency, service_item=world.item, price=Decimal("12345.60"), turnaround_days=15
        )
        values.update(source=ContractSource.DIRECT_PURCHASE, offering=offering)
    else:
        values.update(source=ContractSource.AWARD, announcement=draft(world))
    values.update(fields)
    contract = Contract.objects.create(**values)
    start = datetime.date(2026, 3, 2)
    for sequence, (title, amount) in enumerate(
        milestones
        if milestones is not None
        else [("报告表初稿", "4000.00"), ("报告表送审稿", "4000.00"), ("取得批复", "4345.60")],
        start=1,
    ):
        Milestone.objects.create(
            contract=contract,
            sequence=sequence,
            title=title,
            amount=Decimal(amount),
            due_date=start + datetime.timedelta(days=7 * sequence),
        )
    return contract


def sign(contract, party, user, *, terms_hash=None, when=None) -> Signature:
    organisation = (
        contract.owner.organisation if party == SigningParty.OWNER else contract.agency.organisation
    )
    return Signature.objects.create(
        contract=contract,
        party=party,
        organisation=organisation,
        signed_by=user,
        signed_at=when or timezone.now(),
        ip_address="127.0.0.1",
        terms_hash=terms_hash or pdf.terms_hash(pdf.contract_for_document(contract.pk)),
    )


def render(contract) -> bytes:
    return pdf.contract_pdf(pdf.contract_for_document(contract.pk))


def pages_text(data: bytes) -> list[str]:
    """Each page's text, without whitespace (pypdf breaks lines where the layout does)."""
    reader = PdfReader(io.BytesIO(data))
    return [re.sub(r"\s+", "", page.extract_text()) for page in reader.pages]


def font_names(data: bytes) -> dict[str, bool]:
    """{BaseFont: embedded} over every page's fonts (and their descendant CID fonts)."""
    reader = PdfReader(io.BytesIO(data))
    found = {}
    for page in reader.pages:
        fonts = page["/Resources"].get_object().get("/Font", {})
        for ref in fonts.get_object().values():
            font = ref.get_object()
            for f in [font, *(d.get_object() for d in font.get("/DescendantFonts", []))]:
                descriptor = f.get("/FontDescriptor")
                embedded = bool(
                    descriptor
                    and any(
                        k in descriptor.get_object()
                        for k in ("/FontFile", "/FontFile2", "/FontFile3")
                    )
                )
                found[str(f["/BaseFont"])] = found.get(str(f["/BaseFont"]), False) or embedded
    return found


# --- the document ------------------------------------------------------------------------------


def test_the_pdf_reads_back_in_chinese(world):
    contract = make_contract(world)
    data = render(contract)
    assert data.startswith(b"%PDF-")
    pages = pages_text(data)
    text = "".join(pages)
    assert f"第1页/共{len(pages)}页" in pages[0]
    owner_org = world.owner.organisation
    agency = world.agencies[0]
    for expected in (
        "中介服务合同",
        "HT-2026-000123",
        "甲方",
        "乙方",
        OWNER_NAME,
        owner_org.uscc,
        "赵六",  # the owner's legal representative
        "0871-63330000",
        agency.organisation.name,
        agency.organisation.uscc,
        "五华区老旧小区改造项目",
        "云南省昆明市五华区",
        world.item.title,
        world.item.code,
        contract.announcement.code,
        "随机抽取",
        "编制《五华区老旧小区改造项目环境影响报告表》",
        "¥12,345.60元",
        "人民币" + PRICE_WORDS,
        "¥15,000.00元",  # ceiling and standard fee
        "降费率17.70%",  # (15000 - 12345.60) / 15000
        "20个工作日",
        "报告表初稿",
        "报告表送审稿",
        "取得批复",
        "肆仟叁佰肆拾伍元陆角整",  # the last milestone in words
        "2026年3月9日",
        "《中华人民共和国民法典》",
        pdf.terms_hash(pdf.contract_for_document(contract.pk)),
    ):
        assert expected in text, expected
    # Not signed yet: no due date, blank signature lines, no demo label.
    assert "即不迟于" not in text
    assert text.count("签字：") == 2
    assert "演示数据" not in text


def test_the_text_is_set_in_an_embedded_cjk_font(world):
    fonts = font_names(render(make_contract(world)))
    cjk = {name: embedded for name, embedded in fonts.items() if "CJK" in name}
    assert cjk, fonts
    assert all(cjk.values()), fonts  # embedded (subset), not left to the reader's machine
    assert any(re.search(r"Noto-?(Sans|Serif)-?CJK-?SC", name) for name in cjk), fonts


def test_a_long_contract_runs_over_numbered_pages(world):
    scope = "\n".join(
        f"{n}. 按照技术导则完成第{n}项专题调查、监测和分析评价工作。" for n in range(150)
    )
    contract = make_contract(world, scope=scope)
    pages = pages_text(render(contract))
    assert len(pages) >= 3
    fingerprint = pdf.terms_hash(pdf.contract_for_document(contract.pk))
    for number, page in enumerate(pages, start=1):
        assert f"第{number}页/共{len(pages)}页" in page
        assert fingerprint in page  # the running footer
        assert "HT-2026-000123" in page  # the running header
    assert "149.按照技术导则完成第149项" in "".join(pages)


def test_signatures_show_who_signed_and_when(world):
    contract = make_contract(world)
    owner_user = world.owner.admin_user
    owner_user.display_name = "孙八"
    owner_user.save()
    when = datetime.datetime(2026, 3, 2, 1, 30, tzinfo=datetime.UTC)  # 09:30 in Shanghai
    sign(contract, SigningParty.OWNER, owner_user, when=when)
    text = "".join(pages_text(render(contract)))
    assert "签署人：孙八" in text
    assert "签署时间：2026年3月2日09:30" in text
    assert text.count("签字：") == 1  # the agency has not signed yet
    assert "不一致" not in text


def test_a_signature_over_other_terms_is_flagged(world):
    contract = make_contract(world)
    sign(contract, SigningParty.AGENCY, world.agencies[0].admin_user, terms_hash="0" * 64)
    text = "".join(pages_text(render(contract)))
    assert "条款指纹为" + "0" * 64 + "，与本文本不一致" in text


def test_a_signed_contract_states_its_due_date(world):
    contract = make_contract(world)
    Contract.objects.filter(pk=contract.pk).update(
        status=ContractStatus.SIGNED, due_date=datetime.date(2026, 3, 30)
    )
    assert "即不迟于2026年3月30日" in "".join(pages_text(render(contract)))


def test_a_direct_purchase_names_the_offering(world):
    contract = make_contract(world, purchase=True, standard_fee=None)
    text = "".join(pages_text(render(contract)))
    assert "直接选取" in text
    assert f"挂牌编号{contract.offering_id}" in text
    assert "挂牌价格：¥12,345.60元" in text
    assert "采购公告" not in text
    assert "降费率" not in text and "标准收费" not in text


def test_a_price_above_the_standard_fee_is_shown_as_such(world):
    contract = make_contract(world, standard_fee=Decimal("10000.00"), price=Decimal("11000.00"))
    text = "".join(pages_text(render(contract)))
    assert "较标准收费上浮10.00%" in text and "降费率" not in text


def test_demo_data_is_labelled_on_every_page(world):
    scope = "\n".join(f"第{n}项工作。" for n in range(120))
    pages = pages_text(render(make_contract(world, scope=scope, illustrative=True)))
    assert len(pages) >= 2
    for page in pages:
        assert "演示数据(demodata)" in page


def test_the_document_costs_three_queries(world, django_assert_num_queries):
    contract = make_contract(world)
    sign(contract, SigningParty.OWNER, world.owner.admin_user)
    sign(contract, SigningParty.AGENCY, world.agencies[0].admin_user)
    # The contract with parties, project (region up to the province), item, announcement
    # and offering; the milestones; the signatures with organisations and signers.
    with django_assert_num_queries(3):
        data = pdf.contract_pdf(pdf.contract_for_document(contract.pk))
    assert data.startswith(b"%PDF-")


# --- the canonical terms -----------------------------------------------------------------------


def test_terms_text_is_deterministic_and_hashed(world):
    contract = make_contract(world)
    loaded = pdf.contract_for_document(contract.pk)
    text = pdf.terms_text(loaded)
    assert text == pdf.terms_text(pdf.contract_for_document(contract.pk))
    assert text == pdf.terms_text(Contract.objects.get(pk=contract.pk))  # however loaded
    assert pdf.terms_hash(loaded) == hashlib.sha256(text.encode("utf-8")).hexdigest()
    for expected in (
        "合同编号：HT-2026-000123",
        f"甲方：{OWNER_NAME}；统一社会信用代码：{world.owner.organisation.uscc}",
        "合同价款：人民币12345.60元",
        "服务期限：20个工作日",
        "1. 报告表初稿；人民币4000.00元；约定完成日期：2026-03-09",
        "3. 取得批复；人民币4345.60元；约定完成日期：2026-03-23",
    ):
        assert expected in text, expected


def test_terms_text_is_the_same_for_the_same_scope_typed_elsewhere(world):
    a = make_contract(world, scope="第一行\r\n第二行  \r\n")
    text = pdf.terms_text(a)
    Contract.objects.filter(pk=a.pk).update(scope="第一行\n第二行")
    assert pdf.terms_text(pdf.contract_for_document(a.pk)) == text


def _terms(pk) -> str:
    return pdf.terms_text(pdf.contract_for_document(pk))


@pytest.mark.parametrize(
    "change",
    [
        lambda c: Contract.objects.filter(pk=c.pk).update(price=Decimal("12345.50")),
        lambda c: Contract.objects.filter(pk=c.pk).update(time_limit_days=21),
        lambda c: Contract.objects.filter(pk=c.pk).update(scope="另一项服务"),
        lambda c: Contract.objects.filter(pk=c.pk).update(standard_fee=None),
        lambda c: Contract.objects.filter(pk=c.pk).update(code="HT-2026-000124"),
        lambda c: c.milestones.filter(sequence=3).update(amount=Decimal("4345.61")),
        lambda c: c.milestones.filter(sequence=2).update(title="报告表评审稿"),
        lambda c: c.milestones.filter(sequence=1).update(due_date=datetime.date(2026, 3, 10)),
        lambda c: c.milestones.filter(sequence=3).delete(),
        lambda c: Milestone.objects.create(
            contract=c, sequence=4, title="归档", amount=1, due_date=datetime.date(2026, 4, 1)
        ),
        lambda c: c.owner.organisation.__class__.objects.filter(pk=c.agency.organisation_id).update(
            name="另一家机构"
        ),
    ],
    ids=[
        "price",
        "time-limit",
        "scope",
        "standard-fee",
        "number",
        "milestone-amount",
        "milestone-title",
        "milestone-date",
        "milestone-removed",
        "milestone-added",
        "agency-name",
    ],
)
def test_terms_text_changes_with_the_terms(world, change):
    contract = make_contract(world)
    before = _terms(contract.pk)
    change(contract)
    assert _terms(contract.pk) != before


def test_terms_text_ignores_signatures_status_dates_and_contacts(world):
    contract = make_contract(world)
    before = _terms(contract.pk)
    sign(contract, SigningParty.OWNER, world.owner.admin_user)
    Contract.objects.filter(pk=contract.pk).update(
        status=ContractStatus.SIGNED,
        signed_at=timezone.now(),
        due_date=datetime.date(2026, 3, 30),
        illustrative=True,
    )
    type(world.owner).objects.filter(pk=world.owner.pk).update(contact_phone="13800000000")
    assert _terms(contract.pk) == before


# --- nothing from the network ------------------------------------------------------------------


class _Recorder(http.server.BaseHTTPRequestHandler):
    hits: list = []

    def do_GET(self):
        type(self).hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "text/css")
        self.end_headers()
        self.wfile.write(b"body { color: red }")

    def log_message(self, *args):
        pass


@pytest.fixture
def web_server():
    _Recorder.hits = []
    server = http.server.HTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(
    "url",
    [
        "http://example.org/logo.png",
        "https://example.org/style.css",
        "HTTPS://example.org/style.css",
        "ftp://example.org/x",
        "file:///etc/passwd",
        "file://example.org/static/x.css",
        "javascript:alert(1)",
    ],
)
def test_the_fetcher_refuses_the_network_and_other_files(url):
    with pytest.raises(pdf.URLRefused):
        pdf.local_url_fetcher().fetch(url)


def test_the_fetcher_serves_data_urls_and_static_files():
    fetcher = pdf.local_url_fetcher()
    assert fetcher.fetch("data:text/plain;base64,5Lit5paH").read() == "中文".encode()
    static_file = Path(settings.BASE_DIR) / "procurement" / "static" / "procurement" / "room.css"
    response = fetcher.fetch(static_file.as_uri())
    assert response.read() == static_file.read_bytes()
    assert response.content_type == "text/css"
    escape = static_file.parent.as_uri() + "/../../../../../../etc/passwd"
    with pytest.raises(pdf.URLRefused):
        fetcher.fetch(escape)


def test_rendering_fetches_nothing_from_the_network(web_server):
    import weasyprint

    html = (
        f'<link rel="stylesheet" href="{web_server}/style.css">'
        f'<img src="{web_server}/logo.png"><p>中文</p>'
    )
    # WeasyPrint's own fetcher would fetch both (the server sees them) …
    weasyprint.HTML(string=html).write_pdf()
    assert sorted(_Recorder.hits) == ["/logo.png", "/style.css"]
    _Recorder.hits.clear()
    # … the contract document's fetcher nothing.
    weasyprint.HTML(
        string=html, base_url=pdf._base_url(), url_fetcher=pdf.local_url_fetcher()
    ).write_pdf()
    assert _Recorder.hits == []
