"""The portal login flow and the login's own settings.

1. /portal/login/: username and password (Django's authenticate(): axes refuses a locked-out
   username+IP before the password is checked; failures count toward the same lockout as the
   staff login: 5 per username+IP in 30 minutes). Staff logins are refused like a wrong password.
2. /portal/otp/: only when the customer turned TOTP on: a code from their app. Wrong codes count
   toward the same lockout.
3. Forgotten password: Django's reset views with portal templates; the mail goes through the
   e-mail backend; the new password passes the password validators.
4. Log out (this session) and log out everywhere (every session of this login ends).
5. /portal/security/: turn TOTP on (QR code, confirmed by a first code) and off (needs a code).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST
from django_otp import login as otp_login

from apps.common.lockout import client_ip, lockout_allows, lockout_failure, lockout_response, lockout_success
from apps.portal.auth import OTP_PENDING_KEY, portal_login_required, session_ended, session_start
from apps.portal.forms import OtpTokenForm, PortalLoginForm, PortalPasswordResetForm
from apps.portal.selectors import portal_has_totp, portal_user_of
from apps.portal.services import (
    portal_login_record,
    portal_logout_everywhere,
    portal_totp_disable,
    portal_totp_enable,
    portal_totp_enrolment_start,
    portal_totp_verify,
)


def _wrong_code() -> str:
    return _("That code is not right. Codes change every 30 seconds; try the current one.")


def _next(request: HttpRequest) -> str:
    """Where to go after login: a local /portal/ path from ?next= (or the form), else the overview."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if (
        target.startswith("/portal/")
        and url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
        and not target.startswith(("/portal/login/", "/portal/otp/", "/portal/logout/"))
    ):
        return target
    return reverse("portal:overview")


def _logged_in(request: HttpRequest) -> bool:
    return bool(
        portal_user_of(request.user) is not None
        and not request.session.get(OTP_PENDING_KEY)
        and not session_ended(request)
    )


def _ended_message(request: HttpRequest) -> str:
    if request.GET.get("ended") == "everywhere":
        return _("You were logged out on every device. Please log in again.")
    if request.GET.get("ended") == "idle":
        return _("Your session ended after %(minutes)d minutes without activity. Please log in again.") % {
            "minutes": settings.PORTAL_IDLE_TIMEOUT_SECONDS // 60
        }
    return ""


@sensitive_post_parameters("password")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    if _logged_in(request):
        return redirect(_next(request))
    form = PortalLoginForm(request, data=request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        user = form.get_user()
        needs_code = portal_has_totp(user=user)
        auth_login(request, user)  # a new session key
        session_start(request, otp_pending=needs_code)
        if needs_code:
            return HttpResponseRedirect(f"{reverse('portal:otp')}?{urlencode({'next': _next(request)})}")
        lockout_success(request, username=user.get_username())
        portal_login_record(user=user, ip_address=client_ip(request), second_factor=False)
        return redirect(_next(request))
    context = {"form": form, "next": _next(request), "ended": _ended_message(request)}
    return render(request, "portal/login.html", context)


@sensitive_post_parameters("otp_token")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def otp_view(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    if _logged_in(request):
        return redirect(_next(request))
    if portal_user_of(user) is None or not request.session.get(OTP_PENDING_KEY):
        return redirect("portal:login")
    username = user.get_username()
    if not lockout_allows(request, username=username):
        auth_logout(request)
        return lockout_response(request)
    form = OtpTokenForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        device = portal_totp_verify(user=user, token=form.cleaned_data["otp_token"])
        if device is not None:
            otp_login(request, device)
            request.session.pop(OTP_PENDING_KEY, None)
            request.session.cycle_key()  # a new session id once both factors passed
            lockout_success(request, username=username)
            portal_login_record(user=user, ip_address=client_ip(request), second_factor=True)
            return redirect(_next(request))
        form.add_error("otp_token", _wrong_code())
        if lockout_failure(request, username=username):
            auth_logout(request)
            return lockout_response(request)
    return render(request, "portal/otp.html", {"form": form, "next": _next(request)})


@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def logout_view(request: HttpRequest) -> HttpResponse:
    """GET asks (a link must not log anybody out); POST logs out this session."""
    if request.method == "POST":
        auth_logout(request)
        return redirect("portal:login")
    return render(request, "portal/logout.html", {})


@portal_login_required
@require_POST
@csrf_protect
@never_cache
def logout_everywhere_view(request: HttpRequest) -> HttpResponse:
    """End every portal session of this login (other browsers and devices too), then this one."""
    portal_logout_everywhere(user=request.user)
    auth_logout(request)
    return HttpResponseRedirect(f"{reverse('portal:login')}?ended=everywhere")


@csrf_protect
@require_POST
def language_view(request: HttpRequest) -> HttpResponse:
    """The language switch: remembered in the language cookie; back to the page it was used on."""
    code = request.POST.get("language", "")
    target = request.POST.get("next") or ""
    if not (
        target.startswith("/portal/")
        and url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
    ):
        target = reverse("portal:overview")
    response = HttpResponseRedirect(target)
    if code in dict(settings.LANGUAGES):
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            code,
            max_age=settings.LANGUAGE_COOKIE_AGE,
            samesite="Lax",
            secure=settings.SESSION_COOKIE_SECURE,
            httponly=False,
        )
    return response


# --- the second factor in the login's settings ------------------------------------------------------


@portal_login_required
@never_cache
@require_http_methods(["GET"])
def security_view(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/security.html", {"totp_on": portal_has_totp(user=request.user)})


@portal_login_required
@sensitive_post_parameters("otp_token")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def totp_enable_view(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    if portal_has_totp(user=user):
        return redirect("portal:security")
    form = OtpTokenForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        device = portal_totp_enable(user=user, token=form.cleaned_data["otp_token"])
        if device is not None:
            otp_login(request, device)  # this session counts as verified
            messages.success(request, _("Two-step login is on. Next time you log in we ask for a code."))
            return redirect("portal:security")
        form.add_error("otp_token", _wrong_code())
    enrolment = portal_totp_enrolment_start(user=user)
    return render(request, "portal/totp_enable.html", {"form": form, "enrolment": enrolment})


@portal_login_required
@sensitive_post_parameters("otp_token")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def totp_disable_view(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    if not portal_has_totp(user=user):
        return redirect("portal:security")
    username = user.get_username()
    if not lockout_allows(request, username=username):
        auth_logout(request)
        return lockout_response(request)
    form = OtpTokenForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        if portal_totp_disable(user=user, token=form.cleaned_data["otp_token"]):
            messages.success(request, _("Two-step login is off."))
            return redirect("portal:security")
        form.add_error("otp_token", _wrong_code())
        if lockout_failure(request, username=username):
            auth_logout(request)
            return lockout_response(request)
    return render(request, "portal/totp_disable.html", {"form": form})


# --- forgotten password ------------------------------------------------------------------------------

password_reset_view = auth_views.PasswordResetView.as_view(
    form_class=PortalPasswordResetForm,
    template_name="portal/password_reset.html",
    email_template_name="portal/password_reset_email.txt",
    subject_template_name="portal/password_reset_subject.txt",
    success_url=reverse_lazy("portal:password-reset-done"),
)
password_reset_done_view = auth_views.PasswordResetDoneView.as_view(template_name="portal/password_reset_done.html")
password_reset_confirm_view = auth_views.PasswordResetConfirmView.as_view(
    template_name="portal/password_reset_confirm.html",
    success_url=reverse_lazy("portal:password-reset-complete"),
)
password_reset_complete_view = auth_views.PasswordResetCompleteView.as_view(
    template_name="portal/password_reset_complete.html"
)
