"""Request ids: taken from X-Request-ID when it is well-formed, otherwise made here; bound for
every log line of the request (and the Celery tasks it sends), and returned in the response.

The same middleware counts responses and times requests for Prometheus: two metric updates per
request. django-prometheus's own middleware (a dozen updates per request, measurable on the
benchmarked transfer path) is opt-in: METRICS_DJANGO_MIDDLEWARE=1."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from apps.common.metrics import HTTP_REQUEST_SECONDS, HTTP_RESPONSES
from apps.common.request_context import (
    REQUEST_ID_HEADER,
    request_id_bind,
    request_id_is_valid,
    request_id_new,
    request_id_unbind,
)

access_log = logging.getLogger("finsys.request")


class RequestIdMiddleware:
    """First in MIDDLEWARE, so every response carries the id, refusals included."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")
        request_id = incoming if request_id_is_valid(incoming) else request_id_new()
        request.request_id = request_id  # type: ignore[attr-defined]
        tokens = request_id_bind(request_id)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            response[REQUEST_ID_HEADER] = request_id
            match = request.resolver_match
            HTTP_REQUEST_SECONDS.labels(match.view_name if match else "unresolved").observe(
                time.perf_counter() - started
            )
            HTTP_RESPONSES.labels(request.method, str(response.status_code)).inc()
            if access_log.isEnabledFor(logging.INFO):
                # The path only: query strings may hold search terms (names), bodies and headers
                # may hold personal data and credentials.
                access_log.info(
                    "request",
                    extra={
                        "method": request.method,
                        "path": request.path,
                        "status": response.status_code,
                        "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                    },
                )
            return response
        finally:
            request_id_unbind(tokens)
