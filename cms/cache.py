"""Server-side cache of public pages.

Catalog pages are the same for every anonymous visitor in a language, change only when an editor
publishes, and cost ~15 ms of Wagtail routing, queries and template rendering each. So the
rendered HTML of opted-in responses is kept in the shared cache (Redis in production) under

    (generation, language, host, path, normalised query string)

and served without touching Wagtail or the database. The generation is one integer in the cache,
bumped whenever something a public page shows may have changed (publish, unpublish, move or
delete of a page, a fee rule saved or deleted): old entries are never read again and expire on
their own. A time-to-live bounds staleness of anything else a page shows (dates, counts).

Only responses that ask for it are stored (``mark_cacheable``), and only when they are a 200
HTML answer to an anonymous GET/HEAD with no cookie set and no per-visitor state; logged-in
visitors, previews and the back offices always get a fresh page.
"""

from __future__ import annotations

import hashlib
import logging
from urllib.parse import urlencode

from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse
from django.utils import translation

logger = logging.getLogger(__name__)

GENERATION_KEY = "mp:pagecache:generation"
_KEY_PREFIX = "mp:pagecache:v1"
_EXCLUDED_PREFIXES = ("/cms/", "/shop/", "/django-admin/", "/i18n/", "/language/", "/healthz")
# Headers of the original response worth replaying; everything security-related (CSP, HSTS,
# nosniff, request id) is added afresh by the outer middleware on every response.
_REPLAYED_HEADERS = ("Content-Type", "Cache-Control", "Content-Language")


def timeout() -> int:
    return int(settings.MARKETPLACE.get("PAGE_CACHE_SECONDS", 0) or 0)


def mark_cacheable(response):
    """Opt a response in. Call it only where the content depends on nothing but the URL and
    the language."""
    response._mp_page_cacheable = True
    return response


def bump_generation(**_kwargs) -> None:
    """Invalidates every cached page at once. Connected to the signals in CmsConfig.ready()."""
    try:
        cache.incr(GENERATION_KEY)
    except ValueError:  # no generation yet (or evicted): any new value invalidates
        cache.set(GENERATION_KEY, 1, None)
    except Exception:
        logger.exception("could not invalidate the page cache")


def _generation() -> int:
    generation = cache.get(GENERATION_KEY)
    if generation is None:
        cache.add(GENERATION_KEY, 1, None)
        generation = cache.get(GENERATION_KEY, 1)
    return int(generation)


def _key(request, generation: int) -> str:
    query = urlencode(sorted(request.GET.lists()), doseq=True)
    raw = "|".join(
        (
            str(generation),
            translation.get_language() or "",
            request.get_host(),
            request.path,
            query,
        )
    )
    return f"{_KEY_PREFIX}:{hashlib.sha256(raw.encode()).hexdigest()}"


def _request_is_cacheable(request) -> bool:
    if request.method not in ("GET", "HEAD"):
        return False
    if request.path.startswith(_EXCLUDED_PREFIXES):
        return False
    # Any session (a logged-in user, a page password entered, a preview) or flash messages may
    # show per-visitor content: such visitors always get a fresh page. Checking the cookies
    # rather than request.user keeps a hit free of database queries.
    return not (
        settings.SESSION_COOKIE_NAME in request.COOKIES or "messages" in request.COOKIES
    )


def _response_is_cacheable(response) -> bool:
    return (
        getattr(response, "_mp_page_cacheable", False)
        and response.status_code == 200
        and not response.streaming
        and not response.cookies
        and response.get("Content-Type", "").startswith("text/html")
        and "private" not in response.get("Cache-Control", "")
        and "no-store" not in response.get("Cache-Control", "")
    )


class PublicPageCacheMiddleware:
    """Serves and stores opted-in public pages. Sits last in MIDDLEWARE, so sessions, language,
    CSP and the request id are handled by the outer middleware on hits as on misses."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        seconds = timeout()
        if seconds <= 0 or not _request_is_cacheable(request):
            return self.get_response(request)
        try:
            key = _key(request, _generation())
            cached = cache.get(key)
        except Exception:
            logger.warning("page cache unavailable; serving uncached", exc_info=True)
            return self.get_response(request)
        if cached is not None:
            content, headers = cached
            response = HttpResponse(content)
            for name, value in headers.items():
                response[name] = value
            response["X-Page-Cache"] = "hit"
            return response

        response = self.get_response(request)
        if _response_is_cacheable(response):
            if hasattr(response, "render") and not response.is_rendered:
                response.render()
            headers = {h: response[h] for h in _REPLAYED_HEADERS if h in response}
            try:
                cache.set(key, (response.content, headers), seconds)
            except Exception:
                logger.warning("could not store a page in the cache", exc_info=True)
            response["X-Page-Cache"] = "miss"
        return response


def connect_invalidation_signals() -> None:
    from django.db.models.signals import post_delete, post_save
    from wagtail.signals import page_published, page_unpublished, post_page_move

    from cms.fees.models import FeeRule

    page_published.connect(bump_generation, dispatch_uid="mp_pagecache_published")
    page_unpublished.connect(bump_generation, dispatch_uid="mp_pagecache_unpublished")
    post_page_move.connect(bump_generation, dispatch_uid="mp_pagecache_moved")
    post_save.connect(bump_generation, sender=FeeRule, dispatch_uid="mp_pagecache_feerule_saved")
    post_delete.connect(
        bump_generation, sender=FeeRule, dispatch_uid="mp_pagecache_feerule_deleted"
    )
    from wagtail.models import Page, Site

    post_delete.connect(bump_generation, sender=Page, dispatch_uid="mp_pagecache_page_deleted")
    post_save.connect(bump_generation, sender=Site, dispatch_uid="mp_pagecache_site_saved")
