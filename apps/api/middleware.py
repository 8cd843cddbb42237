"""Guards in front of the API: oversized bodies (413) and NUL characters in the URL (400)."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

from apps.api.errors import problem_json_response
from apps.common.errors import ErrorCode


class ApiRequestGuardMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info.startswith("/api/"):
            refusal = self._refuse(request)
            if refusal is not None:
                return refusal
        return self.get_response(request)

    def _refuse(self, request: HttpRequest) -> HttpResponse | None:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return problem_json_response(
                400, ErrorCode.VALIDATION_ERROR, _("Bad Content-Length"), _("Content-Length is not a number.")
            )
        if length > limit:
            return self._too_large()
        if (
            "\x00" in request.path
            or "\x00" in request.META.get("QUERY_STRING", "")
            or "%00" in request.META.get("QUERY_STRING", "")
        ):
            return problem_json_response(
                400,
                ErrorCode.VALIDATION_ERROR,
                _("The request is not valid"),
                _("The URL may not contain the NUL character."),
            )
        if request.method in ("POST", "PUT", "PATCH"):
            try:
                request.body  # noqa: B018 - reads at most the limit (chunked bodies too)
            except RequestDataTooBig:
                return self._too_large()
        return None

    @staticmethod
    def _too_large() -> HttpResponse:
        return problem_json_response(
            413, ErrorCode.PAYLOAD_TOO_LARGE, _("Payload too large"), _("The request body is larger than 1 MiB.")
        )
