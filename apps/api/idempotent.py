"""The Idempotency-Key contract of API.md, for views that move money."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework.request import Request
from rest_framework.response import Response

from apps.api.authentication import ApiPrincipal
from apps.api.errors import PROBLEM_CONTENT_TYPE, domain_problem
from apps.api.parsers import JsonNumber
from apps.common.errors import DomainError, ErrorCode, ValidationFailed
from apps.common.idempotency import Outcome, request_fingerprint, run_idempotent

HEADER = "Idempotency-Key"


class IdempotencyKeyRequired(DomainError):
    code = ErrorCode.IDEMPOTENCY_KEY_REQUIRED
    status = 400
    title = _("An Idempotency-Key header is required")


def idempotency_key(request: Request) -> str:
    """The request's key, checked: 1 to 255 printable ASCII characters."""
    key = request.META.get("HTTP_IDEMPOTENCY_KEY")
    if key is None:
        raise IdempotencyKeyRequired()
    if not 1 <= len(key) <= 255 or not all(" " <= ch <= "~" for ch in key):
        raise ValidationFailed({HEADER: [_("Use 1 to 255 printable ASCII characters.")]})
    return key


def _tag_numbers(value: Any) -> Any:
    """Keep a JSON number distinct from a string with the same text in the fingerprint."""
    if isinstance(value, JsonNumber):
        return {"\x00number": str(value)}
    if isinstance(value, dict):
        return {k: _tag_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_tag_numbers(v) for v in value]
    return value


def respond_idempotently(request: Request, key: str, action: Callable[[], Outcome]) -> Response:
    principal = request.user
    assert isinstance(principal, ApiPrincipal)
    fingerprint = request_fingerprint(request.method or "POST", request.path, _tag_numbers(request.data))
    result = run_idempotent(
        principal=principal.actor.label, key=key, fingerprint=fingerprint, action=action, on_refusal=domain_problem
    )
    content_type = PROBLEM_CONTENT_TYPE if result.status >= 400 else None
    response = Response(result.body, status=result.status, content_type=content_type)
    if result.replayed:
        response["Idempotent-Replayed"] = "true"
    return response


def respond_optionally_idempotent(request: Request, action: Callable[[], Outcome]) -> Response:
    """Calls that move no money honour an Idempotency-Key when one is given."""
    if "HTTP_IDEMPOTENCY_KEY" in request.META:
        return respond_idempotently(request, idempotency_key(request), action)
    status, body = action()
    return Response(body, status=status)
