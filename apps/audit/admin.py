"""Audit events in the admin: append-only, so only listed, searched, filtered and shown."""

from __future__ import annotations

from django.contrib import admin

from apps.audit.models import AuditEvent
from apps.common.admin import ReadOnlyModelAdmin


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyModelAdmin):
    list_display = ["created_at", "actor", "action", "object_type", "object_id"]
    list_filter = ["action", "object_type"]
    search_fields = ["actor", "action", "object_id"]
    date_hierarchy = "created_at"
    fields = ["created_at", "actor", "action", "object_type", "object_id", "detail"]
