"""API clients in the admin, read-only: clients are made with `manage.py create_api_client`
(the secret is shown once, then only its hash is kept), so there is nothing secret to show.

Holders of `api.change_apiclient` may disable and enable clients and rotate a client's secret;
each calls the service as the staff user (audited). A rotated secret is shown once, on a page
that is not cached, never through the message framework (whose cookie would carry it)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext_lazy as _

from apps.api.models import ApiClient
from apps.api.services import api_client_disable, api_client_enable, api_client_rotate_secret
from apps.common.admin import ReadOnlyModelAdmin, run_each, staff_actor


@admin.register(ApiClient)
class ApiClientAdmin(ReadOnlyModelAdmin):
    list_display = ["name", "client_id", "scopes", "customer", "is_active", "created_at"]
    list_filter = ["is_active"]
    list_select_related = ["application", "customer"]
    search_fields = ["name", "application__client_id"]
    date_hierarchy = "created_at"
    fields = ["name", "client_id", "scopes", "customer", "is_active", "created_at"]
    actions = ["disable_clients", "enable_clients", "rotate_secret"]

    @admin.display(description=_("client id"), ordering="application__client_id")
    def client_id(self, obj: ApiClient) -> str:
        return obj.application.client_id

    def has_manage_permission(self, request: HttpRequest) -> bool:
        return self.user_may(request, "change_apiclient")

    @admin.action(description=_("Disable (refuse new and existing tokens)"), permissions=["manage"])
    def disable_clients(self, request: HttpRequest, queryset: QuerySet[ApiClient]) -> None:
        actor = staff_actor(request)
        run_each(
            self,
            request,
            queryset.filter(is_active=True),
            lambda client: api_client_disable(actor=actor, client=client, reason="admin"),
            label=_("Disable"),
        )

    @admin.action(description=_("Enable"), permissions=["manage"])
    def enable_clients(self, request: HttpRequest, queryset: QuerySet[ApiClient]) -> None:
        actor = staff_actor(request)
        run_each(
            self,
            request,
            queryset.filter(is_active=False),
            lambda client: api_client_enable(actor=actor, client=client, reason="admin"),
            label=_("Enable"),
        )

    @admin.action(description=_("Rotate the secret (shown once)"), permissions=["manage"])
    def rotate_secret(self, request: HttpRequest, queryset: QuerySet[ApiClient]) -> HttpResponse | None:
        if queryset.count() != 1:
            self.message_user(request, _("Choose exactly one client to rotate its secret."), level="error")
            return None
        issued = api_client_rotate_secret(actor=staff_actor(request), client=queryset.get())
        context: dict[str, Any] = {
            **self.admin_site.each_context(request),
            "title": _("New client secret"),
            "opts": self.opts,
            "client_id": issued.client_id,
            "client_secret": issued.client_secret,
        }
        response = TemplateResponse(request, "admin/api/rotated_secret.html", context)
        add_never_cache_headers(response)
        return response
