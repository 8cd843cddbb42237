"""Browser-only middleware, left out of machine API calls.

/api/ calls authenticate with a bearer token: they carry no session cookie and no CSRF token,
read no flash messages, are never framed and need no second-factor session or page CSP. Running
Django's session, authentication, CSRF, messages and clickjacking middleware, django-otp's and
django-csp's on them cost the transfer path CPU on every call (bench/README.md). Each class here
is the library's middleware (a subclass, so Django's system checks still find it) that steps
aside on /api/ — except for the API's own browser pages (Swagger UI), which keep all of it.

The request-id, security, locale, common, audit-context and axes middleware run everywhere
(the token endpoint needs axes' lockout).
"""

from __future__ import annotations

from typing import Any

from csp.middleware import CSPMiddleware
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpRequest, HttpResponse
from django.middleware.clickjacking import XFrameOptionsMiddleware
from django.middleware.csrf import CsrfViewMiddleware
from django_otp.middleware import OTPMiddleware

API_PREFIX = "/api/"
BROWSER_PAGES_UNDER_API = ("/api/v1/docs/",)


def is_machine_api(request: HttpRequest) -> bool:
    """A bearer-token API call (not the API's documentation page)."""
    path = request.path_info
    return path.startswith(API_PREFIX) and not path.startswith(BROWSER_PAGES_UNDER_API)


class _BrowserOnly:
    get_response: Any

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if is_machine_api(request):
            return self.get_response(request)  # type: ignore[no-any-return]
        return super().__call__(request)  # type: ignore[misc,no-any-return]


class BrowserSessionMiddleware(_BrowserOnly, SessionMiddleware):
    pass


class BrowserAuthenticationMiddleware(_BrowserOnly, AuthenticationMiddleware):
    pass


class BrowserMessageMiddleware(_BrowserOnly, MessageMiddleware):
    pass


class BrowserXFrameOptionsMiddleware(_BrowserOnly, XFrameOptionsMiddleware):
    pass


class BrowserOTPMiddleware(_BrowserOnly, OTPMiddleware):
    pass


class BrowserCSPMiddleware(_BrowserOnly, CSPMiddleware):
    pass


class BrowserCsrfViewMiddleware(_BrowserOnly, CsrfViewMiddleware):
    def process_view(self, request: HttpRequest, callback: Any, callback_args: Any, callback_kwargs: Any) -> Any:
        if is_machine_api(request):
            return None
        return super().process_view(request, callback, callback_args, callback_kwargs)
