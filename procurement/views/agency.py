"""机构报名: the agency's feed of open announcements with its eligibility explained, its
registrations, confirming or declining a selection, and objections (异议) during publicity.

Only the agency's members reach its registrations; anyone else gets a 404 (PermissionDenied from
a service becomes a 404 too), never a 500."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from agencies.models import Agency
from agencies.views.common import paginate, run_service, user_agencies
from marketplace.permissions import has_perm
from procurement import selectors, services
from procurement.forms import DeclineForm, ObjectionForm
from procurement.models import Announcement, AnnouncementStatus, RegistrationStatus

OBJECTION_STATUSES = (AnnouncementStatus.PUBLICITY, AnnouncementStatus.SUSPENDED)


def _user_agency(request) -> Agency:
    """The user's agency, as agencies.views.common.user_agency_pk picks it (the first by id),
    in one query with its organisation and region. (user_agency_pk itself loads ``only("pk")``
    of a ConcurrentTransitionMixin model, whose __init__ then fetches the deferred status: two
    queries, and a third to load the row.)"""
    orgs = user_agencies(request.user)
    agency = (
        Agency.objects.filter(organisation__in=orgs)
        .select_related("organisation__region")
        .order_by("pk")
        .first()
        if orgs
        else None
    )
    if agency is None:
        raise Http404
    return agency


@login_required
def feed(request):
    """Open announcements matching the user's agency, each with its eligibility explained and
    a Register button, and the agency's registrations. A fixed number of queries whatever the
    number of announcements (tests/procurement/test_views_agency.py::test_feed_query_count)."""
    agency = _user_agency(request)
    service_regions = [
        t.region
        for t in Agency.service_regions.through.objects.filter(agency_id=agency.pk).select_related(
            "region"
        )
    ]
    queryset = selectors.matching_announcements(
        agency, region_codes=[r.code for r in service_regions]
    )
    page = paginate(request, queryset)
    announcements = list(page.object_list)
    outcomes = selectors.feed_eligibility(agency, announcements, service_regions=service_regions)
    registered = selectors.registered_announcement_ids(agency, [a.pk for a in announcements])
    rows = [
        {
            "announcement": a,
            "outcome": outcomes[a.pk],
            "registration": registered.get(a.pk),
        }
        for a in announcements
    ]
    return render(
        request,
        "procurement/agency/feed.html",
        {
            "agency": agency,
            "rows": rows,
            "page_obj": page,
            "can_register": has_perm(request.user, "register", agency),
            "my_registrations": selectors.agency_registrations(agency),
        },
    )


@login_required
@require_POST
def register(request, code):
    """报名 (registration_submit); refused with the reasons (e.g. ineligible), nothing saved."""
    announcement = (
        Announcement.objects.filter(code=code).exclude(status=AnnouncementStatus.DRAFT).first()
    )
    if announcement is None:
        raise Http404
    agency = _user_agency(request)
    registration = run_service(
        request,
        None,
        services.registration_submit,
        actor=request.user,
        announcement=announcement,
        agency=agency,
        success=_("Registered. The draw follows when registration closes."),
    )
    if registration:
        return redirect("procurement:registration", registration.pk)
    return redirect("procurement:feed")


def _registration(request, pk, action: str = "view"):
    registration = selectors.registration_for_page(pk)
    if registration is None or not has_perm(request.user, action, registration):
        raise Http404
    return registration


def _objection_open(announcement, now=None) -> bool:
    now = now or timezone.now()
    return announcement.status in OBJECTION_STATUSES and bool(
        announcement.publicity_ends_at and announcement.publicity_ends_at > now
    )


@login_required
def registration(request, pk):
    """One registration: its status, the eligibility checks, the draw position, and the
    answers the agency may give now."""
    item = _registration(request, pk)
    can_respond = has_perm(request.user, "respond", item)
    announcement = item.announcement
    return render(
        request,
        "procurement/agency/registration.html",
        {
            "registration": item,
            "announcement": announcement,
            "can_answer": can_respond and item.status == RegistrationStatus.SELECTED,
            "can_object": can_respond and _objection_open(announcement),
            "decline_form": DeclineForm(),
            "objections": list(item.objections.order_by("-created_at", "-pk")),
            "deposit": _deposit(item),
            "can_pay_deposit": can_respond
            and announcement.deposit_amount > 0
            and announcement.status == AnnouncementStatus.PUBLISHED,
        },
    )


def _deposit(registration):
    if not registration.announcement.deposit_amount:
        return None
    from procurement.models import Deposit

    return Deposit.objects.filter(
        announcement_id=registration.announcement_id, agency_id=registration.agency_id
    ).first()


@login_required
@require_POST
def confirm(request, pk):
    item = _registration(request, pk, "respond")
    run_service(
        request,
        None,
        services.registration_confirm,
        actor=request.user,
        registration=item,
        success=_("Confirmed. The result is published for objections (公示) once all confirm."),
    )
    return redirect("procurement:registration", item.pk)


@login_required
@require_POST
def decline(request, pk):
    item = _registration(request, pk, "respond")
    form = DeclineForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    run_service(
        request,
        None,
        services.registration_decline,
        actor=request.user,
        registration=item,
        reason=reason,
        success=_("Declined. The next alternate is asked instead."),
    )
    return redirect("procurement:registration", item.pk)


@login_required
def objection(request, pk):
    """异议 against the result, during publicity (objection_file)."""
    item = _registration(request, pk, "respond")
    form = ObjectionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        result = run_service(
            request,
            form,
            services.objection_file,
            actor=request.user,
            announcement=item.announcement,
            registration=item,
            reason=form.cleaned_data["reason"],
            success=_("The objection is filed; the award waits for the regulator's decision."),
        )
        if result:
            return redirect("procurement:registration", item.pk)
    return render(
        request,
        "procurement/agency/objection.html",
        {
            "registration": item,
            "announcement": item.announcement,
            "form": form,
            "is_open": _objection_open(item.announcement),
        },
    )
