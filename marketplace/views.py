from django.conf import settings
from django.db import connection
from django.http import HttpResponse, HttpResponseBadRequest, HttpResponseRedirect, JsonResponse
from django.utils.http import url_has_allowed_host_and_scheme
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
