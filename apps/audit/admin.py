"""Audit events in the admin: append-only, so only listed, searched, filtered and shown.
Lockouts (django-axes) are shown here too, with an audited unlock."""

from __future__ import annotations

from axes.models import AccessAttempt, AccessLog
from django.conf import settings
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from apps.audit.models import AuditEvent
from apps.audit.services import auth_lockout_release
from apps.common.admin import ReadOnlyModelAdmin, run_each, staff_actor


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyModelAdmin):
    list_display = ["created_at", "actor", "action", "object_type", "object_id"]
    list_filter = ["action", "object_type"]
    search_fields = ["actor", "action", "object_id"]
    date_hierarchy = "created_at"
    fields = ["created_at", "actor", "action", "object_type", "object_id", "detail"]


@admin.register(AccessAttempt)
class AccessAttemptAdmin(ReadOnlyModelAdmin):
    """Failed logins per username (or API client id) and IP; 5 within the cool-off lock them out.

    Unlocking before the cool-off ends is an administrator's decision and is audited."""

    list_display = ["attempt_time", "username", "ip_address", "path_info", "failures_since_start", "locked"]
    list_filter = ["path_info"]
    search_fields = ["username", "ip_address"]
    date_hierarchy = "attempt_time"
    fields = ["username", "ip_address", "user_agent", "path_info", "failures_since_start", "attempt_time"]
    actions = ["unlock"]

    @admin.display(boolean=True, description=_("locked out"))
    def locked(self, attempt: AccessAttempt) -> bool:
        return bool(attempt.failures_since_start >= settings.AXES_FAILURE_LIMIT)

    def has_unlock_permission(self, request: HttpRequest) -> bool:
        return self.user_may(request, "delete_accessattempt")

    @admin.action(description=_("Unlock (audited)"), permissions=["unlock"])
    def unlock(self, request: HttpRequest, queryset: QuerySet[AccessAttempt]) -> None:
        actor = staff_actor(request)
        run_each(
            self,
            request,
            queryset.order_by("id"),
            lambda attempt: auth_lockout_release(actor=actor, attempt=attempt),
            label=_("Unlock (audited)"),
        )


@admin.register(AccessLog)
class AccessLogAdmin(ReadOnlyModelAdmin):
    """Successful password logins and logouts, as django-axes records them."""

    list_display = ["attempt_time", "username", "ip_address", "path_info", "logout_time"]
    search_fields = ["username", "ip_address"]
    date_hierarchy = "attempt_time"
    fields = ["username", "ip_address", "user_agent", "path_info", "attempt_time", "logout_time"]
