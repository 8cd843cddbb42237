"""The staff session guard: second factor, idle timeout and "log out everywhere", server-side.

- Every `/staff/` and `/admin/` page except the login, TOTP and logout steps needs a staff user
  who passed both factors; others are sent to the login (or to the TOTP step).
- A staff session idle for more than STAFF_IDLE_TIMEOUT_SECONDS ends at its next request,
  whatever the cookie says.
- A session started before the user's last "log out everywhere" ends at its next request.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from apps.staff.selectors import staff_session_epoch

LAST_SEEN_KEY = "staff_last_seen"
EPOCH_KEY = "staff_epoch"
GUARDED_PREFIXES = ("/staff/", "/admin/")
UNGUARDED_PREFIXES = ("/api/", "/static/", "/healthz", "/readyz", "/metrics")


def _open_paths() -> tuple[str, ...]:
    """The steps that must stay reachable before both factors are done."""
    return (reverse("staff:login"), reverse("staff:otp"), reverse("staff:logout"))


def _redirect(view: str, next_path: str, **extra: str) -> HttpResponseRedirect:
    return HttpResponseRedirect(f"{reverse(view)}?{urlencode({'next': next_path, **extra})}")


def session_start(request: HttpRequest) -> None:
    """Stamp a freshly logged-in session with the user's epoch and the time."""
    request.session[EPOCH_KEY] = staff_session_epoch(user_id=int(request.user.pk or 0))
    request.session[LAST_SEEN_KEY] = int(time.time())


class StaffSessionMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info
        if path.startswith(UNGUARDED_PREFIXES):
            return self.get_response(request)
        user = request.user
        if user.is_authenticated and user.is_staff:
            ended = self._ended(request)
            if ended:
                logout(request)
                next_path = request.get_full_path() if request.method == "GET" else reverse("staff:home")
                return _redirect("staff:login", next_path, ended=ended)
            request.session[LAST_SEEN_KEY] = int(time.time())
        if path.startswith(GUARDED_PREFIXES) and not path.startswith(_open_paths()):
            if not (user.is_authenticated and user.is_staff):
                return _redirect("staff:login", request.get_full_path())
            if not user.is_verified():  # type: ignore[union-attr,attr-defined] # django-otp's OTPMiddleware adds it
                return _redirect("staff:otp", request.get_full_path())
        return self.get_response(request)

    @staticmethod
    def _ended(request: HttpRequest) -> str:
        """Why this staff session is over ("idle" or "everywhere"), or "" while it lasts."""
        last_seen = request.session.get(LAST_SEEN_KEY)
        if last_seen is not None and time.time() - float(last_seen) > settings.STAFF_IDLE_TIMEOUT_SECONDS:
            return "idle"
        if request.session.get(EPOCH_KEY, 0) != staff_session_epoch(user_id=int(request.user.pk or 0)):
            return "everywhere"
        return ""
