"""POST /api/v1/oauth/token/: django-oauth-toolkit's token endpoint behind the login lockout.

Five wrong secrets for one client id from one IP within the cool-off lock that pair for
LOCKOUT_MINUTES (30): the fifth and every later request answers 429 with RFC 6749 §5.2 JSON
`{"error": "invalid_client", "error_description": ...}` and `Retry-After`, even with the right
secret, and the lockout is audited (`auth.lockout`). A token issued resets the count. Every
refusal counts as a failed login in the metrics.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import unquote_plus

from django.http import HttpRequest, HttpResponse
from oauth2_provider.views import TokenView

from apps.common.lockout import lockout_allows, lockout_failure, lockout_response, lockout_success
from apps.common.metrics import LOGIN_FAILURES


def _client_id(request: HttpRequest) -> str:
    """The client id the request claims, from HTTP Basic auth (RFC 6749 §2.3.1) or the form."""
    scheme, _, value = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() == "basic" and value.strip():
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return ""
        return unquote_plus(decoded.partition(":")[0])[:150]
    return str(request.POST.get("client_id", ""))[:150]


class LockedTokenView(TokenView):
    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        client_id = _client_id(request)
        if client_id and not lockout_allows(request, username=client_id):
            LOGIN_FAILURES.labels("api").inc()
            return lockout_response(request)
        response: HttpResponse = super().post(request, *args, **kwargs)
        if response.status_code >= 400:
            LOGIN_FAILURES.labels("api").inc()  # a refused client, secret or grant
        if client_id and response.status_code == 401:
            lockout_failure(request, username=client_id)  # at the limit, AxesMiddleware answers 429
        elif client_id and response.status_code == 200:
            lockout_success(request, username=client_id)
        return response
