"""Helpers shared by the agencies views."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse

from agencies.forms import apply_errors
from agencies.models import Agency
from marketplace.models import OrganisationKind
from marketplace.selectors import user_organisations

PAGE_SIZE = 20


def paginate(request, queryset_or_list, per_page: int = PAGE_SIZE):
    paginator = Paginator(queryset_or_list, per_page)
    return paginator.get_page(request.GET.get("page"))


def query_string_without_page(request) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


def member_agency(user, pk: int) -> Agency:
    """The agency ``pk`` if ``user`` is one of its members; 404 otherwise (another agency's
    drafts are not even confirmed to exist)."""
    from agencies import selectors

    return selectors.agency_for_member(user, pk)


def user_agencies(user) -> list:
    """The agency organisations the user belongs to (from the cached memberships)."""
    return user_organisations(user, kind=OrganisationKind.AGENCY)


def user_agency_pk(user) -> int | None:
    orgs = user_agencies(user)
    if not orgs:
        return None
    # values_list, not only("pk"): the FSM mixin would load the deferred status (a query).
    return Agency.objects.filter(organisation__in=orgs).order_by("pk").values_list(
        "pk", flat=True
    ).first()


def is_regulator(user) -> bool:
    return bool(user_organisations(user, kind=OrganisationKind.REGULATOR))


def run_service(request, form, fn, *, aliases=None, success=None, **kwargs):
    """Calls a service; a ``ValidationError`` goes on ``form`` (returns None), a refusal is a
    404 for an object the user may not see. Returns the service's result."""
    try:
        result = fn(**kwargs)
    except ValidationError as exc:
        if form is None:
            for message in exc.messages:
                messages.error(request, message)
        else:
            apply_errors(form, exc, aliases)
        return None
    except PermissionDenied:
        raise Http404 from None
    if success:
        messages.success(request, success)
    return result if result is not None else True


def redirect_to(name: str, *args, anchor: str = ""):
    url = reverse(name, args=args)
    return redirect(url + (f"#{anchor}" if anchor else ""))
