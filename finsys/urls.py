"""Top-level routes: the API, the staff login, the portal, the admin, health probes."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import include, path
from django.views import defaults
from django.views.generic import RedirectView

from apps.api.errors import problem_json_response
from apps.common.errors import ErrorCode
from apps.ops import views as ops

admin.site.site_header = "finsys"
admin.site.site_title = "finsys"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="portal:overview"), name="root"),  # customers land on the portal
    path("healthz", ops.healthz, name="healthz"),
    path("readyz", ops.readyz, name="readyz"),
    path("metrics", ops.metrics, name="metrics"),
    path("api/v1/", include("apps.api.urls")),
    path("staff/", include("apps.staff.urls")),
    path("portal/", include("apps.portal.urls")),
    path("admin/", admin.site.urls),
]


def handler404(request: HttpRequest, exception: Exception) -> HttpResponse:
    if request.path.startswith("/api/"):
        return problem_json_response(404, ErrorCode.NOT_FOUND, "Not found", "There is nothing at this address.")
    return defaults.page_not_found(request, exception)


def handler500(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    if request.path.startswith("/api/"):
        return problem_json_response(
            500, "internal_error", "Internal error", "Something went wrong on our side; it has been logged."
        )
    return defaults.server_error(request)


def handler400(request: HttpRequest, exception: Exception) -> HttpResponse:
    if request.path.startswith("/api/"):
        return problem_json_response(400, ErrorCode.VALIDATION_ERROR, "Bad request", "The request could not be read.")
    return defaults.bad_request(request, exception)
