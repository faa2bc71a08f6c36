"""Journey of issue 3's "Done when": a new agency enrols in the browser, a regulator returns it
and then approves it, and its offering appears on the shelf at a price within the ceiling.

One continuous story with three visitors, each in its own browser context (own cookies):

1. the agency (zh-CN) finds 机构入驻 in the directory, reads the commitment letter, signs up and
   registers the agency — first with a corrupted USCC (Chinese field error, input kept), then a
   valid one;
2. it declares a 测绘资质 乙级 certificate, a practitioner (only the masked ID is shown), the
   surveying item that needs that certificate, keeps province-wide, sees nothing missing and
   submits;
3. the provincial reviewer logs in (Oscar's login page), finds it in the review queue and
   returns it with a reason on the legal representative;
4. the agency sees the reason beside that field, corrects it and resubmits;
5. the reviewer approves;
6. the agency lists an offering: above the ceiling it is refused with the fee engine's
   computation, within the ceiling it is saved;
7. an anonymous visitor sees the offering and its price on the public profile, with the
   practitioner's name masked and no ID number.

The data a journey needs (Yunnan's regions, the demo regulator and reviewer, the fee rules and the
demo catalog) is created inside the test: the live server's database is flushed after each test.
"""

from __future__ import annotations

import datetime
import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import html_lang

pytestmark = pytest.mark.e2e

ITEM_TITLE = "建设项目竣工验收测量（规划核实测量）"  # needs 测绘资质 乙级; fee rule survey-fixed
QUALIFICATION = "测绘资质"
REVIEWER_EMAIL = "reviewer@demo.example.com"
REVIEWER_PASSWORD = "demo-reviewer-2025"

AGENCY_NAME = "云南滇测测绘技术有限公司（测试）"
AGENCY_EMAIL = "owner@dianceshi.example.com"
AGENCY_PASSWORD = "Dian-Ce-2025-survey!"
LEGAL_REP_WRONG = "李四"
LEGAL_REP_RIGHT = "李思远"
RETURN_REASON = "法定代表人姓名与营业执照不一致，请按营业执照填写。"

PRACTITIONER_NAME = "张明华"
PRACTITIONER_MASKED = "张**"

# The smallest valid PDF: the upload check reads the content, not only the extension.
TINY_PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def journey_data(transactional_db):
    """Yunnan's regions, the demo regulators and reviewer, the fee rules and the catalog; returns
    what the journey needs to know about its service item and the fee ceiling."""
    from cms.demo import load_catalog
    from cms.fees import api as fees
    from cms.fees.demo import load_fee_rules
    from cms.models import ServiceItemPage
    from marketplace.demo import DEMO_PROVINCE, load_core_demo

    load_core_demo(province=DEMO_PROVINCE)
    load_fee_rules()
    load_catalog()
    item = ServiceItemPage.objects.get(title=ITEM_TITLE)
    assert item.fee_rule is not None, "the surveying item must carry a fee rule"
    result = fees.calculate(item.fee_rule, None, category=item.fee_category or None)
    return {"item": item, "ceiling": result.ceiling, "standard_fee": result.standard_fee}


def _uscc_and_corrupted() -> tuple[str, str]:
    from marketplace.validators import USCC_CHARSET, make_uscc

    valid = make_uscc("91530102MA6E2E01")
    wrong = next(c for c in USCC_CHARSET if c != valid[-1])
    return valid, valid[:-1] + wrong


def _yuan(value: Decimal) -> str:
    """As the fee engine's messages and the ``|yuan`` filter print it: 9,600.00."""
    from cms.fees.engine import format_yuan

    return format_yuan(value)


def _submit(page, button_name: str) -> None:
    with page.expect_navigation():
        page.get_by_role("button", name=button_name, exact=True).click()


def _success(page, text: str) -> None:
    expect(page.locator(".flash"), f"the flash message says {text!r}").to_contain_text(text)


# --- the visitors' steps -------------------------------------------------------------------------


def enrol_and_register(page, pdf, uscc: str, corrupted: str) -> int:
    """Step 1: directory → 机构入驻 → commitment letter → sign up → register the agency."""
    response = page.goto("/agencies/")
    assert response.status == 200, f"the agency directory answered {response.status}"
    assert html_lang(page) == "zh-Hans", "a zh-CN visitor gets the Chinese site"
    with page.expect_navigation():
        page.get_by_role("link", name="机构入驻", exact=True).click()
    expect(page, "机构入驻 leads to the enrolment start").to_have_url(
        re.compile(r"/agencies/enrol/$")
    )
    expect(page.get_by_text("中介机构入驻承诺书"), "the commitment letter is shown").to_be_visible()
    expect(
        page.locator(".commitment"), "the letter binds the agency to the fee ceiling"
    ).to_contain_text("不超出收费上限报价")
    with page.expect_navigation():
        page.get_by_role("link", name="注册账号并开始").click()
    expect(page, "the next step of a new visitor is the sign-up").to_have_url(
        re.compile(r"/agencies/enrol/signup/$")
    )

    page.fill("#id_display_name", "王立新")
    page.fill("#id_email", AGENCY_EMAIL)
    page.fill("#id_phone", "13800871234")
    page.fill("#id_password1", AGENCY_PASSWORD)
    page.fill("#id_password2", AGENCY_PASSWORD)
    _submit(page, "注册")
    expect(page, "after the sign-up the visitor registers the agency").to_have_url(
        re.compile(r"/agencies/enrol/register/$")
    )

    def fill_register(code: str) -> None:
        page.get_by_label("统一社会信用代码").fill(code)
        page.fill("#id_name", AGENCY_NAME)
        page.fill("#id_legal_representative", LEGAL_REP_WRONG)
        page.fill("#id_registered_address", "云南省昆明市五华区人民中路 88 号")
        page.select_option("#id_region", label="昆明市五华区")
        page.fill("#id_business_scope", "工程测量；不动产测绘；地理信息系统工程。")
        page.set_input_files("#id_business_licence", str(pdf))
        page.fill("#id_contact_name", "王立新")
        page.fill("#id_contact_phone", "0871-63112233")
        page.fill("#id_contact_email", "contact@dianceshi.example.com")
        page.check("#id_accept_commitment")
        _submit(page, "注册并继续")

    # A corrupted check character: a Chinese error beside the field, the input kept.
    fill_register(corrupted)
    expect(page, "an invalid USCC stays on the register page").to_have_url(
        re.compile(r"/agencies/enrol/register/$")
    )
    expect(
        page.locator("#field-uscc .field__errors"), "the USCC error is beside the field, in Chinese"
    ).to_contain_text("统一社会信用代码的校验码错误")
    expect(page.locator("#id_uscc"), "the mistyped code is kept for correction").to_have_value(
        corrupted
    )
    expect(page.locator("#id_name"), "the other input is kept too").to_have_value(AGENCY_NAME)
    expect(page.locator(".error-summary"), "the error summary lists it").to_contain_text(
        "统一社会信用代码"
    )

    fill_register(uscc)
    expect(page, "a valid USCC registers the agency").to_have_url(
        re.compile(r"/agencies/enrol/\d+/$")
    )
    _success(page, "机构已登记")
    return int(re.search(r"/agencies/enrol/(\d+)/$", page.url).group(1))


def declare_and_submit(page, pdf, agency_pk: int, resident_id: str) -> None:
    """Step 2: certificate, practitioner, service item, regions; nothing missing; submit."""
    today = datetime.date.today()
    expect(page.get_by_role("heading", level=1)).to_contain_text(AGENCY_NAME)

    # Before anything is declared, the item cannot be ticked: its qualification is missing.
    item_box = page.get_by_role("checkbox", name=ITEM_TITLE)
    expect(item_box, "without 测绘资质 the surveying item is disabled").to_be_disabled()

    cert = page.locator("#certificates form", has=page.get_by_role("heading", name="添加资质证书"))
    option = cert.locator("#id_cert-qualification_type option", has_text=QUALIFICATION)
    expect(option, "测绘资质 is in the maintained list").to_have_count(1)
    cert.get_by_label("资质类型").select_option(option.get_attribute("value"))
    cert.locator("#id_cert-level").fill("乙级")
    cert.locator("#id_cert-certificate_number").fill("乙测资字53500123")
    cert.locator("#id_cert-issuing_authority").fill("云南省自然资源厅")
    cert.locator("#id_cert-valid_from").fill((today - datetime.timedelta(days=365)).isoformat())
    cert.locator("#id_cert-valid_until").fill(
        (today + datetime.timedelta(days=3 * 365)).isoformat()
    )
    cert.locator("#id_cert-scan").set_input_files(str(pdf))
    _submit(page, "添加证书")
    _success(page, "资质证书已添加。")
    certificates = page.locator("#certificates table.data-table tbody")
    expect(certificates, "the certificate is listed").to_contain_text("乙测资字53500123")
    expect(certificates).to_contain_text(QUALIFICATION)

    prac = page.locator("#practitioners form", has=page.get_by_role("heading", name="添加执业人员"))
    prac.locator("#id_prac-name").fill(PRACTITIONER_NAME)
    prac.locator("#id_prac-id_number").fill(resident_id)
    prac.locator("#id_prac-certificate_names").fill("注册测绘师 测绘师53000123")
    prac.locator("#id_prac-social_insurance_proof").set_input_files(str(pdf))
    _submit(page, "添加人员")
    practitioners = page.locator("#practitioners table.data-table tbody")
    expect(practitioners, "the practitioner is listed").to_contain_text(PRACTITIONER_NAME)
    masked = resident_id[:4] + "*" * 12 + resident_id[-2:]
    expect(practitioners, "only the masked ID number is shown").to_contain_text(masked)
    assert resident_id not in page.content(), "the full ID number must never be shown"

    # Now the item is offerable.
    item_box = page.get_by_role("checkbox", name=ITEM_TITLE)
    expect(item_box, "with 测绘资质 乙级 the item can be ticked").to_be_enabled()
    item_box.check()
    _submit(page, "保存服务事项")
    expect(page.get_by_role("checkbox", name=ITEM_TITLE), "the item is declared").to_be_checked()

    expect(
        page.locator("#regions input[name=scope][value=province]"),
        "the service regions are province-wide by default",
    ).to_be_checked()
    missing = page.locator("#missing")
    expect(missing.locator(".missing-list"), "nothing is missing").to_have_count(0)
    expect(missing).to_contain_text("材料已齐全。")

    _submit(page, "提交审核")
    expect(page, "after submitting, the agency lands on its portal").to_have_url(
        re.compile(rf"/agencies/portal/{agency_pk}/$")
    )
    _success(page, "入驻申请已提交审核")


def regulator_login(page) -> None:
    page.goto("/agencies/review/")
    expect(page, "the review queue asks a visitor to log in").to_have_url(
        re.compile(r"/shop/accounts/login/")
    )
    login = page.locator("#login_form")
    login.locator("input[name='login-username']").fill(REVIEWER_EMAIL)
    login.locator("input[name='login-password']").fill(REVIEWER_PASSWORD)
    with page.expect_navigation():
        login.locator("button[name=login_submit]").click()
    expect(page, "after logging in the reviewer is back on the queue").to_have_url(
        re.compile(r"/agencies/review/$")
    )


def open_from_queue(page, agency_pk: int, uscc: str) -> None:
    page.goto("/agencies/review/")
    expect(page.get_by_role("heading", level=1)).to_have_text("入驻审核")
    row = page.locator("table.data-table tbody tr", has_text=AGENCY_NAME)
    expect(row, "the submitted agency waits in the reviewer's queue").to_have_count(1)
    expect(row).to_contain_text(uscc)
    expect(row, "the queue shows the declared item").to_contain_text(ITEM_TITLE)
    with page.expect_navigation():
        row.get_by_role("link", name=AGENCY_NAME).click()
    expect(page).to_have_url(re.compile(rf"/agencies/review/{agency_pk}/$"))


def decide(page, decision_label: str) -> None:
    page.get_by_role("radio", name=decision_label).check()
    _submit(page, "提交审核意见")
    expect(page, "after a decision the reviewer is back on the queue").to_have_url(
        re.compile(r"/agencies/review/$")
    )


# --- the journey ---------------------------------------------------------------------------------


def test_agency_enrols_is_returned_approved_and_lists_an_offering(
    browser_page, new_browser_page, journey_data, tmp_path, page_errors
):
    from agencies.validators import make_resident_id

    pdf = tmp_path / "licence.pdf"
    pdf.write_bytes(TINY_PDF)
    uscc, corrupted = _uscc_and_corrupted()
    resident_id = make_resident_id("53010219850612123")
    ceiling, standard_fee = journey_data["ceiling"], journey_data["standard_fee"]
    item = journey_data["item"]

    agency = browser_page
    # 1–2. Enrol and submit.
    agency_pk = enrol_and_register(agency, pdf, uscc, corrupted)
    declare_and_submit(agency, pdf, agency_pk, resident_id)

    # 3. The regulator returns it, with a reason beside the legal representative.
    regulator = new_browser_page()
    regulator_login(regulator)
    open_from_queue(regulator, agency_pk, uscc)
    expect(
        regulator.locator(".review-form"), "the reviewer sees the legal representative"
    ).to_contain_text(LEGAL_REP_WRONG)
    expect(
        regulator.locator("#r-pracs").locator(".."),
        "the reviewer sees the masked ID number only",
    ).not_to_contain_text(resident_id)
    regulator.get_by_text("逐项填写退回理由").click()
    regulator.get_by_label("退回理由：法定代表人", exact=True).fill(RETURN_REASON)
    decide(regulator, "退回修改")
    _success(regulator, "已退回修改")
    expect(
        regulator.locator("table.data-table tbody tr", has_text=AGENCY_NAME),
        "a returned enrolment leaves the queue",
    ).to_have_count(0)

    # 4. The agency reads the reason beside the field, corrects it and resubmits.
    agency.goto(f"/agencies/enrol/{agency_pk}/")
    expect(agency.locator("#returned"), "the page says the enrolment was returned").to_be_visible()
    reason = agency.locator("#field-legal_representative .field__reason")
    expect(reason, "the reason is beside the legal representative").to_contain_text(RETURN_REASON)
    expect(agency.locator("#field-name .field__reason"), "and beside no other field").to_have_count(
        0
    )
    agency.locator("#id_legal_representative").fill(LEGAL_REP_RIGHT)
    _submit(agency, "保存基本信息")
    _success(agency, "基本信息已保存")
    expect(agency.locator("#id_legal_representative")).to_have_value(LEGAL_REP_RIGHT)
    _submit(agency, "重新提交审核")
    expect(agency).to_have_url(re.compile(rf"/agencies/portal/{agency_pk}/$"))
    _success(agency, "入驻申请已提交审核")

    # 5. The regulator approves the corrected enrolment.
    open_from_queue(regulator, agency_pk, uscc)
    expect(
        regulator.locator(".review-form"), "the correction reached the reviewer"
    ).to_contain_text(LEGAL_REP_RIGHT)
    expect(
        regulator.locator("#r-history").locator(".."), "the return is in the history"
    ).to_contain_text(RETURN_REASON)
    decide(regulator, "同意入驻")
    _success(regulator, "已同意入驻")

    # 6. The agency lists an offering: above the ceiling refused, within it saved.
    agency.goto(f"/agencies/portal/{agency_pk}/")
    expect(
        agency.locator("#status-title").locator(".."), "the portal shows the approval"
    ).to_contain_text("审核通过")
    with agency.expect_navigation():
        agency.get_by_role("link", name="上架服务").click()
    expect(agency).to_have_url(re.compile(rf"/agencies/portal/{agency_pk}/offerings/new/$"))

    too_high = ceiling + Decimal(1000)
    within = (standard_fee * Decimal("0.9")).quantize(Decimal(1))
    assert within <= ceiling

    def fill_offering(price: Decimal) -> None:
        agency.get_by_label("服务事项", exact=False).first.select_option(
            label=f"{item.code} {ITEM_TITLE}"
        )
        agency.locator("input[name=pricing_mode][value=price]").check()
        agency.locator("#id_price").fill(str(price))
        agency.locator("#id_turnaround_days").fill("7")
        agency.locator("#id_description").fill("外业 3 个工作日，成果报告 4 个工作日内出具。")
        _submit(agency, "保存")

    fill_offering(too_high)
    price_errors = agency.locator("#field-price .field__errors")
    expect(price_errors, "a price above the ceiling is refused beside the price").to_contain_text(
        "超过收费上限"
    )
    expect(price_errors, "the refusal quotes the price").to_contain_text(
        f"价格 {_yuan(too_high)}元"
    )
    expect(price_errors, "… the ceiling").to_contain_text(f"收费上限 {_yuan(ceiling)}元")
    expect(price_errors, "… the standard fee").to_contain_text(f"标准收费 {_yuan(standard_fee)}元")
    expect(price_errors, "… and the computation").to_contain_text("计算过程")
    expect(agency.locator("#id_price"), "the refused price is kept").to_have_value(str(too_high))

    fill_offering(within)
    expect(agency).to_have_url(re.compile(rf"/agencies/portal/{agency_pk}/"))
    _success(agency, "服务报价已保存。")
    offering_row = agency.locator("#offerings tbody tr", has_text=ITEM_TITLE)
    expect(offering_row, "the offering is listed in the portal").to_have_count(1)
    expect(offering_row).to_contain_text(f"¥{_yuan(within)}")
    expect(offering_row.locator("td").nth(3), "and it is on the public shelf").to_have_text("是")

    # 7. An anonymous visitor sees it on the public profile; personal data is masked. The
    # directory is a search: the approval reaches its index through the outbox, which the
    # worker delivers after commit (Celery is not eager in tests: deliver it here).
    from marketplace import outbox

    while outbox.sweep():
        pass
    visitor = new_browser_page()
    response = visitor.goto("/agencies/")
    assert response.status == 200
    with visitor.expect_navigation():
        visitor.get_by_role("link", name=AGENCY_NAME).click()
    expect(visitor, "the directory links to the public profile").to_have_url(
        re.compile(rf"/agencies/{agency_pk}/$")
    )
    expect(visitor.get_by_role("heading", level=1)).to_have_text(AGENCY_NAME)
    expect(visitor.locator("dl.facts").first, "the profile shows the USCC").to_contain_text(uscc)
    shelf_row = visitor.get_by_role("table", name="服务报价").locator(
        "tbody tr", has_text=ITEM_TITLE
    )
    expect(shelf_row, "the offering is on the public profile").to_have_count(1)
    expect(shelf_row, "with its price, within the ceiling").to_contain_text(f"¥{_yuan(within)}")
    expect(visitor.locator("body"), "the practitioner's name is masked").to_contain_text(
        PRACTITIONER_MASKED
    )
    body = visitor.locator("body").inner_text()
    assert PRACTITIONER_NAME not in body, "the practitioner's full name must not be public"
    assert resident_id not in body and resident_id[:4] + "*" not in body, (
        "no ID number, not even masked, on the public profile"
    )
    assert page_errors == [], f"uncaught JavaScript errors: {page_errors}"
