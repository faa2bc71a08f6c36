"""Sanction pages (失信惩戒): the regulator's list, propose form, approval queue (market bans,
four eyes), appeal queue and a sanction's page with its actions; the agency's sanctions with
the appeal form; and the PUBLIC blacklist (黑名单公示) with its CSV export.

Regulators see only the sanctions of agencies in their scope; anybody else gets a 404 (as the
other regulator pages). Services do the checking (ratings/sanctions.py); these views read,
validate the form and call one service.
"""

from __future__ import annotations

import csv
import datetime
import re

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Exists, OuterRef, QuerySet
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from agencies.forms import StyledFormMixin, apply_errors
from agencies.models import Agency
from agencies.views.common import paginate, query_string_without_page, user_agencies
from marketplace.models import OrganisationKind, Region
from marketplace.permissions import has_perm
from marketplace.selectors import user_organisations
from ratings import sanctions as services
from ratings.models import AppealStatus, Sanction, SanctionSeverity, SanctionStatus
from ratings.reasons import all_reasons, reason, reason_choices
from ratings.sanction_selectors import UNPUBLISHED

PAGE_SIZE = 20
USCC_RE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$")


# --- reads ------------------------------------------------------------------------------------


def _rows(queryset: QuerySet[Sanction]) -> QuerySet[Sanction]:
    return queryset.select_related(
        "agency__organisation__region", "appeal_record", "regulator", "proposed_by"
    )


def regulator_sanctions(user) -> QuerySet[Sanction]:
    """Sanctions of the agencies in the user's review scope (one EXISTS), newest first."""
    from agencies.selectors import _review_scope

    scope, _pages = _review_scope(user)
    if scope is None:
        return Sanction.objects.none()
    in_scope = Agency.objects.filter(scope, pk=OuterRef("agency_id"))
    return _rows(Sanction.objects.filter(Exists(in_scope))).order_by("-created_at", "-pk")


def is_regulator_user(user) -> bool:
    return bool(user_organisations(user, kind=OrganisationKind.REGULATOR))


def reason_label(code: str) -> str:
    found = reason(code)
    return found.display() if found else code


class BadFilter(ValueError):
    def __init__(self, message: str, param: str):
        super().__init__(message)
        self.message = message
        self.param = param


def blacklist_queryset(params) -> tuple[QuerySet[Sanction], dict]:
    """The published sanctions filtered by ``params`` (``q`` a name fragment or a USCC,
    ``reason``, ``status``, ``severity``, ``region`` a region code: its subtree). Raises
    ``BadFilter`` for a value that names nothing. Returns the queryset and the cleaned
    filters. Costs one query for a region filter, none otherwise."""
    queryset = Sanction.objects.exclude(status__in=UNPUBLISHED)
    cleaned: dict[str, str] = {}
    q = (params.get("q") or "").strip()
    if q:
        if len(q) > 100:
            raise BadFilter(_("The search text is too long (100 characters at most)."), "q")
        if USCC_RE.match(q.upper()):
            queryset = queryset.filter(agency__organisation__uscc=q.upper())
        else:
            queryset = queryset.filter(agency__organisation__name__icontains=q)
        cleaned["q"] = q
    value = (params.get("reason") or "").strip()
    if value:
        if reason(value) is None:
            raise BadFilter(
                _("Unknown reason “%(value)s”: choose one from the list.") % {"value": value[:20]},
                "reason",
            )
        queryset = queryset.filter(reason_code=value)
        cleaned["reason"] = value
    value = (params.get("status") or "").strip()
    if value:
        if value not in SanctionStatus.values or value in UNPUBLISHED:
            raise BadFilter(
                _("Unknown status “%(value)s”: choose one from the list.") % {"value": value[:20]},
                "status",
            )
        queryset = queryset.filter(status=value)
        cleaned["status"] = value
    value = (params.get("severity") or "").strip()
    if value:
        if value not in SanctionSeverity.values:
            raise BadFilter(
                _("Unknown measure “%(value)s”: choose one from the list.") % {"value": value[:20]},
                "severity",
            )
        queryset = queryset.filter(severity=value)
        cleaned["severity"] = value
    value = (params.get("region") or "").strip()
    if value:
        region = Region.objects.filter(code=value[:12]).first() if value.isdigit() else None
        if region is None:
            raise BadFilter(
                _("Unknown region “%(value)s”: give a region code such as 530100.")
                % {"value": value[:20]},
                "region",
            )
        queryset = queryset.filter(region.code_prefix_q("agency__organisation__region__code"))
        cleaned["region"] = value
    return _rows(queryset).order_by("-effective_at", "-pk"), cleaned


# --- forms ------------------------------------------------------------------------------------


class ProposeForm(StyledFormMixin, forms.Form):
    uscc = forms.CharField(
        label=gettext_lazy("Unified social credit code of the agency"),
        max_length=18,
        required=False,
    )
    reason_code = forms.ChoiceField(label=gettext_lazy("Reason"), choices=())
    severity = forms.ChoiceField(label=gettext_lazy("Measure"), choices=SanctionSeverity.choices)
    starts_on = forms.DateField(
        label=gettext_lazy("From"), widget=forms.DateInput(attrs={"type": "date"})
    )
    ends_on = forms.DateField(
        label=gettext_lazy("Until"), widget=forms.DateInput(attrs={"type": "date"})
    )
    facts = forms.CharField(label=gettext_lazy("Facts found"), widget=forms.Textarea)

    def __init__(self, *args, agency=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.agency = agency
        self.fields["reason_code"].choices = [("", "—"), *reason_choices()]
        if agency is not None:
            del self.fields["uscc"]
        else:
            self.fields["uscc"].required = True

    def clean_uscc(self):
        value = (self.cleaned_data.get("uscc") or "").strip().upper()
        agency = (
            Agency.objects.select_related("organisation__region")
            .filter(organisation__uscc=value)
            .first()
        )
        if agency is None:
            raise ValidationError(_("No agency with this unified social credit code."))
        self.agency = agency
        return value


class ReasonForm(StyledFormMixin, forms.Form):
    reason = forms.CharField(label=gettext_lazy("Reason"), widget=forms.Textarea)


class DecisionForm(StyledFormMixin, forms.Form):
    outcome = forms.ChoiceField(
        label=pgettext_lazy("ruling", "Decision"),
        choices=(
            ("uphold", gettext_lazy("Uphold the sanction")),
            ("revoke", gettext_lazy("Revoke the sanction")),
        ),
        widget=forms.RadioSelect,
    )
    decision = forms.CharField(label=pgettext_lazy("appeal", "Reasons"), widget=forms.Textarea)


class AppealForm(StyledFormMixin, forms.Form):
    grounds = forms.CharField(label=gettext_lazy("Grounds of the appeal"), widget=forms.Textarea)


def _call(request, form, fn, success: str, **kwargs):
    """One service call: a ValidationError goes on the form (or the messages), a refusal is
    shown as the reason (the user is on a page they may see), the result returned."""
    try:
        result = fn(**kwargs)
    except ValidationError as exc:
        if form is not None:
            apply_errors(form, exc)
        else:
            for message in exc.messages:
                messages.error(request, message)
        return None
    except PermissionDenied as exc:
        text = str(exc) or _("You are not allowed to do this.")
        if form is not None:
            form.add_error(None, text)
        else:
            messages.error(request, text)
        return None
    messages.success(request, success)
    return result if result is not None else True


# --- the regulator's pages ----------------------------------------------------------------------


@login_required
@require_safe
def sanction_list(request):
    """失信惩戒: the sanctions of agencies in the regulator's scope, newest first."""
    if not is_regulator_user(request.user):
        raise Http404
    queryset = regulator_sanctions(request.user)
    status = request.GET.get("status") or ""
    if status in SanctionStatus.values:
        queryset = queryset.filter(status=status)
    page = paginate(request, queryset, PAGE_SIZE)
    return render(
        request,
        "ratings/sanctions/list.html",
        {
            "page_obj": page,
            "status": status,
            "statuses": SanctionStatus.choices,
            "query_string": query_string_without_page(request),
            "title": _("Sanctions in your scope"),
        },
    )


@login_required
@require_safe
def approval_queue(request):
    """待批准: proposed market bans in scope, other regulators' proposals, oldest first."""
    if not is_regulator_user(request.user):
        raise Http404
    queryset = (
        regulator_sanctions(request.user)
        .filter(status=SanctionStatus.PROPOSED, severity=SanctionSeverity.BAN)
        .exclude(proposed_by=request.user)
        .order_by("created_at", "pk")
    )
    page = paginate(request, queryset, PAGE_SIZE)
    return render(
        request,
        "ratings/sanctions/list.html",
        {"page_obj": page, "title": _("Market bans awaiting your approval"), "queue": True},
    )


@login_required
@require_safe
def appeal_queue(request):
    """申诉待决: appealed sanctions in scope that the user neither proposed nor approved,
    oldest first."""
    if not is_regulator_user(request.user):
        raise Http404
    queryset = (
        regulator_sanctions(request.user)
        .filter(appeal_record__status=AppealStatus.SUBMITTED)
        .exclude(proposed_by=request.user)
        .exclude(approved_by=request.user)
        .order_by("appeal_record__filed_at", "pk")
    )
    page = paginate(request, queryset, PAGE_SIZE)
    return render(
        request,
        "ratings/sanctions/list.html",
        {"page_obj": page, "title": _("Appeals awaiting a decision"), "queue": True},
    )


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def sanction_propose(request):
    """拟处理: for the agency ``?agency=<id>`` (from its profile) or found by USCC."""
    if not is_regulator_user(request.user):
        raise Http404
    agency = None
    agency_id = request.GET.get("agency") or request.POST.get("agency")
    if agency_id:
        if not str(agency_id).isdigit():
            raise Http404
        agency = Agency.objects.select_related("organisation__region").filter(pk=agency_id).first()
        if agency is None:
            raise Http404
    today = timezone.localdate()
    form = ProposeForm(
        request.POST or None,
        agency=agency,
        initial={"starts_on": today, "ends_on": today + datetime.timedelta(days=365)},
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        sanction = _call(
            request,
            form,
            services.sanction_propose,
            _("The sanction is recorded."),
            actor=request.user,
            agency=form.agency,
            reason_code=data["reason_code"],
            facts=data["facts"],
            severity=data["severity"],
            starts_on=data["starts_on"],
            ends_on=data["ends_on"],
        )
        if sanction:
            return redirect("ratings:sanction_detail", sanction.pk)
    return render(
        request,
        "ratings/sanctions/propose.html",
        {"form": form, "agency": agency, "reasons": all_reasons()},
    )


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def sanction_detail(request, pk: int):
    """One sanction, with the actions the user may take (approve or withdraw a ban proposal,
    decide an appeal, lift)."""
    sanction = _rows(Sanction.objects.filter(pk=pk)).first()
    if sanction is None or not has_perm(request.user, "view", sanction):
        raise Http404
    action = request.POST.get("action") if request.method == "POST" else None
    reason_form = ReasonForm(request.POST if action in ("withdraw", "lift") else None)
    decision_form = DecisionForm(request.POST if action == "decide" else None)
    done = None
    if action == "approve":
        done = _call(
            request,
            None,
            services.sanction_approve,
            _("The market ban is approved and in effect."),
            actor=request.user,
            sanction=sanction,
        )
    elif action == "withdraw":
        done = _call(
            request,
            None,
            services.sanction_withdraw,
            _("The proposal is withdrawn."),
            actor=request.user,
            sanction=sanction,
            reason=request.POST.get("reason", ""),
        )
    elif action == "lift":
        if reason_form.is_valid():
            done = _call(
                request,
                reason_form,
                services.sanction_lift,
                _("The sanction is lifted."),
                actor=request.user,
                sanction=sanction,
                reason=reason_form.cleaned_data["reason"],
            )
    elif action == "decide":
        if decision_form.is_valid():
            done = _call(
                request,
                decision_form,
                services.appeal_decide,
                _("The decision on the appeal is recorded and published."),
                actor=request.user,
                sanction=sanction,
                uphold=decision_form.cleaned_data["outcome"] == "uphold",
                decision=decision_form.cleaned_data["decision"],
            )
    elif action is not None:
        raise Http404
    if done or action in ("approve", "withdraw"):
        # Post/redirect/get; a refusal of approve or withdraw is in the messages.
        return redirect("ratings:sanction_detail", sanction.pk)
    user = request.user
    return render(
        request,
        "ratings/sanctions/detail.html",
        {
            "sanction": sanction,
            "appeal": getattr(sanction, "appeal_record", None),
            "reason_label": reason_label(sanction.reason_code),
            "may_approve": has_perm(user, "approve", sanction),
            "may_withdraw": has_perm(user, "withdraw", sanction),
            "may_decide": has_perm(user, "decide_appeal", sanction),
            "may_lift": has_perm(user, "lift", sanction),
            "reason_form": reason_form,
            "decision_form": decision_form,
        },
    )


# --- the agency's page --------------------------------------------------------------------------


def _member_agency(user) -> Agency | None:
    orgs = user_agencies(user)
    if not orgs:
        return None
    return (
        Agency.objects.filter(organisation__in=orgs)
        .select_related("organisation")
        .order_by("pk")
        .first()
    )


@login_required
@require_safe
def agency_sanctions(request):
    """本机构的失信惩戒: the agency's sanctions (from the moment they are in effect), each with
    its appeal or the appeal form while the time to appeal runs."""
    agency = _member_agency(request.user)
    if agency is None:
        raise Http404
    rows = list(
        _rows(Sanction.objects.filter(agency=agency).exclude(status__in=UNPUBLISHED)).order_by(
            "-effective_at", "-pk"
        )
    )
    now = timezone.now()
    for s in rows:
        s.reason_label = reason_label(s.reason_code)
        s.may_appeal = s.status == SanctionStatus.IN_EFFECT and (
            s.appeal_by is None or now <= s.appeal_by
        )
    return render(
        request,
        "ratings/sanctions/agency.html",
        {"agency": agency, "sanctions": rows, "form": AppealForm()},
    )


@login_required
@require_POST
def appeal_create(request, pk: int):
    sanction = _rows(Sanction.objects.filter(pk=pk)).first()
    if sanction is None or not has_perm(request.user, "view", sanction):
        raise Http404
    form = AppealForm(request.POST)
    if form.is_valid():
        _call(
            request,
            None,
            services.appeal_file,
            _("Your appeal is filed; a regulator other than the proposer will decide it."),
            actor=request.user,
            sanction=sanction,
            grounds=form.cleaned_data["grounds"],
        )
    else:
        messages.error(request, _("State the grounds of the appeal."))
    return redirect(reverse("ratings:agency_sanctions") + f"#sanction-{sanction.pk}")


# --- the public blacklist -----------------------------------------------------------------------


CSV_COLUMNS = (
    ("code", gettext_lazy("Decision number")),
    ("name", gettext_lazy("Agency")),
    ("uscc", gettext_lazy("Unified social credit code")),
    ("region", gettext_lazy("Region")),
    ("reason", gettext_lazy("Reason")),
    ("legal_basis", pgettext_lazy("sanction", "Legal basis")),
    ("severity", gettext_lazy("Measure")),
    ("starts_on", gettext_lazy("From")),
    ("ends_on", gettext_lazy("Until")),
    ("status", gettext_lazy("Status")),
    ("appeal", gettext_lazy("Appeal outcome")),
    ("appeal_decision", gettext_lazy("Appeal decision")),
    ("regulator", gettext_lazy("Decided by")),
)


def _public_row(s: Sanction) -> dict:
    appeal = getattr(s, "appeal_record", None)
    org = s.agency.organisation
    return {
        "code": s.code,
        "name": org.name,
        "uscc": org.uscc,
        "region": org.region.name if org.region_id else "",
        "reason": reason_label(s.reason_code),
        "legal_basis": s.legal_basis,
        "severity": s.get_severity_display(),
        "starts_on": s.starts_on.isoformat(),
        "ends_on": s.ends_on.isoformat(),
        "status": s.get_status_display(),
        "status_code": s.status,
        "appeal": appeal.get_status_display() if appeal else "",
        "appeal_decision": appeal.decision if appeal else "",
        "regulator": s.regulator.name,
    }


class _Echo:
    def write(self, value):
        return value


def _csv(queryset) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())
    # The rows are produced after the view returns: in the request's language, still.
    language = translation.get_language()

    def rows():
        with translation.override(language):
            yield "\ufeff"  # BOM: Excel opens UTF-8 CSV correctly only with it
            yield writer.writerow([str(label) for _key, label in CSV_COLUMNS])
            for s in queryset.iterator(chunk_size=500):
                row = _public_row(s)
                yield writer.writerow([row[key] for key, _label in CSV_COLUMNS])

    stamp = timezone.localdate().strftime("%Y%m%d")
    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="blacklist-{stamp}.csv"'
    return response


@require_safe
def blacklist(request):
    """黑名单公示 (public): sanctions in effect or decided, with name, USCC, reason, legal
    basis, period, status and appeal outcome; searchable and paginated with a fixed number of
    queries (tests/ratings/test_sanctions.py), exportable as CSV (``?format=csv``, same
    filters). A bad filter value is a 400 with the message."""
    try:
        queryset, cleaned = blacklist_queryset(request.GET)
    except BadFilter as exc:
        if request.GET.get("format") == "csv":
            return HttpResponse(exc.message, status=400, content_type="text/plain; charset=utf-8")
        return render(
            request,
            "ratings/blacklist.html",
            _blacklist_context(request, None, {}, error=exc.message, error_param=exc.param),
            status=400,
        )
    if request.GET.get("format") == "csv":
        return _csv(queryset)
    page = paginate(request, queryset, PAGE_SIZE)
    return render(request, "ratings/blacklist.html", _blacklist_context(request, page, cleaned))


def _blacklist_context(request, page, cleaned, **extra) -> dict:
    params = request.GET.copy()
    params.pop("page", None)
    params.pop("format", None)
    csv_params = params.copy()
    csv_params["format"] = "csv"
    if "error_param" in extra:
        cleaned = {k: v for k, v in request.GET.items() if k != extra["error_param"]}
    return {
        "page_obj": page,
        "rows": [_public_row(s) for s in page] if page is not None else [],
        "filters": cleaned,
        "reasons": reason_choices(),
        "statuses": [c for c in SanctionStatus.choices if c[0] not in UNPUBLISHED],
        "severities": SanctionSeverity.choices,
        "query_string": params.urlencode(),
        "csv_url": "?" + csv_params.urlencode(),
        **extra,
    }
