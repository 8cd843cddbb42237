"""Report jobs in the admin: list and show them; staff with reports.download_report download
the files (each download an audit event) and ask for management reports."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from apps.common.admin import ReadOnlyModelAdmin, refusal_text, staff_actor
from apps.common.errors import DomainError
from apps.reports.models import CONTENT_TYPES, ReportJob, ReportKind, ReportStatus
from apps.reports.services import report_download, report_request

DOWNLOAD_PERMISSION = "reports.download_report"


def _request_action(kind: ReportKind, format: str, label: Any) -> Any:
    def action(modeladmin: ReportJobAdmin, request: HttpRequest, queryset: QuerySet[ReportJob]) -> None:
        period: dict[str, dt.date] = {}
        if kind == ReportKind.DAILY_VOLUMES:
            today = timezone.now().astimezone(dt.UTC).date()
            period = {"start_date": today - dt.timedelta(days=30), "end_date": today}
        try:
            job = report_request(actor=staff_actor(request), kind=kind, format=format, **period)
        except DomainError as refusal:
            modeladmin.message_user(request, refusal_text(refusal), messages.ERROR)
        else:
            modeladmin.message_user(request, _("Report %(id)s queued.") % {"id": job.public_id}, messages.SUCCESS)

    action.__name__ = f"request_{kind}_{format}"
    action.allowed_permissions = ("request",)  # type: ignore[attr-defined]
    action.short_description = label  # type: ignore[attr-defined]
    return action


@admin.register(ReportJob)
class ReportJobAdmin(ReadOnlyModelAdmin):
    list_display = ["created_at", "kind", "format", "status", "progress", "requested_by", "download_link"]
    list_filter = ["kind", "format", "status"]
    search_fields = ["requested_by"]
    date_hierarchy = "created_at"
    fields = [
        "public_id",
        "kind",
        "format",
        "parameters",
        "account",
        "requested_by",
        "requested_for_customer",
        "status",
        "progress",
        "rows",
        "size",
        "sha256",
        "error",
        "created_at",
        "finished_at",
        "expires_at",
    ]
    actions = [
        _request_action(
            ReportKind.DAILY_VOLUMES, "xlsx", _("Request a management report: daily volumes (last 31 days, XLSX)")
        ),
        _request_action(
            ReportKind.BALANCES_BY_PRODUCT, "xlsx", _("Request a management report: balances by product (XLSX)")
        ),
        _request_action(
            ReportKind.PAYMENTS_BY_STATE, "xlsx", _("Request a management report: payments by state (XLSX)")
        ),
    ]
    # These actions make a new report: they need no selected rows.
    NO_SELECTION_ACTIONS = frozenset(
        {"request_daily_volumes_xlsx", "request_balances_by_product_xlsx", "request_payments_by_state_xlsx"}
    )

    def has_request_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm(DOWNLOAD_PERMISSION))

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        if request.method == "POST" and request.POST.get("action") in self.NO_SELECTION_ACTIONS:
            post = request.POST.copy()
            # Django runs an action only with a selection: select "all" (the action ignores it).
            post["select_across"] = "1"
            post.setlist("_selected_action", post.getlist("_selected_action") or ["0"])
            request.POST = post  # type: ignore[assignment]
        return super().changelist_view(request, extra_context)

    @admin.display(description=_("file"))
    def download_link(self, obj: ReportJob) -> str:
        if obj.status != ReportStatus.DONE:
            return "-"
        return format_html(
            '<a href="{}">{}</a>', reverse("admin:reports_reportjob_download", args=[obj.public_id]), _("download")
        )

    def get_urls(self) -> list[Any]:
        return [
            path(
                "<uuid:report_id>/download/",
                self.admin_site.admin_view(self.download_view),
                name="reports_reportjob_download",
            ),
            *super().get_urls(),
        ]

    def download_view(self, request: HttpRequest, report_id: Any) -> HttpResponseBase:
        if not request.user.has_perm(DOWNLOAD_PERMISSION):
            raise DjangoPermissionDenied
        job = ReportJob.objects.filter(public_id=report_id).first()
        if job is None:
            raise Http404
        try:
            handle = report_download(actor=staff_actor(request), job=job)
        except DomainError as refusal:
            return HttpResponse(refusal_text(refusal), status=refusal.status, content_type="text/plain; charset=utf-8")
        return FileResponse(
            handle, as_attachment=True, filename=job.download_name, content_type=CONTENT_TYPES[job.format]
        )
