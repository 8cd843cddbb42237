"""The Django admin behind the staff login: a verified second factor or nothing.

`StaffAdminConfig` replaces `django.contrib.admin` in INSTALLED_APPS so `admin.site` (where
every app registers) is a `StaffAdminSite`. Its login and logout are the staff ones.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse


class StaffAdminSite(admin.AdminSite):
    site_header = "finsys"
    site_title = "finsys"

    def has_permission(self, request: HttpRequest) -> bool:
        user: Any = request.user
        verified = getattr(user, "is_verified", None)
        return bool(super().has_permission(request) and verified is not None and verified())

    def login(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        target = request.GET.get("next") or reverse("admin:index")
        return HttpResponseRedirect(f"{reverse('staff:login')}?{urlencode({'next': target})}")

    def logout(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:  # type: ignore[override]
        from apps.staff.views import logout_view

        return logout_view(request)


class StaffAdminConfig(AdminConfig):
    default_site = "apps.staff.admin_site.StaffAdminSite"
