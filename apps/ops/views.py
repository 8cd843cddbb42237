"""Liveness and readiness probes, and the Prometheus metrics endpoint."""

from __future__ import annotations

import hmac
import ipaddress
import os

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, HttpResponse, JsonResponse
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest, multiprocess

from apps.common.heartbeat import heartbeat_age
from apps.common.metrics import ScrapeTimeCollector
from apps.ops.metrics import redis_client


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


# Once every migration is applied it stays so for this process's code: check it once, not on
# every probe (building the migration graph is the expensive part of /readyz).
_migrations_ok = False


def _database_problem() -> str | None:
    global _migrations_ok
    try:
        connection = connections[DEFAULT_DB_ALIAS]
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        if not _migrations_ok:
            executor = MigrationExecutor(connection)
            if executor.migration_plan(executor.loader.graph.leaf_nodes()):
                return "migrations not applied"
            _migrations_ok = True
    except Exception as exc:  # noqa: BLE001 - any failure means not ready
        return f"database unavailable: {type(exc).__name__}"
    return None


def _redis_problem() -> str | None:
    if not settings.REDIS_URL:
        return None
    try:
        redis_client().ping()
    except Exception as exc:  # noqa: BLE001
        return f"redis unavailable: {type(exc).__name__}"
    return None


def _worker_state() -> str:
    """ok, stale, missing; eager without Redis (tasks run in-process, there is no worker)."""
    if not settings.REDIS_URL:
        return "eager"
    try:
        age = heartbeat_age()
    except Exception:  # noqa: BLE001 - Redis down is reported as such above
        return "unknown"
    if age is None:
        return "missing"
    return "ok" if age <= settings.FINSYS_WORKER_STALE_SECONDS else "stale"


def readyz(request: HttpRequest) -> JsonResponse:
    """200 when this process can serve: database, migrations, Redis (when configured).

    The Celery worker is reported but does not make the answer 503: the web processes serve
    reads and post transfers without it, and taking every web process out of the load balancer
    because of a worker problem would stop the whole bank instead of delaying its background
    work. Alert on `worker` (or finsys_worker_heartbeat_age_seconds) instead."""
    database = _database_problem()
    redis = _redis_problem()
    problems = [p for p in (database, redis) if p]
    checks = {
        "database": "ok" if database is None else database,
        "redis": ("ok" if redis is None else redis) if settings.REDIS_URL else "not configured",
        "worker": _worker_state() if redis is None else "unknown",
    }
    if problems:
        return JsonResponse({"status": "unavailable", "problems": problems, "checks": checks}, status=503)
    return JsonResponse({"status": "ready", "checks": checks})


def _metrics_allowed(request: HttpRequest) -> bool:
    """METRICS_TOKEN as a bearer token, or a direct connection from METRICS_ALLOWED_CIDRS.

    A request that passed through a proxy (X-Forwarded-For, Forwarded, X-Real-IP) is never let in
    by address: behind a proxy on the same host every client would look like 127.0.0.1."""
    token = settings.METRICS_TOKEN
    if token:
        scheme, _, given = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode()):
            return True
    if any(h in request.META for h in ("HTTP_X_FORWARDED_FOR", "HTTP_FORWARDED", "HTTP_X_REAL_IP")):
        return False
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    for cidr in settings.METRICS_ALLOWED_CIDRS:
        try:
            if address in ipaddress.ip_network(cidr, strict=False):
                return True
        except ValueError:
            continue
    return False


_scrape_time = ScrapeTimeCollector()
REGISTRY.register(_scrape_time)


def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus text format: django-prometheus's request metrics, the business counters of
    apps.common.metrics and the gauges computed now. 403 unless allowed (see above)."""
    if not _metrics_allowed(request):
        return HttpResponse("metrics are not public\n", status=403, content_type="text/plain")
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # every gunicorn worker's counters, summed
        registry.register(_scrape_time)
    else:
        registry = REGISTRY
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
