"""The worker heartbeat: a beat-scheduled task stores the time it last ran in the cache (Redis),
so /readyz and /metrics can tell whether tasks are being scheduled and consumed."""

from __future__ import annotations

import time

from django.core.cache import cache

HEARTBEAT_KEY = "ops:worker-heartbeat"


def heartbeat_write() -> None:
    cache.set(HEARTBEAT_KEY, time.time(), timeout=None)


def heartbeat_age() -> float | None:
    """Seconds since the last heartbeat, or None if there never was one (or Redis lost it)."""
    value = cache.get(HEARTBEAT_KEY)
    if not isinstance(value, int | float):
        return None
    return max(0.0, time.time() - float(value))
