"""业主工作台: the project owner's pages — sign-up, dashboard, projects, announcements (draft,
fee computation, exclusions, publish, cancel, republish, registrations, objections).

Views validate the input, call one service and render; a service's ``ValidationError`` goes
beside the fields (or into the messages for buttons without fields), and nothing is saved.
Only members of the owner unit (admin or staff) reach its projects and announcements; anyone
else gets a 404."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from agencies.views.common import run_service
from marketplace.permissions import has_perm
from procurement import methods, selectors, services
from procurement.forms import (
    AnnouncementForm,
    CancelForm,
    ExclusionForm,
    OwnerSignupForm,
    ProjectForm,
)
from procurement.models import AnnouncementStatus, Exclusion, Project, SelectionMethod

EXCLUDABLE = (AnnouncementStatus.DRAFT, AnnouncementStatus.PUBLISHED)


def _live_items():
    from cms.models import ServiceItemPage

    return ServiceItemPage.objects.live().order_by("code", "pk")


def _requirements(item) -> list:
    """[(qualification type, minimum level)] of a service item, for the level selects."""
    if item is None:
        return []
    return [
        (r.qualification, r.minimum_level or "")
        for r in item.qualification_requirements.select_related("qualification")
    ]


def _owner_redirect():
    return redirect("procurement:owner")


# --- sign-up and dashboard ---------------------------------------------------------------------


@login_required
def signup(request):
    """A logged-in user with no owner unit registers one (owner_register) and becomes its
    administrator."""
    if selectors.user_owners(request.user):
        return _owner_redirect()
    form = OwnerSignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        owner = run_service(
            request,
            form,
            services.owner_register,
            actor=request.user,
            name=data["name"],
            uscc=data["uscc"],
            region=data["region"],
            legal_representative=data["legal_representative"],
            contact_name=data["contact_name"],
            contact_phone=data["contact_phone"],
            success=_("The owner unit is registered. Now add a project."),
        )
        if owner:
            return redirect("procurement:project_add")
    return render(request, "procurement/owner/signup.html", {"form": form})


@login_required
def dashboard(request):
    """The user's owner units, their projects and their announcements by status. A fixed
    number of queries (tests/procurement/test_views_owner.py::test_dashboard_query_count)."""
    owners = selectors.user_owners(request.user)
    if not owners:
        return redirect("procurement:owner_signup")
    boards = selectors.owner_dashboards(owners)
    for board in boards:
        # From the memberships already loaded for the request: no query.
        board.can_manage_members = has_perm(request.user, "manage", board.owner.organisation)
    return render(request, "procurement/owner/dashboard.html", {"boards": boards})


# --- projects --------------------------------------------------------------------------------


def _managed_project(request, pk) -> Project:
    project = Project.objects.select_related("owner__organisation", "region").filter(pk=pk).first()
    if project is None or not has_perm(request.user, "manage", project):
        raise Http404
    return project


@login_required
def project_edit(request, pk=None):
    """A new project of the user's owner unit (project_create), or an existing one edited
    (project_update)."""
    project = owner = None
    owners = []
    if pk is not None:
        project = _managed_project(request, pk)
        owner = project.owner
        initial = ProjectForm.initial_for(project)
    else:
        owners = selectors.user_owners(request.user)
        if not owners:
            return redirect("procurement:owner_signup")
        wanted = request.POST.get("owner") or request.GET.get("owner")
        owner = next((o for o in owners if str(o.pk) == wanted), owners[0])
        initial = {"region": owner.organisation.region_id}
    form = ProjectForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        fields = {
            "name": data["name"],
            "code": data["code"],
            "region": data["region"],
            "total_investment": data["total_investment"],
            "description": data["description"],
        }
        if project is None:
            result = run_service(
                request,
                form,
                services.project_create,
                actor=request.user,
                owner=owner,
                success=_("The project is saved. You can now publish announcements for it."),
                **fields,
            )
        else:
            result = run_service(
                request,
                form,
                services.project_update,
                actor=request.user,
                project=project,
                success=_("The project is saved."),
                **fields,
            )
        if result:
            return redirect(reverse("procurement:owner") + f"#project-{result.pk}")
    return render(
        request,
        "procurement/owner/project_form.html",
        {"form": form, "project": project, "owner": owner, "owners": owners},
    )


# --- announcements ---------------------------------------------------------------------------


def _announcement_context_common() -> dict:
    return {
        "earliest_deadline": services.earliest_deadline(),
        "direct_max": methods.direct_selection_max(),
        "approved_agencies": selectors.approved_agencies_for_choice(),
    }


@login_required
def announcement_add(request, project_pk):
    """A draft announcement for a project (announcement_create). ``?item=`` preselects the
    service item and shows its qualification levels to raise; without JavaScript, the "Show
    its requirements" button does the same."""
    project = _managed_project(request, project_pk)
    items = _live_items()
    item_pk = request.POST.get("service_item") or request.GET.get("item")
    item = items.filter(pk=item_pk).first() if str(item_pk or "").isdigit() else None
    initial = {
        "service_item": item.pk if item else None,
        "fee_base_amount": project.total_investment,
        "method": SelectionMethod.RANDOM_DRAW,
        "region_scope": "province",
        "selected_count": 1,
        "alternate_count": 2,
        "service_time_limit_days": item.time_limit_days if item else None,
    }
    data = request.POST or None
    if request.method == "POST" and request.POST.get("show_item"):
        # "Show the item's qualification levels" (no JavaScript): the form again, for the
        # chosen item, with what was typed kept and nothing saved.
        initial.update(
            {k: v for k, v in request.POST.items() if k not in ("show_item", "csrfmiddlewaretoken")}
        )
        data = None
    form = AnnouncementForm(data, items=items, requirements=_requirements(item), initial=initial)
    if data is not None and form.is_valid():
        announcement = run_service(
            request,
            form,
            services.announcement_create,
            actor=request.user,
            project=project,
            service_item=form.cleaned_data["service_item"],
            raised_levels=form.raised_levels(),
            success=_("The draft is saved. Check it, then publish it."),
            **form.service_kwargs(),
        )
        if announcement:
            return redirect("procurement:owner_announcement", announcement.pk)
    context = {"form": form, "project": project, "item": item}
    context.update(_announcement_context_common())
    return render(request, "procurement/owner/announcement_form.html", context)


def _owned_announcement(request, pk, action: str = "edit"):
    announcement = selectors.owner_announcement(pk)
    if announcement is None or not has_perm(request.user, action, announcement):
        raise Http404
    return announcement


def _fee_display(computation: dict) -> dict | None:
    """The stored fee computation (FeeResult.as_dict) in the page's language."""
    if not computation:
        return None
    english = (translation.get_language() or "").startswith("en")
    steps = [
        {
            "text": (s.get("description_en") if english else s.get("description")) or "",
            "value": s.get("value"),
        }
        for s in computation.get("breakdown", [])
    ]
    inputs = computation.get("inputs") or {}
    return {
        "amount": inputs.get("amount"),
        "category": computation.get("category_name_en" if english else "category_name") or "",
        "base_label": computation.get("base_label_en" if english else "base_label") or "",
        "standard_fee": computation.get("standard_fee"),
        "floor": computation.get("floor"),
        "ceiling": computation.get("ceiling"),
        "cap": computation.get("cap"),
        "float": computation.get("float") or {},
        "steps": steps,
        "warnings": [
            (w.get("message_en") if english else w.get("message")) or ""
            for w in computation.get("warnings") or []
        ],
    }


def _announcement_context(request, announcement, **forms) -> dict:
    is_draft = announcement.status == AnnouncementStatus.DRAFT
    edit_form = forms.get("edit_form")
    if edit_form is None and is_draft:
        edit_form = AnnouncementForm(
            initial=AnnouncementForm.initial_for(announcement),
            requirements=_requirements(announcement.service_item),
        )
    context = {
        "announcement": announcement,
        "project": announcement.project,
        "is_draft": is_draft,
        "edit_form": edit_form,
        "fee": _fee_display(announcement.fee_computation),
        "exclusions": selectors.announcement_exclusions(announcement),
        "can_exclude": announcement.status in EXCLUDABLE,
        "exclusion_form": forms.get("exclusion_form") or ExclusionForm(),
        "can_cancel": announcement.status in EXCLUDABLE,
        "cancel_form": forms.get("cancel_form") or CancelForm(),
        "can_republish": announcement.status
        in (AnnouncementStatus.FAILED, AnnouncementStatus.CANCELLED),
        "registrations": selectors.announcement_registrations(announcement),
        "objections": selectors.announcement_objections(announcement),
        "republications": list(announcement.republications.order_by("pk")),
        "form_errors": [f for f in forms.values() if f is not None and f.is_bound and f.errors],
    }
    context.update(_announcement_context_common())
    return context


def _render_announcement(request, announcement, **forms):
    return render(
        request,
        "procurement/owner/announcement.html",
        _announcement_context(request, announcement, **forms),
    )


@login_required
def announcement(request, pk):
    """The owner's view of one announcement; POST saves the draft (announcement_update)."""
    item = _owned_announcement(request, pk)
    if request.method == "POST":
        if item.status != AnnouncementStatus.DRAFT:
            messages.error(
                request, _("Only a draft can be edited; this announcement is published.")
            )
            return redirect("procurement:owner_announcement", item.pk)
        form = AnnouncementForm(request.POST, requirements=_requirements(item.service_item))
        if form.is_valid():
            kwargs = form.service_kwargs()
            if kwargs["service_time_limit_days"] is None:
                kwargs["service_time_limit_days"] = item.service_item.time_limit_days
            result = run_service(
                request,
                form,
                services.announcement_update,
                actor=request.user,
                announcement=item,
                raised_levels=form.raised_levels(),
                success=_("The draft is saved."),
                **kwargs,
            )
            if result:
                return redirect("procurement:owner_announcement", item.pk)
        return _render_announcement(request, item, edit_form=form)
    return _render_announcement(request, item)


@login_required
@require_POST
def announcement_publish(request, pk):
    """发布 (announcement_publish): the terms are checked again; any problem is shown and the
    draft stays a draft."""
    item = _owned_announcement(request, pk, "publish")
    result = run_service(
        request,
        None,
        services.announcement_publish,
        actor=request.user,
        announcement=item,
        success=_("Published: registration is open.")
        if item.method != SelectionMethod.DIRECT
        else _("Published: the directly selected agency is asked to confirm."),
    )
    if not result:
        messages.error(request, _("The announcement was not published; correct the draft."))
    return redirect("procurement:owner_announcement", item.pk)


@login_required
@require_POST
def announcement_cancel(request, pk):
    item = _owned_announcement(request, pk, "cancel")
    form = CancelForm(request.POST)
    if form.is_valid():
        result = run_service(
            request,
            form,
            services.announcement_cancel,
            actor=request.user,
            announcement=item,
            reason=form.cleaned_data["reason"],
            success=_("The announcement is cancelled."),
        )
        if result:
            return redirect("procurement:owner_announcement", item.pk)
    return _render_announcement(request, item, cancel_form=form)


@login_required
@require_POST
def announcement_republish(request, pk):
    item = _owned_announcement(request, pk, "republish")
    copy = run_service(
        request,
        None,
        services.announcement_republish,
        actor=request.user,
        announcement=item,
        success=_("A new draft with the same terms is ready: set its deadline and publish it."),
    )
    if copy:
        return redirect("procurement:owner_announcement", copy.pk)
    return redirect("procurement:owner_announcement", item.pk)


@login_required
@require_POST
def exclusion_add(request, pk):
    """回避 declared by the owner (exclusion_add)."""
    item = _owned_announcement(request, pk, "exclude")
    form = ExclusionForm(request.POST)
    if form.is_valid():
        result = run_service(
            request,
            form,
            services.exclusion_add,
            actor=request.user,
            announcement=item,
            agency=form.cleaned_data["agency"],
            reason=form.cleaned_data["reason"],
            success=_("The exclusion is declared."),
        )
        if result:
            return redirect(
                reverse("procurement:owner_announcement", args=[item.pk]) + "#exclusions"
            )
    return _render_announcement(request, item, exclusion_form=form)


@login_required
@require_POST
def exclusion_remove(request, pk):
    exclusion = (
        Exclusion.objects.select_related("announcement__project__owner__organisation")
        .filter(pk=pk)
        .first()
    )
    if exclusion is None or not has_perm(request.user, "exclude", exclusion.announcement):
        raise Http404
    run_service(
        request,
        None,
        services.exclusion_remove,
        actor=request.user,
        exclusion=exclusion,
        success=_("The exclusion is removed."),
    )
    return redirect(
        reverse("procurement:owner_announcement", args=[exclusion.announcement_id]) + "#exclusions"
    )
