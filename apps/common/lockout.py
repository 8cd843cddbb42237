"""Lockout after repeated failed logins (django-axes), shared by every way in.

One configuration (settings: `AXES_*`, `LOCKOUT_FAILURE_LIMIT`, `LOCKOUT_MINUTES`) serves every
login: 5 failures of one username from one IP lock that pair for 30 minutes, counted from the
fifth failure. Logins through Django's `authenticate()` (the staff login and the portal login) are counted by axes' backend on its own; other checks of a secret
(a TOTP code, an OAuth2 client secret) report here:

    if not lockout_allows(request, username=name): refuse with lockout_response(...)
    ... check the secret ...
    lockout_failure(request, username=name)   # or lockout_success(...) once fully logged in

`AXES_LOCKOUT_CALLABLE` points at `lockout_response`, so a request that hits the limit answers
the same way wherever it came from. The audit event for a lockout is written by
`apps.audit.receivers` (axes' `user_locked_out` signal).
"""

from __future__ import annotations

from typing import Any

from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_cool_off
from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _


def client_ip(request: HttpRequest) -> str:
    """The client's IP address (AXES_CLIENT_IP_CALLABLE).

    With no proxy (TRUSTED_PROXY_COUNT=0) it is the connection's address and X-Forwarded-For is
    ignored: anyone can write that header. Behind N proxies that each append the address they
    received from, the client is the N-th address from the right; entries further left were
    written by the client and are not trusted.
    """
    remote = str(request.META.get("REMOTE_ADDR", ""))
    proxies = int(getattr(settings, "TRUSTED_PROXY_COUNT", 0))
    if proxies <= 0:
        return remote
    forwarded = [part.strip() for part in str(request.META.get("HTTP_X_FORWARDED_FOR", "")).split(",")]
    forwarded = [part for part in forwarded if part]
    if len(forwarded) < proxies:
        return remote
    return forwarded[-proxies][:45]


def _credentials(username: str) -> dict[str, str]:
    return {"username": username}


def lockout_allows(request: HttpRequest, *, username: str) -> bool:
    """Whether this username may try a secret from this request's IP now."""
    return bool(AxesProxyHandler.is_allowed(request, _credentials(username)))


def lockout_failure(request: HttpRequest, *, username: str) -> bool:
    """Count one failed secret for username+IP; True when this failure locked them out."""
    user_login_failed.send(sender=__name__, credentials=_credentials(username), request=request)
    return bool(getattr(request, "axes_locked_out", False))


def lockout_success(request: HttpRequest, *, username: str) -> None:
    """Every factor was right: forget the earlier failures of username+IP."""
    AxesProxyHandler.update_request(request)
    AxesProxyHandler.get_implementation().reset_user_attempts(request, _credentials(username))


def lockout_seconds(request: HttpRequest | None = None) -> int:
    cool_off = get_cool_off(request)
    return int(cool_off.total_seconds()) if cool_off else 0


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: Any = None
) -> HttpResponse:
    """What a locked-out request gets (AXES_LOCKOUT_CALLABLE): 429 with Retry-After.

    The API answers RFC 6749 §5.2 JSON (`invalid_client`: the client cannot authenticate now);
    pages show a message in the user's language.
    """
    seconds = lockout_seconds(request)
    minutes = max(1, (seconds + 59) // 60)
    if request.path_info.startswith("/api/"):
        response: HttpResponse = JsonResponse(
            {
                "error": "invalid_client",
                "error_description": _(
                    "Too many failed attempts for this client from this address: try again in %(minutes)d minutes."
                )
                % {"minutes": minutes},
            },
            status=429,
        )
        response["Cache-Control"] = "no-store"
    else:
        template = "portal/locked_out.html" if request.path_info.startswith("/portal/") else "staff/locked_out.html"
        response = render(request, template, {"minutes": minutes}, status=429)
    if seconds:
        response["Retry-After"] = str(seconds)
    return response
