"""RFC 9457 problem details for every API error, with the stable codes of API.md."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, JsonResponse
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions as drf
from rest_framework.response import Response

from apps.common.errors import DomainError, ErrorCode, ValidationFailed

PROBLEM_CONTENT_TYPE = "application/problem+json"

_DRF_CODES: list[tuple[type[Exception], int, ErrorCode, Any]] = [
    (drf.ParseError, 400, ErrorCode.MALFORMED_JSON, _("Malformed request body")),
    (drf.NotAuthenticated, 401, ErrorCode.NOT_AUTHENTICATED, _("Authentication required")),
    (drf.AuthenticationFailed, 401, ErrorCode.NOT_AUTHENTICATED, _("Authentication required")),
    (drf.PermissionDenied, 403, ErrorCode.PERMISSION_DENIED, _("Permission denied")),
    (drf.NotFound, 404, ErrorCode.NOT_FOUND, _("Not found")),
    (drf.MethodNotAllowed, 405, ErrorCode.METHOD_NOT_ALLOWED, _("Method not allowed")),
    (drf.NotAcceptable, 406, ErrorCode.NOT_ACCEPTABLE, _("Not acceptable")),
    (drf.UnsupportedMediaType, 415, ErrorCode.UNSUPPORTED_MEDIA_TYPE, _("Unsupported media type")),
    (drf.Throttled, 429, ErrorCode.THROTTLED, _("Too many requests")),
]


def problem_body(*, status: int, code: str, title: str, detail: str, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": f"urn:finsys:problem:{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
    }
    body.update(extra)
    return body


def domain_problem(error: DomainError) -> tuple[int, dict[str, Any]]:
    extra: dict[str, Any] = dict(error.extra)
    if isinstance(error, ValidationFailed):
        extra["errors"] = {field: [str(m) for m in messages] for field, messages in error.errors.items()}
    body = problem_body(
        status=error.status, code=error.code, title=str(error.title), detail=str(error.message), **extra
    )
    return error.status, body


def problem_response(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    return Response(body, status=status, content_type=PROBLEM_CONTENT_TYPE, headers=headers)


def problem_json_response(status: int, code: str, title: Any, detail: Any) -> JsonResponse:
    """For code outside DRF (middleware, 404/500 handlers of the API)."""
    return JsonResponse(
        problem_body(status=status, code=code, title=str(title), detail=str(detail)),
        status=status,
        content_type=PROBLEM_CONTENT_TYPE,
    )


def _flatten(detail: Any) -> dict[str, list[str]]:
    if isinstance(detail, dict):
        out: dict[str, list[str]] = {}
        for field, messages in detail.items():
            if isinstance(messages, dict):
                for sub, inner in _flatten(messages).items():
                    out[f"{field}.{sub}"] = inner
            elif isinstance(messages, list):
                flat: list[str] = []
                for index, message in enumerate(messages):
                    if isinstance(message, dict):
                        for sub, inner in _flatten(message).items():
                            out[f"{field}[{index}].{sub}"] = inner
                    else:
                        flat.append(str(message))
                if flat:
                    out[str(field)] = flat
            else:
                out[str(field)] = [str(messages)]
        return out
    if isinstance(detail, list):
        return {"non_field_errors": [str(m) for m in detail]}
    return {"non_field_errors": [str(detail)]}


def problem_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DomainError):
        status, body = domain_problem(exc)
        return problem_response(status, body)
    if isinstance(exc, drf.ValidationError):
        errors = _flatten(exc.detail)
        body = problem_body(
            status=400,
            code=ErrorCode.VALIDATION_ERROR,
            title=str(_("The request is not valid")),
            detail="; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in errors.items()),
            errors=errors,
        )
        return problem_response(400, body)
    if isinstance(exc, Http404):
        exc = drf.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = drf.PermissionDenied()
    for kind, status, code, title in _DRF_CODES:
        if isinstance(exc, kind):
            headers: dict[str, str] = {}
            if isinstance(exc, (drf.NotAuthenticated, drf.AuthenticationFailed)):
                headers["WWW-Authenticate"] = 'Bearer realm="finsys"'
            wait = getattr(exc, "wait", None)
            if isinstance(exc, drf.Throttled) and wait is not None:
                headers["Retry-After"] = str(int(wait))
            detail = exc.detail if isinstance(exc, drf.APIException) else str(title)
            return problem_response(
                status, problem_body(status=status, code=code, title=str(title), detail=str(detail)), headers
            )
    return None  # anything else is a bug: Django's 500 handler (see finsys.urls) answers
