"""Per-client request rates, by channel, counted in the shared cache (Redis when configured).

A fixed window per client: one atomic INCR in the cache per request (no database round trip),
so every web process counts against the same budget. Over the budget, DRF raises Throttled and
the problem handler answers 429 `throttled` with Retry-After. A channel whose rate is empty in
settings.API_THROTTLE_RATES (by default `system`, the bank's own systems) is not counted at all.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from apps.api.authentication import ApiPrincipal

logger = logging.getLogger(__name__)
_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """ "600/min" -> (600 requests, 60 seconds); the period's first letter counts (s, m, h, d)."""
    try:
        count, period = rate.split("/", 1)
        return int(count), _PERIODS[period.strip()[0].lower()]
    except (ValueError, KeyError, IndexError):
        raise ImproperlyConfigured(f"API_THROTTLE_RATES: {rate!r} is not like '600/min'") from None


def rate_for(channel: str) -> tuple[int, int] | None:
    rate = settings.API_THROTTLE_RATES.get(channel)
    return parse_rate(rate) if rate else None


class ClientRateThrottle(BaseThrottle):
    def __init__(self) -> None:
        self._wait: float | None = None

    def allow_request(self, request: Request, view: Any) -> bool:
        principal = request.user
        if not isinstance(principal, ApiPrincipal):
            return True  # public endpoints; unauthenticated calls were refused before
        rate = rate_for(principal.actor.channel)
        if rate is None:
            return True
        limit, period = rate
        now = time.time()
        window = int(now // period)
        key = f"api-throttle:{principal.client_id}:{period}:{window}"
        try:
            try:
                count = cache.incr(key)  # one call for every request but a window's first
            except ValueError:  # no such key yet: this request opens the window
                count = 1 if cache.add(key, 1, timeout=period + 1) else cache.incr(key)
        except Exception:  # noqa: BLE001 - the cache is down: serve rather than refuse everyone
            logger.warning("throttling: the shared cache is unreachable; request not counted")
            return True
        if count <= limit:
            return True
        self._wait = (window + 1) * period - now
        return False

    def wait(self) -> float | None:
        return None if self._wait is None else float(math.ceil(self._wait))
