"""Search for people and programs: the public agency directory (名录检索, /agencies/) and the
JSON API (/api/search/agencies/, /api/search/catalog/). Thin: read the query, call
``search.api.search``, render. Bad input is a 400 with the message (the page keeps the form
and the input), no backend able to answer a 503; never a 500.

Not in the page cache (cms.cache): results follow the index, which the outbox updates after
approvals, suspensions and publishes, none of which invalidates cached pages."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_safe

from search.api import search, unavailable_message
from search.backends.base import SearchUnavailable
from search.kinds import get_kind
from search.presenters import link_params, present, submitted
from search.query import BadSearch

# The API's path segment -> the kind it searches.
API_KINDS = {"agencies": "agency", "catalog": "service_item", "announcements": "announcement"}


def _retry_after(response: HttpResponse) -> HttpResponse:
    response["Retry-After"] = str(int(settings.SEARCH.get("RETRY_AFTER", 15)))
    return response


def directory_page(
    request: HttpRequest,
    kind_name: str,
    template: str,
    *,
    default_sort: str = "",
    card=None,
) -> HttpResponse:
    """A search directory page over ``kind_name`` (the agency directory, the announcement
    list): 400 with the message for bad parameters, 503 when no backend can answer.
    ``default_sort`` names the sort shown when the request gives none the kind knows;
    ``card`` turns each hit's data into what the template shows (no query)."""
    kind = get_kind(kind_name)
    query = submitted(request.GET)
    params = link_params(query)
    context = {
        "kind": kind,
        "q": params.get("q", ""),
        "sort": params.get("sort", ""),
        # The filters ride along in the search form as hidden fields (a new search keeps them).
        "hidden": [(k, v) for k, v in params.items() if k not in ("q", "sort", "page")],
        # Every sort while there is no result to say which apply (400, 503).
        "sorts": [(s.param, str(s.label)) for s in kind.sorts],
    }
    status = 200
    try:
        result = search(kind.name, query)
    except BadSearch as exc:
        status = 400
        context.update(error=exc.message, error_param=exc.param)
        # Without the faulty parameter, so that searching again does not fail the same way.
        context["hidden"] = [(k, v) for k, v in context["hidden"] if k != exc.param]
    except SearchUnavailable:
        status = 503
        context.update(unavailable=unavailable_message())
    else:
        shown = present(kind, result, params)
        sort = result.request.sort
        if default_sort and not kind.sort(sort):
            sort = default_sort
        context.update(shown.context(result), result=result, sorts=shown.sorts, sort=sort)
        if card is not None:
            context["hits"] = [card(data) for data in context["hits"]]
    response = render(request, template, context, status=status)
    return _retry_after(response) if status == 503 else response


@require_safe
def agency_directory(request: HttpRequest) -> HttpResponse:
    """名录: approved agencies found by name, USCC or item, narrowed by facets with counts.
    Fixed queries whatever the page size (tests/search/test_views.py)."""
    return directory_page(request, "agency", "search/agency_directory.html")


def _json(data: dict, status: int = 200) -> JsonResponse:
    response = JsonResponse(data, status=status, json_dumps_params={"ensure_ascii": False})
    # Public data, but it changes whenever the index does: caches must ask again each time.
    patch_cache_control(response, max_age=0)
    return response


@require_safe
def api_search(request: HttpRequest, kind_path: str) -> JsonResponse:
    """The same parameters as the pages (``q``, the kind's facets, ``sort``, ``page``,
    ``page_size``); 200 with the results and facets, 400 ``{"error", "param"}`` for bad input,
    503 ``{"error"}`` when no backend can answer."""
    try:
        result = search(API_KINDS[kind_path], request.GET)
    except BadSearch as exc:
        return _json({"error": exc.message, "param": exc.param}, status=400)
    except SearchUnavailable:
        return _retry_after(_json({"error": unavailable_message()}, status=503))
    return _json(result.as_dict())


__all__ = ["API_KINDS", "agency_directory", "api_search"]
