"""Editing the catalog goes through Wagtail's workflow: draft → in review → published."""

import pytest
from django.core.exceptions import PermissionDenied
from wagtail.models import WorkflowState

from cms.models import ServiceItemPage
from cms.moderation import (
    EDITORS_GROUP,
    REVIEWERS_GROUP,
    WORKFLOW_NAME,
    ensure_catalog_moderation,
    ensure_demo_moderators,
)

from .factories import make_industry_page, make_item

pytestmark = pytest.mark.django_db


@pytest.fixture
def moderated(site_tree, industries):
    catalog = site_tree["catalog"]
    setup = ensure_demo_moderators(catalog, password="moderation-test-pw")
    industry_page = make_industry_page(catalog, industries["ecology"])
    item = make_item(industry_page, title="建设项目环境影响报告书编制")
    return {**setup, "catalog": catalog, "item": item}


def test_setup_is_idempotent(moderated):
    from django.contrib.auth.models import Group
    from wagtail.models import GroupApprovalTask, GroupPagePermission, Workflow, WorkflowPage

    counts = lambda: (
        Group.objects.filter(name__in=[EDITORS_GROUP, REVIEWERS_GROUP]).count(),
        GroupPagePermission.objects.count(),
        Workflow.objects.count(),
        GroupApprovalTask.objects.count(),
        WorkflowPage.objects.count(),
    )
    before = counts()
    ensure_catalog_moderation(moderated["catalog"])
    ensure_demo_moderators(moderated["catalog"], password="moderation-test-pw")
    assert counts() == before
    assert moderated["item"].get_workflow().name == WORKFLOW_NAME


def test_permissions(moderated):
    item, editor, reviewer = moderated["item"], moderated["editor"], moderated["reviewer"]
    assert editor.has_perm("wagtailadmin.access_admin")
    assert reviewer.has_perm("wagtailadmin.access_admin")
    editor_perms = item.permissions_for_user(editor)
    assert editor_perms.can_edit()
    assert editor_perms.can_submit_for_moderation()
    assert not editor_perms.can_publish()
    assert not editor_perms.can_unpublish()
    assert item.permissions_for_user(reviewer).can_publish()
    # Editors may add items under industry pages, but not publish them.
    industry_page = item.get_parent().specific
    assert industry_page.permissions_for_user(editor).can_add_subpage()
    assert not industry_page.permissions_for_user(editor).can_publish_subpage()


def test_editor_cannot_publish_directly(moderated, client):
    item, editor = moderated["item"], moderated["editor"]
    page = ServiceItemPage.objects.get(pk=item.pk)
    page.title = "编辑擅自发布的标题"
    revision = page.save_revision(user=editor)
    with pytest.raises(PermissionDenied):
        revision.publish(user=editor)
    page.refresh_from_db()
    assert page.title == "建设项目环境影响报告书编制"
    assert "编辑擅自发布的标题" not in client.get(item.url).content.decode()


def test_draft_review_publish(moderated, client):
    item, editor, reviewer = moderated["item"], moderated["editor"], moderated["reviewer"]
    page = ServiceItemPage.objects.get(pk=item.pk)

    # Draft: the editor saves a revision; the public page does not change.
    page.title = "建设项目环境影响报告书编制（修订）"
    page.time_limit_days = 25
    page.save_revision(user=editor)
    page.refresh_from_db()
    assert page.has_unpublished_changes
    assert page.title == "建设项目环境影响报告书编制"

    # In review: the editor submits to the catalog workflow.
    workflow = page.get_workflow()
    assert workflow.name == WORKFLOW_NAME
    state = workflow.start(page, editor)
    page.refresh_from_db()
    assert page.workflow_in_progress
    assert state.status == WorkflowState.STATUS_IN_PROGRESS
    html = client.get(item.url).content.decode()
    assert "（修订）" not in html and "建设项目环境影响报告书编制" in html

    task = state.current_task_state.task.specific
    assert task.get_actions(page, editor) == []  # the editor cannot approve
    assert [a[0] for a in task.get_actions(page, reviewer)] == ["reject", "approve", "approve"]

    # Published: the reviewer approves; the approved revision goes live.
    state.current_task_state.approve(user=reviewer)
    state.refresh_from_db()
    page.refresh_from_db()
    assert state.status == WorkflowState.STATUS_APPROVED
    assert page.title == "建设项目环境影响报告书编制（修订）"
    assert page.time_limit_days == 25
    assert not page.has_unpublished_changes
    html = client.get(item.url).content.decode()
    assert "建设项目环境影响报告书编制（修订）" in html
    assert "25 个工作日" in html


def test_rejected_change_stays_unpublished(moderated, client):
    item, editor, reviewer = moderated["item"], moderated["editor"], moderated["reviewer"]
    page = ServiceItemPage.objects.get(pk=item.pk)
    page.title = "被退回的修改"
    page.save_revision(user=editor)
    state = page.get_workflow().start(page, editor)
    state.current_task_state.reject(user=reviewer, comment="依据条款有误")
    state.refresh_from_db()
    assert state.status == WorkflowState.STATUS_NEEDS_CHANGES
    assert "被退回的修改" not in client.get(item.url).content.decode()


def test_editor_and_reviewer_reach_the_admin(moderated, client):
    client.force_login(moderated["editor"])
    assert client.get("/cms/").status_code == 200
    assert client.get(f"/cms/pages/{moderated['item'].pk}/edit/").status_code == 200
    client.force_login(moderated["reviewer"])
    assert client.get(f"/cms/pages/{moderated['item'].pk}/edit/").status_code == 200
