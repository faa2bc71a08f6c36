"""Journeys of issue 7 (ratings, credit, complaints, sanctions and the blacklist), in the
browser, in the Chinese UI:

1. the owner rates an accepted contract on its page (five dimensions 1–5 and a comment); once
   the outbox has recomputed the credit, the agency's grade and score change on its public
   profile, in the directory and in the search API; a second rating (a stale tab) is refused
   with a clear message;
2. the owner files a complaint with an evidence PDF; the regulator in charge accepts it; the
   accused agency submits its statement, which puts the complaint under investigation at once;
   the regulator upholds it; the outcome is published with the complainant anonymised, and
   the credit follows;
3. a reviewer proposes a market ban; the proposer cannot approve it (four eyes), a supervisor
   does; the agency is then refused registration (its feed says why), left out of a draw's
   pool, shown as not selectable and absent from the eligible agencies in search, and its
   offering leaves the shelf; an agency of grade C sees why it may not register for an
   announcement that requires B;
4. the agency appeals; a third regulator (neither proposer nor approver) upholds the ban; the
   public blacklist shows name, USCC, reason, legal basis, period and the appeal's outcome,
   and its CSV export has the row;
5. the scheduler's job ends the ban after its last day: the blacklist shows it ended, the
   offering is back on the shelf and the agency may register again.

Side effects (credit, search index, notices) are outbox messages: the test delivers them as the
worker would, in a thread of its own (Playwright's sync API keeps an event loop running in
this one). The scheduler's job runs the same way, with ``today`` after the ban's last day.
"""

from __future__ import annotations

import csv
import datetime
import io
import re
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from types import SimpleNamespace
from urllib.parse import quote

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e

PASSWORD = "Journey-2026-ratings!"
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"

# (dimension label on the rating form, score): average 4.80, i.e. +13.50 credit points.
SCORES = [("服务质量", 5), ("服务时效", 5), ("服务态度", 5), ("收费合理性", 4), ("依法依规", 5)]
COMMENT = "报告表编制规范，现场踏勘及时，沟通顺畅；收费略高于同类项目。"
COMPLAINT_SUBJECT = "环评报告引用与项目无关的监测数据"
COMPLAINT_FACTS = (
    "该机构编制的环境影响报告表中，噪声现状监测数据取自其他项目，采样点位与本项目所在地"
    "不符，经我单位核对后多次要求更正未果。请监管部门调查处理。"
)
STATEMENT = "监测数据系委托第三方检测机构取得，点位描述有误，已重新组织监测并更正报告表。"
DECISION = "经调查，报告表引用的监测数据采样点位与项目所在地不符，投诉事实成立，责令限期改正。"

OPEN_TITLE = "五华区老旧小区改造项目环境影响评价（报名中）"
DRAW_TITLE = "五华区老旧小区改造项目环境影响评价（待抽取）"
GRADED_TITLE = "五华区老旧小区改造项目环境影响评价（信用B级以上）"
BAN_FACTS = "经查，该机构出具的环境影响报告表引用与项目无关的监测数据，成果严重失实。"
APPEAL_GROUNDS = "相关监测数据系委托第三方检测机构取得，并非伪造，请求撤销市场禁入决定。"
APPEAL_DECISION = "经复核，第三方检测报告的采样点位与项目所在地不符，申诉理由不能成立，维持原决定。"
BAN_DAYS = 30


# --- helpers ----------------------------------------------------------------------------------


def off_thread(fn, *args, **kwargs):
    """Runs ``fn`` in a thread of its own, as a worker or the scheduler would (the channel
    layer's async_to_sync cannot run in Playwright's thread), and returns its result."""
    from django.db import connections

    def run():
        try:
            return fn(*args, **kwargs)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result()


def deliver_all() -> None:
    """The outbox sweep, until nothing is left (credit recomputes, index updates, notices)."""
    from marketplace import outbox

    def sweep():
        while outbox.sweep():
            pass

    off_thread(sweep)


def credentials(user, email: str):
    user.email = email
    user.set_password(PASSWORD)
    user.save()
    return user


def login(page, user, next_path: str) -> None:
    """Oscar's login page, then back to ``next_path``."""
    page.goto(f"/shop/accounts/login/?next={quote(next_path)}")
    form = page.locator("#login_form")
    form.locator("input[name='login-username']").fill(user.email)
    form.locator("input[name='login-password']").fill(PASSWORD)
    with page.expect_navigation():
        form.locator("button[name=login_submit]").click()
    expect(page).to_have_url(re.compile(re.escape(next_path) + "$"))


def flash(page):
    return page.locator(".flash")


def status_badge(page):
    """The status badge under a page's heading (complaint and sanction pages)."""
    return page.locator("h1 + p > .status, dl.facts .status").first


def pdf(tmp_path, name: str) -> str:
    path = tmp_path / name
    path.write_bytes(PDF)
    return str(path)


def rate(page) -> None:
    form = page.locator("#rating-form")
    for label, score in SCORES:
        group = form.get_by_role("group", name=label)
        group.get_by_role("radio", name=str(score), exact=True).check()
    form.locator("textarea[name=comment]").fill(COMMENT)
    with page.expect_navigation():
        form.get_by_role("button", name="提交评价").click()


def result_card(page, name: str):
    return page.locator(".result-card").filter(has=page.get_by_role("link", name=name, exact=True))


def result_names(page) -> list[str]:
    return page.locator(".result-card__title a").all_inner_texts()


def api_hit(page, live_url, agency) -> dict:
    response = page.request.get(live_url(f"/api/search/agencies/?q={agency.organisation.uscc}"))
    assert response.ok, response.text()
    hits = [r for r in response.json()["results"] if r["id"] == str(agency.pk)]
    assert len(hits) == 1, response.json()
    return hits[0]


# --- 1 and 2: rating, credit, complaint -------------------------------------------------------


@pytest.fixture
def rated(transactional_db):
    """An accepted contract (one milestone delivered and accepted), its owner's and agency's
    administrators, and the city regulator (昆明市, ecology) in charge of complaints about
    the agency, with a reviewer. The acceptance's credit recompute is delivered."""
    from marketplace.models import Role
    from tests.agencies.factories import add_member, kunming, make_regulator, yunnan_regions
    from tests.payments_helpers import agency_admin, contract_to_pay
    from tests.procurement.factories import make_world

    yunnan_regions()
    world = make_world(agencies=3)
    contract = contract_to_pay(world, amounts=("9000.00",))
    regulator = make_regulator(
        region=kunming(), industries=["ecology"], name="昆明市生态环境局（测试）"
    )
    scene = SimpleNamespace(
        contract=contract,
        agency=contract.agency,
        owner_org=world.owner.organisation,
        owner_user=credentials(world.owner.admin_user, "owner@ratings.journey.example.com"),
        agency_user=credentials(agency_admin(contract), "agency@ratings.journey.example.com"),
        reviewer=credentials(
            add_member(regulator, Role.REVIEWER), "reviewer@ratings.journey.example.com"
        ),
    )
    deliver_all()
    scene.agency.refresh_from_db()
    return scene


def test_a_rating_moves_the_credit_and_an_upheld_complaint_is_published_anonymously(
    rated, new_browser_page, live_url, tmp_path, page_errors
):
    from ratings.models import Complaint, ComplaintStatus, Rating

    agency = rated.agency
    name, uscc = agency.organisation.name, agency.organisation.uscc
    contract_url = f"/procurement/contracts/{rated.contract.code}/"
    profile_url = f"/agencies/{agency.pk}/"
    assert agency.credit_grade == "B", "after its acceptance the agency is graded B"
    score_before = agency.credit_score

    visitor = new_browser_page()
    visitor.goto(profile_url)
    expect(visitor.locator("#credit-grade")).to_have_text("B")
    expect(visitor.locator("#rating-overall")).to_have_text("暂无评价")

    # 1. The owner rates the service on the contract page. A second tab, opened before,
    # still shows the form.
    owner = new_browser_page()
    login(owner, rated.owner_user, contract_url)
    stale = owner.context.new_page()
    stale.goto(contract_url)
    owner.bring_to_front()  # a background tab is throttled
    expect(owner.get_by_role("heading", name="服务评价")).to_be_visible()
    rate(owner)
    expect(flash(owner)).to_contain_text("感谢您的评价")
    expect(owner.locator("#rating-average")).to_contain_text("4.80")
    expect(owner.locator("#rating-form")).to_have_count(0)

    # Rating twice (from the stale tab) is refused with a clear message; nothing changes.
    stale.bring_to_front()
    rate(stale)
    expect(flash(stale)).to_contain_text("该合同已评价。")
    assert Rating.objects.filter(contract=rated.contract).count() == 1

    # The credit is recomputed after commit (the outbox): B → A on the profile, the
    # directory and the search API.
    deliver_all()
    agency.refresh_from_db()
    assert agency.credit_grade == "A"
    assert agency.credit_score == score_before + Decimal("13.50")
    visitor.reload()
    expect(visitor.locator("#credit-grade")).to_have_text("A")
    expect(visitor.locator("#credit-score")).to_have_text(str(agency.credit_score))
    expect(visitor.locator("#rating-overall")).to_contain_text("4.80")
    expect(visitor.locator("#ratings .rating-list")).to_contain_text(COMMENT)
    visitor.goto(f"/agencies/?q={quote(name)}")
    card = result_card(visitor, name)
    expect(card).to_contain_text(re.compile(r"信用等级\s*A"))
    expect(card).to_contain_text("4.80")
    hit = api_hit(visitor, live_url, agency)
    assert (hit["credit_grade"], hit["credit_score"]) == ("A", float(agency.credit_score))
    assert hit["rating_count"] == 1

    # 2. The owner complains about the agency from its profile, with an evidence PDF.
    owner.goto(profile_url)
    owner.get_by_role("link", name="投诉举报").click()
    expect(owner.get_by_role("textbox", name="被投诉中介机构")).to_have_value(uscc)
    owner.get_by_role("radio", name="项目业主", exact=True).check()
    owner.get_by_role("textbox", name="投诉事项").fill(COMPLAINT_SUBJECT)
    owner.get_by_role("textbox", name="事实和理由").fill(COMPLAINT_FACTS)
    owner.locator("input[name=files]").set_input_files(pdf(tmp_path, "噪声监测点位核对.pdf"))
    with owner.expect_navigation():
        owner.get_by_role("button", name="提交投诉").click()
    complaint = Complaint.objects.get()
    expect(owner).to_have_url(re.compile(rf"/ratings/complaints/{complaint.code}/$"))
    expect(flash(owner)).to_contain_text(complaint.code)
    expect(status_badge(owner)).to_have_text("已提交")

    # The regulator in charge sees it in its queue, with the evidence, and accepts it.
    reviewer = new_browser_page()
    login(reviewer, rated.reviewer, "/ratings/complaints/queue/")
    reviewer.get_by_role("link", name=complaint.code).click()
    expect(reviewer.locator("section[aria-labelledby=c-evidence]")).to_contain_text(
        "噪声监测点位核对.pdf"
    )
    reviewer.get_by_role("button", name="受理", exact=True).click()
    expect(flash(reviewer)).to_contain_text("已受理")
    expect(status_badge(reviewer)).to_have_text("已受理")

    # The accused agency states its case, with evidence: the complaint goes to
    # investigation at once (调查中).
    accused = new_browser_page()
    login(accused, rated.agency_user, "/ratings/complaints/mine/")
    accused.get_by_role("link", name=complaint.code).click()
    accused.get_by_role("textbox", name="陈述申辩").fill(STATEMENT)
    accused.locator("section[aria-labelledby=c-state] input[name=files]").set_input_files(
        pdf(tmp_path, "第三方监测报告.pdf")
    )
    accused.get_by_role("button", name="提交陈述").click()
    expect(flash(accused)).to_contain_text("陈述申辩已提交")
    expect(status_badge(accused)).to_have_text("调查中")
    complaint.refresh_from_db()
    assert complaint.status == ComplaintStatus.INVESTIGATING

    # The regulator upholds it; the decision is published at once.
    reviewer.reload()
    expect(reviewer.locator("section[aria-labelledby=c-statement]")).to_contain_text(STATEMENT)
    expect(reviewer.locator("section[aria-labelledby=c-evidence]")).to_contain_text(
        "第三方监测报告.pdf"
    )
    reviewer.get_by_role("radio", name="投诉成立", exact=True).check()
    reviewer.get_by_role("textbox", name="处理决定及理由").fill(DECISION)
    reviewer.get_by_role("button", name="作出并公示处理决定").click()
    expect(flash(reviewer)).to_contain_text("处理决定已记录并公示")
    complaint.refresh_from_db()
    assert complaint.status == ComplaintStatus.UPHELD

    # The public outcomes page: the target, the outcome and the decision; the complainant
    # only as "一名项目业主".
    visitor.goto("/ratings/complaints/outcomes/")
    row = visitor.locator("tbody tr", has_text=complaint.code)
    expect(row).to_contain_text("一名项目业主")
    expect(row).to_contain_text(name)
    expect(row).to_contain_text(DECISION)
    expect(row).to_contain_text("投诉成立")
    page_text = visitor.locator("main").inner_text()
    for private in (
        rated.owner_org.name,
        rated.owner_user.email,
        COMPLAINT_SUBJECT,
        "噪声监测点位核对.pdf",
    ):
        assert private not in page_text, f"{private!r} must not be published"

    # The upheld complaint costs the agency 8 points, explained in its credit record.
    deliver_all()
    agency.refresh_from_db()
    assert agency.credit_score == score_before + Decimal("13.50") - 8
    visitor.goto(profile_url)
    expect(visitor.locator("#credit-grade")).to_have_text(agency.credit_grade)
    expect(visitor.locator("#credit-score")).to_have_text(str(agency.credit_score))
    visitor.locator("#credit-history-link").click()
    latest = visitor.locator("section.panel").first
    expect(latest).to_contain_text("complaint.upheld")
    expect(latest.locator("tr[data-term=complaints]")).to_contain_text("-8.00")

    assert page_errors == []


# --- 3 to 5: a market ban, its appeal, the blacklist and the expiry ----------------------------


@pytest.fixture
def banned(transactional_db):
    """Four approved agencies eligible for ``eia``; the first (the subject) has an offering on
    the shelf; three published announcements: one open, one all four registered for, one
    requiring credit grade B; a fifth agency graded C; a city regulator (昆明市, ecology)
    with a reviewer (proposes), a supervisor (approves) and another reviewer (decides the
    appeal)."""
    from agencies import shelf
    from agencies.models import Agency
    from marketplace.models import Role
    from tests.agencies.factories import add_member, kunming, make_regulator, yunnan_regions
    from tests.procurement.factories import (
        make_announcement,
        make_eligible_agency,
        make_world,
        register_all,
    )

    yunnan_regions()
    world = make_world(agencies=4)
    subject = world.agencies[0]
    offering = shelf.offering_save(
        actor=subject.admin_user,
        agency=subject,
        service_item=world.item,
        pricing_mode="price",
        price=Decimal(8000),
        reference_amount=Decimal(1000000),
        turnaround_days=10,
        description="编制环境影响报告表",
    )
    open_announcement = make_announcement(world, title=OPEN_TITLE)
    drawn = make_announcement(world, title=DRAW_TITLE)
    register_all(drawn, world.agencies)
    graded = make_announcement(world, title=GRADED_TITLE, min_credit_grade="B")
    low = make_eligible_agency(world.item)
    Agency.objects.filter(pk=low.pk).update(credit_grade="C", credit_score=Decimal("68.00"))
    regulator = make_regulator(
        region=kunming(), industries=["ecology"], name="昆明市生态环境局（测试）"
    )
    people = {
        "proposer": add_member(regulator, Role.REVIEWER),
        "supervisor": add_member(regulator, Role.SUPERVISOR),
        "third": add_member(regulator, Role.REVIEWER),
        "subject_user": subject.admin_user,
        "low_user": low.admin_user,
    }
    for key, user in people.items():
        credentials(user, f"{key}@ban.journey.example.com")
    deliver_all()
    return SimpleNamespace(
        subject=subject,
        offering=offering,
        open=open_announcement,
        drawn=drawn,
        graded=graded,
        low=low,
        item_title=world.item.title,
        **people,
    )


def forge_approve(page) -> None:
    """What a proposer without the approve button could still send: the approve action,
    posted with the page's own CSRF token."""
    with page.expect_navigation():
        page.evaluate(
            """() => {
                const form = document.createElement("form");
                form.method = "post";
                form.action = location.pathname;
                const token = document.querySelector("input[name=csrfmiddlewaretoken]").value;
                for (const [name, value] of [["csrfmiddlewaretoken", token], ["action", "approve"]]) {
                    const input = document.createElement("input");
                    input.type = "hidden"; input.name = name; input.value = value;
                    form.appendChild(input);
                }
                document.body.appendChild(form);
                form.submit();
            }"""
        )


def test_a_market_ban_bars_the_agency_survives_its_appeal_is_published_and_expires(
    banned, new_browser_page, live_url, page_errors
):
    from django.utils import timezone

    from procurement.models import Registration, RegistrationStatus
    from ratings import sanctions
    from ratings.models import Sanction, SanctionStatus
    from ratings.reasons import BASIS_2015
    from tests.procurement.factories import close_and_draw

    subject = banned.subject
    name, uscc = subject.organisation.name, subject.organisation.uscc
    profile_url = f"/agencies/{subject.pk}/"
    product_url = banned.offering.product.get_absolute_url()
    today = timezone.localdate()
    ends_on = today + datetime.timedelta(days=BAN_DAYS - 1)

    visitor = new_browser_page()
    assert visitor.goto(product_url).status == 200, "the offering is on the shelf"

    # 3. A reviewer proposes a market ban.
    proposer = new_browser_page()
    login(proposer, banned.proposer, "/ratings/sanctions/")
    proposer.get_by_role("link", name="提议失信惩戒").click()
    proposer.get_by_role("textbox", name="中介机构统一社会信用代码").fill(uscc)
    proposer.get_by_role("combobox", name="理由").select_option("FALSE_RESULT")
    proposer.get_by_role("combobox", name="处理措施").select_option("ban")
    proposer.get_by_label("起始日期").fill(today.isoformat())
    proposer.get_by_label("截止日期").fill(ends_on.isoformat())
    proposer.get_by_role("textbox", name="认定事实").fill(BAN_FACTS)
    with proposer.expect_navigation():
        proposer.get_by_role("button", name="提议", exact=True).click()
    ban = Sanction.objects.get()
    expect(proposer).to_have_url(re.compile(rf"/ratings/sanctions/{ban.pk}/$"))
    expect(flash(proposer)).to_contain_text("失信惩戒已记录")
    expect(status_badge(proposer)).to_have_text("拟处理")

    # The proposer cannot approve it: no button, and the action itself is refused.
    expect(proposer.get_by_role("button", name="批准市场禁入")).to_have_count(0)
    forge_approve(proposer)
    expect(flash(proposer)).to_contain_text("须由另一名监管人员批准")
    ban.refresh_from_db()
    assert ban.status == SanctionStatus.PROPOSED
    proposer.goto("/ratings/sanctions/approvals/")
    expect(proposer.get_by_role("link", name=ban.code)).to_have_count(0)

    # A supervisor approves it: in effect at once.
    supervisor = new_browser_page()
    login(supervisor, banned.supervisor, "/ratings/sanctions/approvals/")
    supervisor.get_by_role("link", name=ban.code).click()
    supervisor.get_by_role("button", name="批准市场禁入").click()
    expect(flash(supervisor)).to_contain_text("市场禁入已批准并生效")
    expect(status_badge(supervisor)).to_have_text("生效中")
    deliver_all()

    # The agency's feed explains the bar, and registering is refused with it.
    agency = new_browser_page()
    login(agency, banned.subject_user, "/procurement/agency/")
    item = agency.locator("article.feed-item", has_text=OPEN_TITLE)
    expect(item).to_contain_text("本机构不符合条件")
    expect(item).to_contain_text(ban.code)
    item.get_by_role("button", name="报名").click()
    expect(flash(agency)).to_contain_text("本机构不符合条件")
    expect(flash(agency)).to_contain_text(ban.code)
    assert not Registration.objects.filter(announcement=banned.open, agency=subject).exists()

    # Out of the draw: at closing its earlier registration is found ineligible, with the ban
    # as the reason, and the draw ranks only the others.
    assert off_thread(close_and_draw, banned.drawn) == "selected"
    registration = Registration.objects.get(announcement=banned.drawn, agency=subject)
    assert registration.status == RegistrationStatus.INELIGIBLE
    ranked = {entry["id"] for entry in banned.drawn.draw.record["ranking"]}
    assert subject.pk not in ranked and len(ranked) == 3
    agency.goto(f"/procurement/agency/registrations/{registration.pk}/")
    status = agency.get_by_role("region", name="状态")
    expect(status).to_contain_text("不符合条件")
    expect(status).to_contain_text(ban.code)

    # Search: not among the agencies that may be selected; its card says so; the API
    # carries the ban.
    visitor.goto("/agencies/?eligible=yes")
    expect(visitor.locator(".result-card").first).to_be_visible()
    assert name not in result_names(visitor)
    visitor.goto(f"/agencies/?q={quote(name)}")
    expect(result_card(visitor, name)).to_contain_text("当前不可选取")
    hit = api_hit(visitor, live_url, subject)
    assert hit["eligible"] is False and hit["sanction"]["code"] == ban.code

    # The shelf: the offering is gone (its product page is a 404, the profile lists none).
    assert visitor.goto(product_url).status == 404
    visitor.goto(profile_url)
    expect(visitor.get_by_text("暂无上架服务。")).to_be_visible()
    expect(visitor.locator("#credit-grade")).to_have_text("D")  # a ban makes the grade D
    sanctions_panel = visitor.locator("#sanctions")
    expect(sanctions_panel).to_contain_text(ban.code)
    expect(sanctions_panel).to_contain_text("市场禁入（黑名单）")

    # Minimum credit grade: an agency graded C sees why it may not register for an
    # announcement requiring B, and is refused.
    low = new_browser_page()
    login(low, banned.low_user, "/procurement/agency/")
    item = low.locator("article.feed-item", has_text=GRADED_TITLE)
    expect(item).to_contain_text("信用等级C级，低于要求的B级。")
    item.get_by_role("button", name="报名").click()
    expect(flash(low)).to_contain_text("信用等级C级，低于要求的B级。")
    assert not Registration.objects.filter(announcement=banned.graded, agency=banned.low).exists()

    # 4. The agency appeals.
    agency.goto("/ratings/sanctions/mine/")
    section = agency.locator(f"#sanction-{ban.pk}")
    expect(section).to_contain_text("生效中")
    section.get_by_role("textbox", name="申诉理由").fill(APPEAL_GROUNDS)
    section.get_by_role("button", name="申诉", exact=True).click()
    expect(flash(agency)).to_contain_text("申诉已提交")
    expect(agency.locator(f"#sanction-{ban.pk}")).to_contain_text("申诉中")

    # Neither the proposer nor the approver may decide it; a third regulator does.
    supervisor.goto("/ratings/sanctions/appeals/")
    expect(supervisor.get_by_role("link", name=ban.code)).to_have_count(0)
    third = new_browser_page()
    login(third, banned.third, "/ratings/sanctions/appeals/")
    third.get_by_role("link", name=ban.code).click()
    third.get_by_role("radio", name="维持惩戒").check()
    third.locator("textarea[name=decision]").fill(APPEAL_DECISION)
    third.get_by_role("button", name="记录决定").click()
    expect(flash(third)).to_contain_text("申诉决定已记录并公示")
    expect(status_badge(third)).to_have_text("申诉维持")

    # The public blacklist: name, USCC, reason, legal basis, period, measure, status and the
    # appeal's outcome.
    visitor.goto("/ratings/blacklist/")
    visitor.get_by_role("textbox", name="名称或统一社会信用代码").fill(uscc)
    with visitor.expect_navigation():
        visitor.get_by_role("textbox", name="名称或统一社会信用代码").press("Enter")
    row = visitor.locator("tbody tr", has_text=uscc)
    expect(row).to_have_count(1)
    for text in (
        name,
        ban.code,
        "出具虚假或严重失实的中介服务成果",
        BASIS_2015,
        "市场禁入",
        f"{today.isoformat()} – {ends_on.isoformat()}",
        "申诉维持",
        "维持原决定",
        APPEAL_DECISION,
    ):
        expect(row).to_contain_text(text)

    # Its CSV export (the page's own link, same filters) has the row.
    href = visitor.get_by_role("link", name="导出 CSV").get_attribute("href")
    response = visitor.request.get(live_url("/ratings/blacklist/" + href))
    assert response.ok and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.body().decode("utf-8-sig"))))
    [line] = [r for r in rows[1:] if uscc in r]
    for text in (
        ban.code,
        name,
        "出具虚假或严重失实的中介服务成果",
        BASIS_2015,
        today.isoformat(),
        ends_on.isoformat(),
        "申诉维持",
        APPEAL_DECISION,
    ):
        assert text in line, (text, line)

    # 5. The ban runs out: the scheduler's job, the day after its last day.
    after = ends_on + datetime.timedelta(days=1)
    assert off_thread(sanctions.expire_due, today=after) == {"expired": 1, "started": 0}
    deliver_all()
    ban.refresh_from_db()
    assert ban.status == SanctionStatus.EXPIRED

    visitor.reload()
    row = visitor.locator("tbody tr", has_text=uscc)
    expect(row.locator(".status")).to_have_class(re.compile(r"status--expired"))
    expect(row).to_contain_text("期满解除")

    # Back on the shelf, selectable in search, and it may register again.
    assert visitor.goto(product_url).status == 200
    visitor.goto(profile_url)
    expect(visitor.get_by_role("table", name="服务报价")).to_contain_text(banned.item_title)
    # The ban stays on the profile as history, ended, no longer as a bar.
    expect(visitor.locator("#sanctions")).to_contain_text("期满解除")
    expect(visitor.locator("#sanctions")).not_to_contain_text("市场禁入（黑名单）")
    visitor.goto("/agencies/?eligible=yes")
    expect(result_card(visitor, name)).to_contain_text("当前可选取")
    assert api_hit(visitor, live_url, subject)["eligible"] is True
    agency.goto("/procurement/agency/")
    item = agency.locator("article.feed-item", has_text=OPEN_TITLE)
    expect(item).to_contain_text("本机构符合报名条件")
    item.get_by_role("button", name="报名").click()
    expect(flash(agency)).to_contain_text("报名成功")
    assert Registration.objects.filter(announcement=banned.open, agency=subject).exists()

    assert page_errors == []
