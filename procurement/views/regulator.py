"""异议处理: the regulator's queue of objections in its scope (the project's location and the
service item's industry; reviewers and supervisors) and the decision on one. Anyone else gets a
404."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from agencies.views.common import paginate, run_service
from marketplace.permissions import has_perm
from procurement import selectors, services
from procurement.forms import ObjectionDecisionForm
from procurement.models import ObjectionStatus, RegistrationStatus

RESULT_STATUSES = (
    RegistrationStatus.SELECTED,
    RegistrationStatus.CONFIRMED,
    RegistrationStatus.ALTERNATE,
    RegistrationStatus.DECLINED,
)


@login_required
def objection_queue(request):
    """Objections the user may decide, pending first. A fixed number of queries per page
    (tests/procurement/test_views_regulator.py::test_queue_query_count)."""
    if not selectors.is_deciding_regulator(request.user):
        raise Http404
    page = paginate(request, selectors.objection_queue(request.user))
    return render(request, "procurement/regulator/objection_queue.html", {"page_obj": page})


@login_required
def objection_detail(request, pk):
    """The objection, the announcement's result, and the decision (objection_decide)."""
    objection = selectors.objection_for_page(pk)
    if objection is None or not has_perm(request.user, "decide", objection):
        raise Http404
    pending = objection.status == ObjectionStatus.SUBMITTED
    announcement = objection.announcement
    result_rows = [
        r for r in selectors.announcement_registrations(announcement) if r.status in RESULT_STATUSES
    ]
    form = ObjectionDecisionForm(
        request.POST or None,
        excludable=[r for r in result_rows if r.status in services.RESULT_STATUSES],
    )
    if request.method == "POST" and pending and form.is_valid():
        result = run_service(
            request,
            form,
            services.objection_decide,
            actor=request.user,
            objection=objection,
            upheld=form.cleaned_data["decision"] == "uphold",
            reason=form.cleaned_data["reason"],
            exclude=form.cleaned_data["exclude"],
            success=_("The decision is recorded and the parties are told."),
        )
        if result:
            return redirect("procurement:objection_detail", objection.pk)
    return render(
        request,
        "procurement/regulator/objection_detail.html",
        {
            "objection": objection,
            "announcement": announcement,
            "result_rows": result_rows,
            "other_objections": [
                o for o in selectors.announcement_objections(announcement) if o.pk != objection.pk
            ],
            "pending": pending,
            "form": form,
        },
    )
