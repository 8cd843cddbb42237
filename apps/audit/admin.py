"""Audit in the admin: events and checkpoints are append-only, so only listed and shown; the
"Verify audit chains" page (auditors and superusers) runs verify_audit and shows its answer.
A small page until the staff back office exists."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path

from apps.audit.models import AuditCheckpoint, AuditEvent
from apps.audit.services import audit_verify
from apps.common.admin import ReadOnlyModelAdmin

VERIFY_PERMISSION = "audit.verify_audit"


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyModelAdmin):
    list_display = ["created_at", "actor", "action", "object_type", "object_id"]
    list_filter = ["action", "object_type"]
    search_fields = ["actor", "action", "object_id"]
    date_hierarchy = "created_at"
    fields = ["created_at", "actor", "action", "object_type", "object_id", "detail"]


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
