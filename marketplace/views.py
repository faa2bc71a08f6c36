from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import (
    Http404,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseRedirect,
    JsonResponse,
)
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


@never_cache
@require_GET
def healthz(request):
    """Liveness and database readiness, for the container health check and the load balancer."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:  # noqa: BLE001 - any database failure means "not ready"
        return JsonResponse({"status": "error", "database": "unavailable"}, status=503)
    return JsonResponse({"status": "ok"})


@require_GET
def floor(request):
    """The framework's floor: the full middleware stack and nothing else. Benchmarks compare
    real pages against it so their figures read as ratios on any machine."""
    return HttpResponse("ok", content_type="text/plain")


@require_GET
def region_children(request, code: str | None = None):
    """Children of an administrative division, for cascading region pickers:
    /regions/children.json (provinces) and /regions/<code>/children.json."""
    from marketplace.models import Region
    from marketplace.selectors import region_children as select_children

    if code is not None and not Region.objects.filter(pk=code).exists():
        return JsonResponse({"error": "unknown region"}, status=404)
    from django.db.models import Exists, OuterRef

    children = list(
        select_children(code)
        .annotate(has_children=Exists(Region.objects.filter(parent_id=OuterRef("pk"))))
        .values("code", "name", "level", "has_children")
    )
    response = JsonResponse({"parent": code, "children": children})
    # The tree changes once a year; let browsers and proxies keep it for a day.
    response["Cache-Control"] = "public, max-age=86400"
    return response


@never_cache
@require_GET
def switch_language(request):
    """Sets the display-language cookie and goes back. GET, without CSRF, because the only
    effect is a cosmetic preference (the worst a forged link can do is show English), and it
    keeps public pages free of per-visitor tokens so they can be cached for everyone."""
    language = request.GET.get("language", "")
    if language not in dict(settings.LANGUAGES):
        return HttpResponseBadRequest("unknown language / 不支持的语言", content_type="text/plain")
    next_url = request.GET.get("next") or "/"
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = "/"
    response = HttpResponseRedirect(next_url)
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )
    return response


# --- organisation members ----------------------------------------------------------------------

# Where a user who removed their own membership lands (the members page is no longer theirs).
_HOME_BY_KIND = {"owner": "procurement:owner", "agency": "agencies:portal"}


@login_required
def members(request, pk: int):
    """/org/<pk>/members/: an organisation's administrators (users allowed "manage") list its
    members, add an existing account by e-mail (membership_add) and remove members
    (membership_remove, which keeps the last administrator). Anyone else gets a 404. A fixed
    number of queries whatever the number of members (tests/marketplace/test_members.py)."""
    from agencies.views.common import run_service
    from marketplace import services
    from marketplace.forms import MemberAddForm
    from marketplace.models import Membership, Organisation
    from marketplace.permissions import has_perm
    from marketplace.selectors import forget_memberships

    organisation = Organisation.objects.filter(pk=pk).first()
    if organisation is None or not has_perm(request.user, "manage", organisation):
        raise Http404
    form = MemberAddForm(organisation=organisation)
    if request.method == "POST":
        if "remove" in request.POST:
            remove = request.POST["remove"]
            membership = (
                Membership.objects.select_related("user", "organisation")
                .filter(organisation=organisation, pk=remove)
                .first()
                if remove.isdigit()
                else None
            )
            if membership is None:
                raise Http404
            if (
                run_service(
                    request,
                    None,
                    services.membership_remove,
                    actor=request.user,
                    membership=membership,
                    success=_("%(name)s is no longer a member.")
                    % {"name": membership.user.get_full_name()},
                )
                and membership.user_id == request.user.pk
            ):
                forget_memberships(request.user)
                if not has_perm(request.user, "manage", organisation):
                    return redirect(_HOME_BY_KIND.get(organisation.kind, "/"))
            return redirect("core:members", organisation.pk)
        form = MemberAddForm(request.POST, organisation=organisation)
        if form.is_valid():
            user = form.cleaned_data["user"]
            if run_service(
                request,
                form,
                services.membership_add,
                actor=request.user,
                organisation=organisation,
                user=user,
                role=form.cleaned_data["role"],
                success=_("%(name)s is now a member.") % {"name": user.get_full_name()},
            ):
                return redirect("core:members", organisation.pk)
    memberships = (
        Membership.objects.filter(organisation=organisation)
        .select_related("user")
        .order_by("created_at", "pk")
    )
    return render(
        request,
        "marketplace/members.html",
        {"organisation": organisation, "memberships": memberships, "form": form},
    )
