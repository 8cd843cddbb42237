"""TOTP devices in the admin: listed without their secrets; an audited reset for a lost phone."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from apps.common.admin import ReadOnlyModelAdmin, run_each, staff_actor
from apps.staff.services import staff_otp_reset

if admin.site.is_registered(TOTPDevice):
    admin.site.unregister(TOTPDevice)  # django-otp's page edits keys; this one only lists


@admin.register(TOTPDevice)
class TOTPDeviceAdmin(ReadOnlyModelAdmin):
    list_display = ["user", "name", "confirmed", "created_at", "last_used_at"]
    list_filter = ["confirmed"]
    search_fields = ["user__username"]
    fields = ["user", "name", "confirmed", "created_at", "last_used_at"]
    actions = ["reset"]

    def has_reset_permission(self, request: HttpRequest) -> bool:
        return self.user_may(request, "delete_totpdevice")

    @admin.action(description=_("Reset: the user enrols again at the next login (audited)"), permissions=["reset"])
    def reset(self, request: HttpRequest, queryset: QuerySet[TOTPDevice]) -> None:
        actor = staff_actor(request)
        users = {device.user for device in queryset.select_related("user").order_by("user_id")}
        run_each(
            self,
            request,
            sorted(users, key=lambda user: user.pk),
            lambda user: staff_otp_reset(actor=actor, user=user),
            label=_("Reset"),
        )
