"""Audit in the admin: events and checkpoints are append-only, so only listed and shown; the
"Verify audit chains" page (auditors and superusers) runs verify_audit and shows its answer.
Lockouts (django-axes) are shown here too, with an audited unlock. A small page until the staff
back office exists."""

from __future__ import annotations

from typing import Any

from axes.models import AccessAttempt, AccessLog
from django.conf import settings
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path
from django.utils.translation import gettext_lazy as _

from apps.audit.models import AuditCheckpoint, AuditEvent
from apps.audit.services import audit_verify, auth_lockout_release
from apps.common.admin import ReadOnlyModelAdmin, run_each, staff_actor

VERIFY_PERMISSION = "audit.verify_audit"


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


@admin.register(AuditCheckpoint)
class AuditCheckpointAdmin(ReadOnlyModelAdmin):
    list_display = ["signed_at", "chain", "day", "seq", "head_hash", "key_id", "created_by"]
    list_filter = ["chain"]
    date_hierarchy = "signed_at"
    fields = ["chain", "day", "seq", "head_hash", "signed_at", "key_id", "public_key", "signature", "created_by"]
    change_list_template = "admin/audit/auditcheckpoint/change_list.html"

    def get_urls(self) -> list[URLPattern]:
        verify = path("verify/", self.admin_site.admin_view(self.verify_view), name="audit_verify")
        return [verify, *super().get_urls()]

    def verify_view(self, request: HttpRequest) -> HttpResponse:
        """GET shows the button, POST runs the verification (it seals first and is audited)."""
        if not request.user.has_perm(VERIFY_PERMISSION):
            raise PermissionDenied
        context: dict[str, Any] = {**self.admin_site.each_context(request), "opts": self.opts, "result": None}
        if request.method == "POST":
            context["result"] = audit_verify(actor=f"user:{request.user.get_username()}")
        return TemplateResponse(request, "admin/audit/verify.html", context)

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        extra = {**(extra_context or {}), "may_verify": request.user.has_perm(VERIFY_PERMISSION)}
        return super().changelist_view(request, extra)
