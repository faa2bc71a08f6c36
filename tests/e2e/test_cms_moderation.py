"""Journey of issue 2's "Done when": edit an item in /cms/ and publish it through moderation.

The catalog editor changes a service item in Wagtail's editor and submits it to the "Catalog
review" workflow; the public page is unchanged and the editor cannot publish; the catalog
reviewer approves it from the dashboard; the public page then shows the change, and Wagtail's
revisions and log entries record who did what.

The public pages are looked at by an anonymous visitor with the server-side page cache switched
on (as in the demo), so a stale cached page after the approval would fail this journey."""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import cms_login

pytestmark = pytest.mark.e2e

ITEM_PATH = "/catalog/construction/yn-zj-0001/"
ITEM_TITLE = "建设工程招标代理（工程招标）"
OLD_SUMMARY = "受招标人委托，编制招标文件、发布招标公告、组织开标评标并协助确定中标人。"
NEW_SUMMARY = "受招标人委托办理工程招标全过程代理（端到端测试修改）。"


@pytest.fixture
def demo_catalog(transactional_db, settings):
    from django.core.cache import cache

    from cms.demo import load_catalog
    from cms.fees.demo import load_fee_rules

    # The demo serves public pages from the page cache (cms/cache.py); test settings switch it
    # off, this journey switches it back on. The cache is the in-process LocMemCache.
    settings.MARKETPLACE = {**settings.MARKETPLACE, "PAGE_CACHE_SECONDS": 300}
    cache.clear()
    load_fee_rules()
    return load_catalog()


def public_summary(page) -> str:
    page.goto(ITEM_PATH)
    expect(page.get_by_role("heading", level=1)).to_have_text(ITEM_TITLE)
    return page.locator(".item__header .lead").inner_text()


def cached_page_count() -> int:
    """Pages held by the page cache (LocMemCache in tests; its store is shared by the live
    server's thread). Proves the publish below has a cached page to invalidate."""
    from django.core.cache import cache

    return sum("mp:pagecache:v1:" in key for key in getattr(cache, "_cache", {}))


def footer_actions(page):
    """Wagtail's footer action menu: a default button plus a dropdown ("更多动作") of the others,
    opened here so that every action is visible."""
    footer = page.locator("footer nav.actions")
    expect(footer, "the editor's footer action menu").to_be_visible()
    toggle = footer.get_by_role("button", name="更多动作")
    if toggle.count() and toggle.get_attribute("aria-expanded") != "true":
        toggle.click()
        expect(toggle).to_have_attribute("aria-expanded", "true")
    return footer


def test_edit_submit_review_approve_publish(new_browser_page, demo_catalog, page_errors):
    from wagtail.models import PageLogEntry, WorkflowState

    from cms.models import ServiceItemPage
    from cms.moderation import DEMO_EDITOR_EMAIL, DEMO_REVIEWER_EMAIL, WORKFLOW_NAME

    password = demo_catalog["accounts"][0]["password"]
    item = ServiceItemPage.objects.get(code="YN-ZJ-0001")
    revisions_before = item.revisions.count()

    visitor = new_browser_page()
    assert public_summary(visitor) == OLD_SUMMARY, "the public page before the edit"
    assert cached_page_count() > 0, "the anonymous visit was stored in the page cache"

    # --- The editor edits the item and submits it for review. ---------------------------
    editor = new_browser_page()
    cms_login(editor, DEMO_EDITOR_EMAIL, password)
    editor.goto(f"/cms/pages/{item.pk}/edit/")
    summary = editor.get_by_label("服务内容")
    expect(summary, "the editor sees the live summary").to_have_value(OLD_SUMMARY)
    summary.fill(NEW_SUMMARY)

    actions = footer_actions(editor)
    expect(
        actions.get_by_role("button", name="发布", exact=True), "an editor has no Publish action"
    ).to_have_count(0)
    expect(actions.locator("[name=action-publish]")).to_have_count(0)
    with editor.expect_navigation():
        actions.get_by_role("button", name=f"提交给{WORKFLOW_NAME}").click()
    expect(editor.get_by_role("status"), "Wagtail confirms the submission").to_contain_text(
        f"页面 '{ITEM_TITLE}' 已经提交进行审核"
    )
    explorer_row = editor.get_by_role("row").filter(
        has=editor.get_by_role("link", name=ITEM_TITLE, exact=True)
    )
    expect(explorer_row, "the explorer shows the item live and in review").to_contain_text("审核中")

    state = WorkflowState.objects.get(base_content_type__isnull=False, object_id=str(item.pk))
    assert state.status == WorkflowState.STATUS_IN_PROGRESS, "the item is in review"
    assert state.workflow.name == WORKFLOW_NAME
    assert state.requested_by.email == DEMO_EDITOR_EMAIL

    # Still not public, even to a visitor whose page was cached before.
    assert public_summary(visitor) == OLD_SUMMARY, "a submitted change is not public yet"
    assert NEW_SUMMARY not in visitor.content()

    # Back in the editor: the change is kept in the draft, and still no Publish action.
    editor.goto(f"/cms/pages/{item.pk}/edit/")
    expect(editor.get_by_label("服务内容"), "the draft keeps the change").to_have_value(NEW_SUMMARY)
    actions = footer_actions(editor)
    expect(actions.get_by_role("button", name="发布", exact=True)).to_have_count(0)
    expect(
        actions.get_by_role("button", name=re.compile("^批准")),
        "the editor cannot approve the task either",
    ).to_have_count(0)

    # --- The reviewer approves it from the dashboard. -----------------------------------
    reviewer = new_browser_page()
    cms_login(reviewer, DEMO_REVIEWER_EMAIL, password)
    review = reviewer.get_by_role("region", name="等待你的审查")
    task_row = review.get_by_role("row").filter(has_text=ITEM_TITLE)
    expect(task_row, "the task awaits the reviewer on the dashboard").to_have_count(1)
    expect(task_row, "with who submitted it").to_contain_text("事项清单编辑（演示）")
    with reviewer.expect_navigation():
        task_row.get_by_role("link", name=ITEM_TITLE, exact=True).click()
    expect(
        reviewer.get_by_label("服务内容"), "the reviewer sees the submitted change"
    ).to_have_value(NEW_SUMMARY)
    actions = footer_actions(reviewer)
    # The last (only) task of the workflow: Wagtail labels its approval "批准 和发布".
    approve = actions.get_by_role("button", name=re.compile(r"^批准\s*和发布$"))
    with reviewer.expect_navigation():
        approve.click()
    expect(reviewer.get_by_role("status"), "Wagtail confirms the approval").to_contain_text(
        ITEM_TITLE
    )

    # --- Published: the public page shows the change (the page cache was invalidated). ----
    assert public_summary(visitor) == NEW_SUMMARY, "the approved change is public"

    # --- Audit: revisions and Wagtail's log entries record who did what. -----------------
    item.refresh_from_db()
    state.refresh_from_db()
    assert state.status == WorkflowState.STATUS_APPROVED, "the workflow is approved"
    assert item.live and not item.has_unpublished_changes
    assert item.summary == NEW_SUMMARY
    assert item.revisions.count() > revisions_before, "the edit is a new revision"
    assert item.live_revision.as_object().summary == NEW_SUMMARY, "the live revision"
    submitted = state.current_task_state.revision if state.current_task_state else None
    submitted = submitted or item.revisions.filter(user__email=DEMO_EDITOR_EMAIL).latest("pk")
    assert submitted.user.email == DEMO_EDITOR_EMAIL, "the editor's revision went to review"
    assert submitted.as_object().summary == NEW_SUMMARY
    # (Approving from the edit view saves the reviewer's form as one more revision first, so the
    # live revision itself is recorded as the reviewer's — Wagtail's behaviour.)

    entries = PageLogEntry.objects.filter(page=item).select_related("user")
    by_action = {}
    for entry in entries:
        by_action.setdefault(entry.action, set()).add(entry.user.email if entry.user else None)
    assert DEMO_EDITOR_EMAIL in by_action.get("wagtail.workflow.start", set()), by_action
    assert DEMO_REVIEWER_EMAIL in by_action.get("wagtail.workflow.approve", set()), by_action
    assert DEMO_REVIEWER_EMAIL in by_action.get("wagtail.publish", set()), by_action
    assert not PageLogEntry.objects.filter(
        page=item, action="wagtail.publish", user__email=DEMO_EDITOR_EMAIL
    ).exists(), "the editor never published"

    # The page history in /cms/ shows the approval to the reviewer too.
    reviewer.goto(f"/cms/pages/{item.pk}/history/")
    expect(
        reviewer.get_by_role("table").get_by_text("批准", exact=False).first,
        "the page history lists the approval",
    ).to_be_visible()
    assert page_errors == [], f"uncaught JavaScript errors: {page_errors}"
