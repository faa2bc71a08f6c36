"""A small fixed-window rate limiter on Django's cache (Redis in production), for anything
anonymous that must not be flooded: complaints from the public, one-time codes.

    from ratings.ratelimit import Limit, RateLimited, hit

    LIMITS = (Limit(3, 3600), Limit(10, 86400))     # 3 an hour and 10 a day
    try:
        hit("complaint", f"ip:{ip}", LIMITS)
    except RateLimited as exc:
        exc.retry_at                                # when the first exhausted window ends

Each (scope, key, period) has one counter per window (``floor(now / period)``), created with
``cache.add`` (SET NX on Redis) and advanced with ``cache.incr`` (INCR on Redis), both atomic,
so concurrent requests never both take the last slot. ``hit`` first reads every counter and
refuses without counting when one is already full (a refused request does not extend the
wait); a counter that a concurrent request filled in between is caught by the value ``incr``
returns. Fixed windows allow up to twice a limit across a window boundary; that is accepted
for limits this coarse. With the cache down, ``hit`` lets the request through and logs: a
cache outage must not stop complaints.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.core.cache import caches

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limit:
    count: int  # at most this many hits …
    period: int  # … per this many seconds


class RateLimited(Exception):
    """Too many hits; ``retry_at`` (aware, UTC) is when a new one will be accepted."""

    def __init__(self, scope: str, retry_at: datetime):
        super().__init__(f"rate limit of {scope!r} reached until {retry_at.isoformat()}")
        self.scope = scope
        self.retry_at = retry_at


def _cache():
    alias = getattr(settings, "RATINGS", {}).get("RATE_LIMIT_CACHE", "default")
    return caches[alias]


def _key(scope: str, key: str, limit: Limit, window: int) -> str:
    # The key (an IP, an e-mail address) is hashed: no personal data in cache key names.
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
    return f"rl:{scope}:{limit.period}:{window}:{digest}"


def _windows(scope: str, key: str, limits: Iterable[Limit], now: float):
    for limit in limits:
        window = int(now // limit.period)
        yield limit, _key(scope, key, limit, window), (window + 1) * limit.period


def _retry_at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


def check(scope: str, key: str, limits: Iterable[Limit], *, now: float | None = None) -> None:
    """Raises ``RateLimited`` if a hit now would be refused; counts nothing."""
    now = time.time() if now is None else now
    windows = list(_windows(scope, key, limits, now))
    try:
        values = _cache().get_many([k for _limit, k, _end in windows])
    except Exception:
        logger.warning("ratelimit: cache unavailable for %s", scope, exc_info=True)
        return
    full = [end for limit, k, end in windows if int(values.get(k) or 0) >= limit.count]
    if full:
        raise RateLimited(scope, _retry_at(max(full)))


def hit(scope: str, key: str, limits: Iterable[Limit], *, now: float | None = None) -> None:
    """Counts one hit of ``key`` in ``scope`` against every limit, or raises ``RateLimited``
    (counting nothing when a limit was already reached)."""
    now = time.time() if now is None else now
    limits = tuple(limits)
    check(scope, key, limits, now=now)
    cache = _cache()
    over = []
    try:
        for limit, k, end in _windows(scope, key, limits, now):
            # A little longer than the window, so a counter never expires inside it.
            cache.add(k, 0, timeout=int(end - now) + 5)
            try:
                value = cache.incr(k)
            except ValueError:  # expired between add and incr: start the window again
                cache.add(k, 1, timeout=int(end - now) + 5)
                value = 1
            if value > limit.count:
                over.append(end)
    except Exception:
        logger.warning("ratelimit: cache unavailable for %s", scope, exc_info=True)
        return
    if over:
        raise RateLimited(scope, _retry_at(max(over)))
