"""End of day in the back office: business days and their steps, read-only (the close runs
from the beat schedule or `manage.py close_business_day`)."""

from __future__ import annotations

from django.contrib import admin

from apps.common.admin import ReadOnlyModelAdmin
from apps.eod.models import BusinessDay, StepRun


@admin.register(BusinessDay)
class BusinessDayAdmin(ReadOnlyModelAdmin):
    list_display = ["date", "state", "started_by", "started_at", "finished_at", "error"]
    list_filter = ["state"]
    date_hierarchy = "date"
    fields = ["date", "state", "started_by", "started_at", "finished_at", "error", "results"]


@admin.register(StepRun)
class StepRunAdmin(ReadOnlyModelAdmin):
    list_display = ["business_date", "step", "finished_at", "result"]
    list_filter = ["step"]
    date_hierarchy = "business_date"
