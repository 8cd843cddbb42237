"""API clients in the admin, read-only: clients are made with `manage.py create_api_client`
(the secret is shown once, then only its hash is kept), so there is nothing secret to show."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from apps.api.models import ApiClient
from apps.common.admin import ReadOnlyModelAdmin


@admin.register(ApiClient)
class ApiClientAdmin(ReadOnlyModelAdmin):
    list_display = ["name", "client_id", "scopes", "customer", "is_active", "created_at"]
    list_filter = ["is_active"]
    list_select_related = ["application", "customer"]
    search_fields = ["name", "application__client_id"]
    date_hierarchy = "created_at"
    fields = ["name", "client_id", "scopes", "customer", "is_active", "created_at"]

    @admin.display(description=_("client id"), ordering="application__client_id")
    def client_id(self, obj: ApiClient) -> str:
        return obj.application.client_id
