"""Moderation of the catalog (DESIGN §1: the published catalog is regulatory text).

Catalog pages are edited by "Catalog editors", who may add and edit pages and submit them for
review but never publish; "Catalog reviewers" approve through the "Catalog review" workflow (one
Wagtail ``GroupApprovalTask``), which publishes the approved revision:

    draft (revision saved) → in review (workflow in progress) → published (task approved)

Everything here is idempotent: the demo loader and the tests call it as often as they like.
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import transaction
from wagtail.models import (
    GroupApprovalTask,
    GroupPagePermission,
    Workflow,
    WorkflowPage,
    WorkflowTask,
)

EDITORS_GROUP = "Catalog editors"
REVIEWERS_GROUP = "Catalog reviewers"
WORKFLOW_NAME = "Catalog review"
TASK_NAME = "Catalog reviewer approval"

DEMO_EDITOR_EMAIL = "catalog.editor@demo.example"
DEMO_REVIEWER_EMAIL = "catalog.reviewer@demo.example"

EDITOR_PAGE_PERMISSIONS = ("add", "change", "lock", "unlock")
REVIEWER_PAGE_PERMISSIONS = ("add", "change", "publish", "lock", "unlock")


def _page_permission_codename(permission_type: str) -> str:
    return f"{permission_type}_page"


def _grant_page_permissions(group: Group, page, permission_types) -> None:
    permissions = Permission.objects.filter(
        content_type__app_label="wagtailcore",
        codename__in=[_page_permission_codename(t) for t in permission_types],
    )
    for permission in permissions:
        GroupPagePermission.objects.get_or_create(group=group, page=page, permission=permission)


def _admin_access() -> Permission:
    return Permission.objects.get(content_type__app_label="wagtailadmin", codename="access_admin")


@transaction.atomic
def ensure_catalog_moderation(catalog_index) -> dict:
    """Creates the editor and reviewer groups, their page permissions on ``catalog_index`` and
    the "Catalog review" workflow assigned to it. Returns them by name."""
    access_admin = _admin_access()
    editors, _ = Group.objects.get_or_create(name=EDITORS_GROUP)
    reviewers, _ = Group.objects.get_or_create(name=REVIEWERS_GROUP)
    editors.permissions.add(access_admin)
    reviewers.permissions.add(access_admin)
    # Documents for notice attachments and catalog links: editors may add and choose them.
    doc_perms = Permission.objects.filter(
        content_type__app_label="wagtaildocs", codename__in=["add_document", "choose_document"]
    )
    editors.permissions.add(*doc_perms)
    reviewers.permissions.add(*doc_perms)

    _grant_page_permissions(editors, catalog_index, EDITOR_PAGE_PERMISSIONS)
    _grant_page_permissions(reviewers, catalog_index, REVIEWER_PAGE_PERMISSIONS)
    # Editors must never publish: remove a publish grant someone may have added by hand.
    GroupPagePermission.objects.filter(
        group=editors, page=catalog_index, permission__codename="publish_page"
    ).delete()

    task = GroupApprovalTask.objects.filter(name=TASK_NAME).first()
    if task is None:
        task = GroupApprovalTask.objects.create(name=TASK_NAME)
    task.groups.set([reviewers])

    workflow, _ = Workflow.objects.get_or_create(name=WORKFLOW_NAME, defaults={"active": True})
    if not workflow.active:
        workflow.active = True
        workflow.save(update_fields=["active"])
    WorkflowTask.objects.get_or_create(workflow=workflow, task=task, defaults={"sort_order": 0})
    WorkflowPage.objects.update_or_create(page=catalog_index, defaults={"workflow": workflow})
    return {"editors": editors, "reviewers": reviewers, "workflow": workflow, "task": task}


def ensure_moderation_user(*, email: str, password: str, display_name: str, group: Group):
    """Creates (or updates) a staff user in ``group`` who can log in to the Wagtail admin."""
    User = get_user_model()
    user = User.objects.filter(email__iexact=email).first()
    if user is None:
        user = User.objects.create_user(email=email, password=password)
    else:
        user.set_password(password)
    user.display_name = display_name
    user.is_active = True
    user.save()
    user.groups.add(group)
    return user


@transaction.atomic
def ensure_demo_moderators(catalog_index, *, password: str) -> dict:
    """The moderation setup plus one demo editor and one demo reviewer. Returns the users and
    their e-mails so the demo can print the credentials."""
    setup = ensure_catalog_moderation(catalog_index)
    editor = ensure_moderation_user(
        email=DEMO_EDITOR_EMAIL,
        password=password,
        display_name="事项清单编辑（演示）",
        group=setup["editors"],
    )
    reviewer = ensure_moderation_user(
        email=DEMO_REVIEWER_EMAIL,
        password=password,
        display_name="事项清单审核员（演示）",
        group=setup["reviewers"],
    )
    return {**setup, "editor": editor, "reviewer": reviewer}
