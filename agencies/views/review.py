"""监管审核: the regulator's review queue, the enrolment detail with its decision form, and the
change-request queue. Only regulators whose scope covers the agency (region and industry) may
see or decide; others get a 404 (anonymous visitors: the login page).

Practitioners' ID numbers are shown masked to regulators too: verification is against the
uploaded social-insurance proof and the ID is not needed on screen; the full number stays in the
database for checks made by the services (e.g. a person enrolled by two agencies)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from agencies import selectors, services
from agencies.forms import (
    BASIC_REASON_FIELDS,
    SECTION_REASON_FIELDS,
    ChangeDecisionForm,
    ReviewDecisionForm,
    ReviewQueueFilterForm,
)
from agencies.models import Agency, ChangeRequest, EnrolmentStatus
from agencies.views.catalog import service_item_rows
from agencies.views.common import (
    is_regulator,
    paginate,
    query_string_without_page,
    run_service,
)
from marketplace.permissions import has_perm

REVIEW_ACTION = "review"


def _regulator_only(request):
    if not is_regulator(request.user):
        raise Http404


@login_required
def review_queue(request):
    """待审核: submitted enrolments in the regulator's scope, oldest first. A fixed number of
    queries per page (tests/agencies/test_views.py::test_review_queue_query_count)."""
    _regulator_only(request)
    form = ReviewQueueFilterForm(request.GET or None)
    region = industry = min_age = None
    if form.is_bound and form.is_valid():
        region = form.region_obj()
        industry = form.cleaned_data.get("industry")
        min_age = form.cleaned_data.get("min_age_days")
    queryset = selectors.review_queue(
        user=request.user, region=region, industry=industry, min_age_days=min_age
    )
    page = paginate(request, queryset)
    return render(
        request,
        "agencies/review_queue.html",
        {
            "form": form,
            "page_obj": page,
            "query_string": query_string_without_page(request),
        },
    )


def _reviewable(request, pk) -> Agency:
    _regulator_only(request)
    agency = Agency.objects.select_related("organisation__region").filter(pk=pk).first()
    if agency is None or not has_perm(request.user, REVIEW_ACTION, agency):
        raise Http404
    return agency


def _history(agency) -> list:
    """The enrolment's audit trail (每一步留痕): its state changes, oldest first."""
    from django.contrib.contenttypes.models import ContentType

    from marketplace.models import AuditEvent

    return list(
        AuditEvent.objects.filter(
            content_type=ContentType.objects.get_for_model(Agency), object_id=str(agency.pk)
        )
        .select_related("actor")
        .order_by("created_at", "pk")
    )


def review_context(request, agency, form=None):
    certificates = list(
        agency.certificates.select_related("qualification_type__industry").order_by("pk")
    )
    groups, _ids = service_item_rows(agency)
    declared_rows = [
        {"industry": g["industry"], "row": row}
        for g in groups
        for row in g["rows"]
        if row["declared"]
    ]
    form = form or ReviewDecisionForm(certificates=certificates)
    return {
        "agency": agency,
        "certificates": certificates,
        "certificate_reason_fields": [
            (cert, form[ReviewDecisionForm.reason_field_name(f"certificates.{cert.pk}")])
            for cert in certificates
        ],
        "basic_reason_fields": [
            (label, form[ReviewDecisionForm.reason_field_name(key)])
            for key, label in BASIC_REASON_FIELDS
        ],
        "section_reason": {
            key: form[ReviewDecisionForm.reason_field_name(key)]
            for key, _label in SECTION_REASON_FIELDS
        },
        "practitioners": list(agency.practitioners.order_by("pk")),
        "declared_rows": declared_rows,
        "service_regions": list(agency.service_regions.all()),
        "reviews": list(
            agency.reviews.select_related("reviewer", "regulator").order_by("-created_at")
        ),
        "history": _history(agency),
        "form": form,
        "can_decide": agency.status == EnrolmentStatus.SUBMITTED,
        "missing": selectors.enrolment_missing(agency),
    }


@login_required
def review_detail(request, pk):
    agency = _reviewable(request, pk)
    if request.method == "POST":
        certificates = list(agency.certificates.order_by("pk"))
        form = ReviewDecisionForm(request.POST, certificates=certificates)
        if agency.status != EnrolmentStatus.SUBMITTED:
            form.is_valid()
            form.add_error(None, _("This enrolment is not waiting for a decision."))
        elif form.is_valid():
            if form.cleaned_data["decision"] == "approve":
                done = run_service(
                    request,
                    form,
                    services.enrolment_approve,
                    actor=request.user,
                    agency=agency,
                    comment=form.cleaned_data["comment"],
                    success=_("The enrolment is approved; the agency is notified."),
                )
            else:
                done = run_service(
                    request,
                    form,
                    services.enrolment_return,
                    actor=request.user,
                    agency=agency,
                    comment=form.cleaned_data["comment"],
                    field_reasons=form.field_reasons(),
                    success=_("The enrolment is returned; the agency is notified."),
                )
            if done:
                return redirect("agencies:review_queue")
        return render(request, "agencies/review_detail.html", review_context(request, agency, form))
    return render(request, "agencies/review_detail.html", review_context(request, agency))


@login_required
def change_queue(request):
    """变更审核: submitted change requests of agencies in the regulator's scope."""
    _regulator_only(request)
    page = paginate(request, selectors.change_request_queue(user=request.user))
    return render(
        request,
        "agencies/change_queue.html",
        {"page_obj": page, "query_string": query_string_without_page(request)},
    )


def _reviewable_change(request, pk) -> ChangeRequest:
    _regulator_only(request)
    change = (
        ChangeRequest.objects.select_related("agency__organisation__region", "requested_by")
        .filter(pk=pk)
        .first()
    )
    if change is None or not has_perm(request.user, REVIEW_ACTION, change.agency):
        raise Http404
    return change


@login_required
def change_detail(request, pk):
    from agencies import changes

    change = _reviewable_change(request, pk)
    form = ChangeDecisionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if form.cleaned_data["decision"] == "approve":
            done = run_service(
                request,
                form,
                changes.change_request_approve,
                actor=request.user,
                change_request=change,
                success=_("The change is approved and applied."),
            )
        else:
            done = run_service(
                request,
                form,
                changes.change_request_reject,
                actor=request.user,
                change_request=change,
                reason=form.cleaned_data["reason"],
                success=_("The change is rejected; the agency is notified."),
            )
        if done:
            return redirect("agencies:change_queue")
    return render(
        request,
        "agencies/change_detail.html",
        {"change": change, "agency": change.agency, "form": form},
    )


__all__ = ["require_POST", "review_detail", "review_queue"]
