"""The back office's start page: the figures of the day, each tile only for the roles that may
see what it counts, and the language switch."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from apps.staff import selectors_backoffice as figures
from apps.staff.backoffice import safe_next, user_may


@never_cache
def dashboard(request: HttpRequest) -> HttpResponse:
    """Any staff user: the tiles their permissions allow (none may be empty of meaning)."""
    context: dict[str, Any] = {"idle_minutes": settings.STAFF_IDLE_TIMEOUT_SECONDS // 60}
    if user_may(request, "transactions.view_journalentry"):
        context["today"] = figures.today_volumes()
        context["chart"] = figures.volume_chart()
    if user_may(request, "compliance.view_approval"):
        context["pending_approvals"] = figures.pending_approvals_count()
    if user_may(request, "risk.view_alert"):
        context["open_alerts"] = figures.open_alerts_count()
    if user_may(request, "compliance.view_case"):
        context["open_cases"] = figures.open_cases_count()
    if user_may(request, "reports.view_reportjob"):
        context["failed_jobs"] = figures.failed_jobs_counts()
    if user_may(request, "treasury.view_break"):
        context["open_breaks"] = figures.open_breaks_count()
    return render(request, "staff/dashboard.html", context)


@require_POST
def language(request: HttpRequest) -> HttpResponse:
    """Switch the back office's language (kept in the language cookie, as Django's set_language
    does); an unknown code changes nothing."""
    code = request.POST.get("language", "")
    response = HttpResponseRedirect(safe_next(request, reverse("staff:home")))
    if code in dict(settings.LANGUAGES):
        translation.activate(code)
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            code,
            max_age=settings.LANGUAGE_COOKIE_AGE,
            path=settings.LANGUAGE_COOKIE_PATH,
            domain=settings.LANGUAGE_COOKIE_DOMAIN,
            secure=settings.LANGUAGE_COOKIE_SECURE or request.is_secure(),
            httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
            samesite=settings.LANGUAGE_COOKIE_SAMESITE,
        )
    return response
