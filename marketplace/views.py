from django.db import connection
from django.http import HttpResponse, JsonResponse
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
