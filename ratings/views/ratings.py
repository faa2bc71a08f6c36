"""服务评价 and 信用评价 pages: the owner's rating form and the agency's reply form on the
contract page (``contract_panel``, included by procurement/templates/procurement/contracts/
detail.html), their POST endpoints, and an agency's public credit history.

A refused action is a 404 (the contract page's convention); bad input comes back to the
contract page as messages, and nothing changes."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from agencies.models import Agency
from agencies.views.common import run_service
from marketplace.permissions import has_perm
from procurement import selectors as procurement_selectors
from procurement.contracts import contract_url
from procurement.models import SigningParty
from ratings import credit, selectors
from ratings.models import Rating
from ratings.rating import (
    COMMENT_MAX,
    DIMENSION_LABELS,
    DIMENSIONS,
    RATABLE_STATES,
    REPLY_MAX,
    rating_deadline,
    rating_reply,
    rating_submit,
)

SCORE_CHOICES = [(str(n), str(n)) for n in range(5, 0, -1)]


def _score_field(dimension: str) -> forms.TypedChoiceField:
    return forms.TypedChoiceField(
        label=DIMENSION_LABELS[dimension],
        choices=SCORE_CHOICES,
        coerce=int,
        widget=forms.RadioSelect,
    )


class RatingForm(forms.Form):
    quality = _score_field("quality")
    timeliness = _score_field("timeliness")
    attitude = _score_field("attitude")
    fees = _score_field("fees")
    compliance = _score_field("compliance")
    comment = forms.CharField(
        label=gettext_lazy("Comment"),
        required=False,
        max_length=COMMENT_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class ReplyForm(forms.Form):
    reply = forms.CharField(
        label=gettext_lazy("Your public reply"),
        max_length=REPLY_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


def contract_panel(user, contract, party) -> dict:
    """The context of the rating panel on the contract page (``party``: the user's party,
    procurement.contracts.party_of). No query before the contract's acceptance; one after
    (the rating)."""
    if contract.status not in RATABLE_STATES:
        return {"show": False}
    rating = selectors.contract_rating(contract.pk)
    deadline = rating_deadline(contract)
    open_ = deadline is not None and timezone.now() <= deadline
    is_owner = party == SigningParty.OWNER
    is_agency = party == SigningParty.AGENCY
    return {
        "show": True,
        "rating": rating,
        "deadline": deadline,
        "can_rate": rating is None and is_owner and open_,
        "closed": rating is None and not open_,
        "can_reply": rating is not None and is_agency and rating.replied_at is None,
        "form": RatingForm(),
        "reply_form": ReplyForm(),
        "dimensions": [
            (DIMENSION_LABELS[name], getattr(rating, name) if rating else None)
            for name in DIMENSIONS
        ],
    }


def _flash_errors(request, form) -> None:
    for errors in form.errors.values():
        for message in errors:
            messages.error(request, message)


@login_required
@require_POST
def rate(request, code):
    """The owner's rating of a contract (POST from the contract page)."""
    contract = procurement_selectors.contract_for_page(code)
    if contract is None or not has_perm(request.user, "view", contract):
        raise Http404
    form = RatingForm(request.POST)
    if not form.is_valid():
        _flash_errors(request, form)
    else:
        run_service(
            request,
            None,
            rating_submit,
            success=_("Thank you: your rating is published on the agency's profile."),
            actor=request.user,
            contract=contract,
            **form.cleaned_data,
        )
    return redirect(contract_url(contract) + "#rating")


@login_required
@require_POST
def reply(request, pk):
    """The agency's reply to a rating (POST from the contract page)."""
    rating = get_object_or_404(
        Rating.objects.select_related("contract", "agency__organisation"), pk=pk
    )
    if not has_perm(request.user, "view", rating.contract):
        raise Http404
    form = ReplyForm(request.POST)
    if not form.is_valid():
        _flash_errors(request, form)
    else:
        run_service(
            request,
            None,
            rating_reply,
            success=_("Your reply is published."),
            actor=request.user,
            rating=rating,
            reply=form.cleaned_data["reply"],
        )
    return redirect(contract_url(rating.contract) + "#rating")


COMPONENT_ROWS = (
    # (key, label, how it is counted)
    (
        "ratings",
        gettext_lazy("Service ratings"),
        gettext_lazy(
            "(weighted average − 3) × 7.5, from −15 to +15; each rating weighs half as much "
            "every 12 months; ratings of the last 24 months"
        ),
    ),
    (
        "complaints",
        gettext_lazy("Upheld complaints"),
        gettext_lazy("−8 each, decided in the last 24 months"),
    ),
    (
        "overdue",
        gettext_lazy("Overdue contracts"),
        gettext_lazy("−3 each, due in the last 24 months"),
    ),
    (
        "declines",
        gettext_lazy("Declined selections"),
        gettext_lazy("−2 each, in the last 24 months"),
    ),
    (
        "warnings",
        gettext_lazy("Warnings"),
        gettext_lazy("−5 each, in effect or ended less than 12 months ago"),
    ),
    (
        "suspensions",
        gettext_lazy("Suspensions"),
        gettext_lazy("−15 each, in effect or ended less than 12 months ago"),
    ),
    (
        "on_time",
        gettext_lazy("On-time completions"),
        gettext_lazy("+1 each, accepted in the last 24 months, at most +10"),
    ),
)


def explain(components: dict) -> list[dict]:
    """The rows of a score's explanation: label, rule, count, points."""
    rows = []
    for key, label, rule in COMPONENT_ROWS:
        part = components.get(key) or {}
        rows.append(
            {
                "key": key,
                "label": label,
                "rule": rule,
                "count": part.get("count", 0),
                "points": part.get("points", "0.00"),
                "average": part.get("weighted_average"),
            }
        )
    return rows


def credit_history(request, pk):
    """信用记录: an approved agency's current grade and the history of its scores, each with
    its terms explained. Public. Fixed queries: the agency, the history, the policy page."""
    agency = (
        Agency.objects.select_related("organisation").filter(pk=pk).first()
        if str(pk).isdigit()
        else None
    )
    if agency is None or not has_perm(request.user, "view_credit", agency):
        raise Http404
    history = selectors.credit_history(agency.pk)
    entries = [
        {
            "score": entry,
            "rows": explain(entry.components or {}),
            "bans": (entry.components or {}).get("bans") or {},
            "previous": (entry.components or {}).get("previous") or {},
            "raw": (entry.components or {}).get("raw"),
        }
        for entry in history
    ]
    return render(
        request,
        "ratings/credit_history.html",
        {
            "agency": agency,
            "entries": entries,
            "latest": entries[0] if entries else None,
            "formula_version": credit.FORMULA_VERSION,
            "policy_url": selectors.credit_policy_url(),
        },
    )
