"""投诉举报 pages: filing (members with their organisation; the public with an e-mail code),
one's own complaints, the regulator's queue, the complaint page (the regulator accepts,
rejects, investigates and decides; the accused submits a statement), evidence downloads, and
the public list of outcomes with the complainants anonymised.

A complaint the user may not see is a 404 (its existence is itself confidential)."""

from __future__ import annotations

import mimetypes
import os

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from agencies.models import Agency
from agencies.views.common import paginate, run_service
from marketplace.middleware import client_ip
from marketplace.models import OrganisationKind
from marketplace.permissions import has_perm
from marketplace.selectors import user_organisations
from marketplace.uploads import FORMATS
from procurement.models import Announcement
from ratings import complaint_selectors as selectors
from ratings import complaints as services
from ratings.complaint_forms import ComplaintForm, DecideForm, RejectForm, StatementForm
from ratings.complaint_rules import is_accused
from ratings.models import ComplainantKind, ComplaintStatus, Evidence

SESSION_FILED = "ratings_complaint_filed"
_CONTENT_TYPES = {ext: ctype for _m, exts, ctype in FORMATS.values() for ext in exts}


def _kinds(user) -> list[str]:
    kinds = []
    if user.is_authenticated:
        if user_organisations(user, kind=OrganisationKind.OWNER):
            kinds.append(ComplainantKind.OWNER)
        if user_organisations(user, kind=OrganisationKind.AGENCY):
            kinds.append(ComplainantKind.AGENCY)
    kinds.append(ComplainantKind.PUBLIC)
    return kinds


def _initial_target(request) -> dict:
    initial = {}
    agency_pk = request.GET.get("agency", "")
    if agency_pk.isdigit():
        uscc = (
            Agency.objects.filter(pk=int(agency_pk))
            .values_list("organisation__uscc", flat=True)
            .first()
        )
        if uscc:
            initial["agency"] = uscc
    if request.GET.get("announcement"):
        initial["announcement"] = request.GET["announcement"][:32]
    return initial


def _resolve_target(form) -> tuple[Agency | None, Announcement | None]:
    agency = announcement = None
    uscc = (form.cleaned_data.get("agency") or "").strip().upper()
    if uscc:
        agency = (
            Agency.objects.select_related("organisation__region")
            .filter(organisation__uscc=uscc)
            .first()
        )
        if agency is None:
            form.add_error(
                "agency",
                _("No agency has the unified social credit code %(uscc)s.") % {"uscc": uscc},
            )
    code = (form.cleaned_data.get("announcement") or "").strip().upper()
    if code:
        announcement = (
            Announcement.objects.select_related("project__owner", "project__region", "service_item")
            .filter(code=code)
            .first()
        )
        if announcement is None or not announcement.is_public:
            announcement = None
            form.add_error(
                "announcement",
                _("No published announcement has the number %(code)s.") % {"code": code},
            )
    if not uscc and not code:
        form.add_error(None, _("Say which agency or announcement the complaint is about."))
    return agency, announcement


def complaint_new(request):
    """The filing form. A member of the public first asks for a code ("send code"), then
    files with it; members file for their organisation."""
    kinds = _kinds(request.user)
    form = ComplaintForm(kinds=kinds, initial=_initial_target(request))
    if request.method == "POST" and "send_code" in request.POST:
        data = request.POST.dict()
        data.pop("csrfmiddlewaretoken", None)
        data.pop("verification_code", None)
        data.pop("send_code", None)
        form = ComplaintForm(kinds=kinds, initial=data)
        try:
            services.contact_verification_start(
                contact=request.POST.get("public_contact", ""), ip_address=client_ip(request)
            )
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
        else:
            messages.success(
                request,
                _("A 6-digit code was sent to %(contact)s. It is valid for %(minutes)s minutes.")
                % {
                    "contact": request.POST.get("public_contact", "").strip(),
                    "minutes": services.config("CONTACT_CODE_MINUTES"),
                },
            )
    elif request.method == "POST":
        form = ComplaintForm(request.POST, request.FILES, kinds=kinds)
        if form.is_valid():
            agency, announcement = _resolve_target(form)
            if not form.errors:
                data = form.cleaned_data
                complaint = run_service(
                    request,
                    form,
                    services.complaint_file,
                    actor=request.user,
                    complainant_kind=data["complainant_kind"],
                    agency=agency,
                    announcement=announcement,
                    subject=data["subject"],
                    description=data["description"],
                    files=data["files"],
                    public_name=data["public_name"],
                    public_contact=data["public_contact"],
                    verification_code=data["verification_code"],
                    ip_address=client_ip(request),
                )
                if complaint:
                    if complaint.complainant_kind == ComplainantKind.PUBLIC:
                        request.session[SESSION_FILED] = complaint.code
                        return redirect("ratings:complaint_filed")
                    messages.success(
                        request,
                        _(
                            "Complaint %(code)s is filed; the regulator will accept or reject it by %(deadline)s."
                        )
                        % {
                            "code": complaint.code,
                            "deadline": services._local(complaint.accept_by),
                        },
                    )
                    return redirect("ratings:complaint_detail", complaint.code)
    return render(
        request,
        "ratings/complaints/new.html",
        {"form": form, "kinds": kinds, "public_only": kinds == [ComplainantKind.PUBLIC]},
    )


def complaint_filed(request):
    """After a public filing: the complaint number and the link to follow it."""
    code = request.session.get(SESSION_FILED)
    complaint = selectors.complaint_for_page(code) if code else None
    if complaint is None:
        return redirect("ratings:complaint_new")
    return render(
        request,
        "ratings/complaints/filed.html",
        {"code": complaint.code, "tracking_url": services.tracking_url(complaint)},
    )


@never_cache
@require_GET
def complaint_track(request, code: str, token: str):
    """A public complainant follows their complaint without an account, through the link
    on the filing page and in every e-mail. Shows where it stands, the deadlines and the
    outcome, never the accused's statement or files. A wrong link is a 404."""
    complaint = selectors.complaint_for_page(code)
    if (
        complaint is None
        or complaint.complainant_kind != ComplainantKind.PUBLIC
        or not constant_time_compare(token, services.tracking_token(complaint))
    ):
        raise Http404
    evidence = [e for e in selectors.evidence_of(complaint) if not e.by_accused]
    response = render(
        request,
        "ratings/complaints/track.html",
        {
            "complaint": complaint,
            "evidence": evidence,
            "steps": selectors.tracking_steps(complaint),
            "S": ComplaintStatus,
        },
    )
    # The token is in the path: keep it out of other sites' logs and of search engines.
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex"
    return response


@login_required
def my_complaints(request):
    """Complaints the user (or their organisation) filed, and accepted ones against them."""
    page = paginate(request, selectors.complaints_filed_by(request.user))
    against = list(selectors.complaints_against(request.user)[:50])
    return render(request, "ratings/complaints/mine.html", {"page_obj": page, "against": against})


@login_required
def complaint_queue(request):
    """The regulator's queue (in its scope only), open first by deadline, overdue highlighted.
    A fixed number of queries per page (tests/ratings/test_complaints.py)."""
    if selectors.handling_scope(request.user) is None:
        raise Http404
    status = request.GET.get("status", "")
    if status not in ComplaintStatus.values:
        status = ""
    page = paginate(request, selectors.complaint_queue(request.user, status=status))
    return render(
        request,
        "ratings/complaints/queue.html",
        {
            "page_obj": page,
            "now": timezone.now(),
            "status": status,
            "statuses": ComplaintStatus.choices,
            "submitted": ComplaintStatus.SUBMITTED,
        },
    )


def _action(request, complaint):
    """Runs the POSTed action; returns (done, forms with errors)."""
    action = request.POST.get("action", "")
    forms = {}
    user = request.user
    if action == "accept":
        done = run_service(
            request,
            None,
            services.complaint_accept,
            actor=user,
            complaint=complaint,
            success=_("Accepted; the accused is asked for a statement."),
        )
        return done, forms
    if action == "reject":
        form = forms["reject"] = RejectForm(request.POST)
        if form.is_valid():
            return run_service(
                request,
                form,
                services.complaint_reject,
                actor=user,
                complaint=complaint,
                reason=form.cleaned_data["reason"],
                success=_("Not accepted; the complainant is told."),
            ), forms
        return None, forms
    if action == "investigate":
        done = run_service(
            request,
            None,
            services.complaint_investigate,
            actor=user,
            complaint=complaint,
            success=_("The complaint is under investigation."),
        )
        return done, forms
    if action == "decide":
        form = forms["decide"] = DecideForm(request.POST)
        if form.is_valid():
            return run_service(
                request,
                form,
                services.complaint_decide,
                actor=user,
                complaint=complaint,
                upheld=form.cleaned_data["outcome"] == "uphold",
                decision=form.cleaned_data["decision"],
                success=_("The decision is recorded and published."),
            ), forms
        return None, forms
    if action == "statement":
        form = forms["statement"] = StatementForm(request.POST, request.FILES)
        if form.is_valid():
            return run_service(
                request,
                form,
                services.complaint_statement,
                actor=user,
                complaint=complaint,
                statement=form.cleaned_data["statement"],
                files=form.cleaned_data["files"],
                success=_("Your statement is submitted."),
            ), forms
        return None, forms
    raise Http404


def complaint_detail(request, code: str):
    complaint = selectors.complaint_for_page(code)
    if complaint is None or not has_perm(request.user, "view", complaint):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        raise Http404
    forms = {}
    if request.method == "POST":
        done, forms = _action(request, complaint)
        if done:
            return redirect("ratings:complaint_detail", complaint.code)
    handler = has_perm(request.user, "handle", complaint)
    accused = is_accused(request.user, complaint)
    can_state = (
        has_perm(request.user, "state", complaint)
        and complaint.status == ComplaintStatus.ACCEPTED
        and complaint.statement_at is None
        and (complaint.statement_by is None or complaint.statement_by >= timezone.now())
    )
    evidence = [
        e for e in selectors.evidence_of(complaint) if has_perm(request.user, "download", e)
    ]
    now = timezone.now()
    return render(
        request,
        "ratings/complaints/detail.html",
        {
            "complaint": complaint,
            "handler": handler,
            "accused": accused,
            "can_state": can_state,
            "evidence": evidence,
            "anonymous_label": services.anonymous_label(complaint.complainant_kind),
            "overdue": complaint.status == ComplaintStatus.SUBMITTED and complaint.accept_by < now,
            "statement_open": complaint.statement_by is not None and complaint.statement_by >= now,
            "reject_form": forms.get("reject") or RejectForm(),
            "decide_form": forms.get("decide") or DecideForm(),
            "statement_form": forms.get("statement") or StatementForm(),
            "S": ComplaintStatus,
        },
    )


@never_cache
@require_GET
def evidence_download(request, pk: int):
    """One evidence file, to those the "download" rule allows; 404 for everyone else."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    evidence = Evidence.objects.select_related("complaint").filter(pk=pk).first()
    if evidence is None or not has_perm(request.user, "download", evidence):
        raise Http404
    try:
        handle = evidence.file.open("rb")
    except (FileNotFoundError, OSError, ValueError):
        raise Http404 from None
    ext = os.path.splitext(evidence.file.name)[1].lower()
    content_type = _CONTENT_TYPES.get(ext) or mimetypes.guess_type(evidence.file.name)[0]
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=f"{evidence.complaint.code}-{evidence.pk}{ext}",
        content_type=content_type or "application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


def outcomes(request):
    """处理结果公示: decided complaints, the complainant shown only as "a project owner" /
    "an agency" / "a member of the public". One query per page (plus the count)."""
    q = request.GET.get("q", "")[:100]
    page = paginate(request, selectors.published_outcomes(q=q))
    page.object_list = list(page.object_list)
    for complaint in page.object_list:
        complaint.anonymous_label = services.anonymous_label(complaint.complainant_kind)
    return render(request, "ratings/complaints/outcomes.html", {"page_obj": page, "q": q})
