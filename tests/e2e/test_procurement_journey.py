"""Journey of issue 5's "Done when", in the browser (the live room has its own journey):

1. the owner logs in, opens a project and writes an announcement: a ceiling above the fee
   rule's is refused with the fee computation beside the field and the input kept; within the
   ceiling the draft is saved and published, with its commitment shown on the public page;
2. an agency sees it in its feed, eligible, and registers (a second click is refused with a
   clear message); two more agencies register;
3. the deadline passes and the scheduler's job closes and draws (run here with the clock past
   the deadline, as the chronograph would); the public page shows the pool hash, the ranking
   and the result, and its draw.json verifies with the standalone verifier;
4. the selected agency declines in the browser and the first alternate is promoted, which the
   public page shows.
"""

from __future__ import annotations

import datetime
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e

PASSWORD = "Journey-2026-procurement!"
TITLE = "五华区老旧小区改造项目环境影响评价（测试）"


@pytest.fixture
def scene(transactional_db):
    from tests.agencies.factories import yunnan_regions
    from tests.procurement.factories import make_world

    yunnan_regions()
    world = make_world(agencies=3)
    users = [world.owner.admin_user] + [a.admin_user for a in world.agencies]
    for number, user in enumerate(users):
        user.email = f"user{number}@journey.example.com"
        user.set_password(PASSWORD)
        user.save()
    return world


def login(page, email: str, next_path: str) -> None:
    page.goto(next_path)
    expect(page).to_have_url(re.compile(r"/shop/accounts/login/"))
    form = page.locator("#login_form")
    form.locator("input[name='login-username']").fill(email)
    form.locator("input[name='login-password']").fill(PASSWORD)
    with page.expect_navigation():
        form.locator("button[name=login_submit]").click()
    expect(page).to_have_url(re.compile(re.escape(next_path) + "$"))


def fill_announcement(page, world, ceiling: str) -> None:
    from tests.procurement.factories import deadline

    page.get_by_label("服务事项").select_option(value=str(world.item.pk))
    page.get_by_label("标题").fill(TITLE)
    page.get_by_label("服务范围").fill("编制环境影响报告表并取得批复")
    page.get_by_label("最高限价（元）").fill(ceiling)
    page.get_by_label("随机抽取").check()
    page.get_by_label("全省").check()
    local = deadline().astimezone(datetime.timezone(datetime.timedelta(hours=8)))
    page.get_by_label("报名截止时间").fill(local.strftime("%Y-%m-%dT%H:%M"))


def test_owner_posts_agencies_register_the_draw_runs_and_an_alternate_is_promoted(
    scene, new_browser_page, live_url, tmp_path
):
    from marketplace import chronograph
    from procurement import draw, services
    from procurement.models import Announcement, Registration, RegistrationStatus

    world = scene
    owner = new_browser_page()
    login(owner, world.owner.admin_user.email, "/procurement/owner/")
    owner.get_by_role("link", name="新建公告").first.click()

    # 1. A ceiling above the fee rule's is refused with the computation; nothing is saved.
    fill_announcement(owner, world, "900000")
    owner.get_by_role("button", name="保存草稿").click()
    error = owner.locator("#field-budget_ceiling .field__errors").filter(has_text="计算过程")
    expect(error.first).to_be_visible()
    expect(owner.get_by_label("标题")).to_have_value(TITLE)
    assert not Announcement.objects.exists()
    owner.get_by_label("最高限价（元）").fill("10000")
    owner.get_by_role("button", name="保存草稿").click()
    owner.get_by_role("button", name="发布").click()
    announcement = Announcement.objects.get()
    assert announcement.status == "published"

    visitor = new_browser_page()
    visitor.goto(f"/procurement/{announcement.code}/")
    expect(visitor.locator("#commitment")).to_have_text(announcement.commitment)

    # 2. An agency registers from its feed; a second attempt is refused.
    agency_page = new_browser_page()
    first = world.agencies[0]
    login(agency_page, first.admin_user.email, "/procurement/agency/")
    item = agency_page.locator("article.feed-item", has_text=TITLE)
    expect(item.get_by_text("本机构符合报名条件")).to_be_visible()
    item.get_by_role("button", name="报名").click()
    expect(agency_page.locator(".flash")).to_contain_text("报名")
    assert Registration.objects.filter(agency=first).exists()
    for agency in world.agencies[1:]:
        services.registration_submit(
            actor=agency.admin_user, announcement=announcement, agency=agency
        )

    # 3. The deadline passes: the scheduler closes and draws.
    later = announcement.registration_deadline + datetime.timedelta(seconds=30)
    [result] = chronograph.run_due_jobs(now=later, names=["procurement.close_and_draw"])
    assert result.result == {"closed": 1, "failed": 0, "selected": 1}
    announcement.refresh_from_db()
    visitor.reload()
    expect(visitor.get_by_text(announcement.pool_hash).first).to_be_visible()
    response = visitor.request.get(live_url(f"/procurement/{announcement.code}/draw.json"))
    assert response.ok
    record = json.loads(response.body())
    assert draw.verify(record) == []
    (tmp_path / "draw.json").write_bytes(response.body())
    verifier = visitor.request.get(live_url("/procurement/verifier.py"))
    (tmp_path / "verifier.py").write_bytes(verifier.body())
    checked = subprocess.run(
        [
            sys.executable,
            "-I",
            str(tmp_path / "verifier.py"),
            "verify",
            str(tmp_path / "draw.json"),
        ],
        capture_output=True,
        text=True,
        cwd=Path(tmp_path),
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr

    # 4. The selected agency declines in the browser; the first alternate is promoted.
    selected = Registration.objects.get(status=RegistrationStatus.SELECTED)
    alternate = Registration.objects.get(announcement=announcement, position=2)
    page = agency_page
    if selected.agency_id != first.pk:
        page = new_browser_page()
        login(
            page,
            selected.agency.organisation.memberships.get().user.email,
            f"/procurement/agency/registrations/{selected.pk}/",
        )
    else:
        page.goto(f"/procurement/agency/registrations/{selected.pk}/")
    page.get_by_role("button", name="放弃").click()
    selected.refresh_from_db()
    alternate.refresh_from_db()
    assert selected.status == RegistrationStatus.DECLINED
    assert alternate.status == RegistrationStatus.SELECTED
    visitor.reload()
    expect(visitor.get_by_text("由候补递补").first).to_be_visible()
