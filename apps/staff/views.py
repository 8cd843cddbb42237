"""The staff login flow.

1. /staff/login/: username and password (Django's authenticate(): axes refuses a locked-out
   username+IP before the password is checked). A right password logs the user in *unverified*.
2. /staff/otp/: a code from the user's authenticator app; a user with no confirmed device first
   enrols (QR code and secret, confirmed by a first code). Wrong codes count toward the same
   lockout as wrong passwords. Only now is the session verified and the login audited.
3. Every other /staff/ and /admin/ page needs a verified session (apps/staff/middleware.py).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST
from django_otp import login as otp_login

from apps.common.lockout import client_ip, lockout_allows, lockout_failure, lockout_response, lockout_success
from apps.staff.forms import OtpTokenForm, StaffLoginForm
from apps.staff.middleware import session_start
from apps.staff.selectors import staff_has_confirmed_device
from apps.staff.services import (
    staff_login_record,
    staff_logout_everywhere,
    staff_otp_enrolment_confirm,
    staff_otp_enrolment_start,
    staff_otp_verify,
)


def _next(request: HttpRequest) -> str:
    """Where to go after login: a local path from ?next= (or the form), else the staff home."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("staff:home")


def _ended_message(request: HttpRequest) -> str:
    reason = request.GET.get("ended", "")
    if reason == "idle":
        return _("Your session ended after %(minutes)d minutes without activity. Please log in again.") % {
            "minutes": settings.STAFF_IDLE_TIMEOUT_SECONDS // 60
        }
    if reason == "everywhere":
        return _("You were logged out on every device. Please log in again.")
    return ""


def _verified(request: HttpRequest) -> bool:
    user: Any = request.user
    return bool(user.is_authenticated and user.is_staff and user.is_verified())


@sensitive_post_parameters("password")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    if _verified(request):
        return redirect(_next(request))
    form = StaffLoginForm(request, data=request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        auth_login(request, form.get_user())  # new session key; not verified until the code
        session_start(request)
        return HttpResponseRedirect(f"{reverse('staff:otp')}?{urlencode({'next': _next(request)})}")
    return render(request, "staff/login.html", {"form": form, "next": _next(request), "ended": _ended_message(request)})


@sensitive_post_parameters("otp_token")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def otp_view(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    if not (user.is_authenticated and user.is_staff):
        return redirect("staff:login")
    if user.is_verified():
        return redirect(_next(request))
    username = user.get_username()
    if not lockout_allows(request, username=username):
        auth_logout(request)
        return lockout_response(request)
    enrolling = not staff_has_confirmed_device(user=user)
    form = OtpTokenForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        token = form.cleaned_data["otp_token"]
        if enrolling:
            device = staff_otp_enrolment_confirm(user=user, token=token)
        else:
            device = staff_otp_verify(user=user, token=token)
        if device is not None:
            otp_login(request, device)
            request.session.cycle_key()  # a new session id once both factors passed
            lockout_success(request, username=username)
            staff_login_record(user=user, ip_address=client_ip(request))
            return redirect(_next(request))
        form.add_error("otp_token", _("That code is not right. Codes change every 30 seconds; try the current one."))
        if lockout_failure(request, username=username):
            auth_logout(request)  # AxesMiddleware answers with the lockout page
            return lockout_response(request)
    context: dict[str, Any] = {"form": form, "next": _next(request), "enrolling": enrolling}
    if enrolling:
        context["enrolment"] = staff_otp_enrolment_start(user=user)
    return render(request, "staff/otp.html", context)


@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def logout_view(request: HttpRequest) -> HttpResponse:
    """GET asks (a link must not log anybody out); POST logs out this session."""
    if request.method == "POST":
        auth_logout(request)
        return redirect("staff:login")
    return render(request, "staff/logout.html", {})


@require_POST
@csrf_protect
@never_cache
def logout_everywhere_view(request: HttpRequest) -> HttpResponse:
    """End every session of this user (other browsers and devices too), then this one."""
    staff_logout_everywhere(user=request.user)
    auth_logout(request)
    return HttpResponseRedirect(f"{reverse('staff:login')}?ended=everywhere")
