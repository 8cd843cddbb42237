"""The reports centre: ask for a statement or a management report (apps.reports.services),
watch it progress (a small partial htmx polls), download it when done (audited)."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from apps.accounts.models import Account
from apps.common.admin import refusal_text, staff_actor
from apps.common.errors import DomainError
from apps.reports.models import CONTENT_TYPES, ReportJob, ReportKind
from apps.reports.services import report_download, report_request
from apps.staff.forms_reports import ReportFilterForm, ReportRequestForm
from apps.staff.queues_kit import may, paginate, refusal_to_form, require_any

VIEW, USE = "reports.view_reportjob", "reports.download_report"
FIELDS = {"from": "start_date", "to": "end_date", "account": "account", "format": "format", "kind": "kind"}


@never_cache
@require_any(VIEW, post=(USE,))
@require_http_methods(["GET", "POST"])
def reports_centre(request: HttpRequest) -> HttpResponse:
    form = ReportRequestForm(initial={"kind": ReportKind.BALANCES_BY_PRODUCT, "format": "xlsx"})
    status = 200
    if request.method == "POST":
        form = ReportRequestForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            account_id = None
            if data["kind"] == ReportKind.STATEMENT and data["account"].strip():
                account = Account.objects.filter(number=data["account"].strip(), is_internal=False).first()
                if account is None:
                    form.add_error("account", _("No customer account has this number."))
                else:
                    account_id = account.public_id
            if form.is_valid():
                try:
                    job = report_request(
                        actor=staff_actor(request),
                        kind=data["kind"],
                        format=data["format"],
                        account_public_id=account_id,
                        start_date=data["start_date"],
                        end_date=data["end_date"],
                    )
                except DomainError as refusal:
                    refusal_to_form(form, refusal, FIELDS)
                else:
                    messages.success(
                        request,
                        _("Your report (%(kind)s, %(format)s) is queued; it appears below when it is ready.")
                        % {"kind": job.get_kind_display(), "format": job.get_format_display()},
                    )
                    return redirect("staff:reports")
        status = 400
    filters = ReportFilterForm(request.GET or None)
    jobs = ReportJob.objects.select_related("account").order_by("-id")
    if filters.is_valid():
        data = filters.cleaned_data
        if data["kind"]:
            jobs = jobs.filter(kind=data["kind"])
        if data["status"]:
            jobs = jobs.filter(status=data["status"])
        if data["mine"]:
            jobs = jobs.filter(requested_by=staff_actor(request).label)
    page, query = paginate(request, jobs)
    return render(
        request,
        "staff/reports/centre.html",
        {"form": form, "filters": filters, "page": page, "query": query, "can_use": may(request, USE)},
        status=status,
    )


def _job(report_id: uuid.UUID) -> ReportJob:
    job = ReportJob.objects.filter(public_id=report_id).first()
    if job is None:
        raise Http404
    return job


@never_cache
@require_any(VIEW)
@require_GET
def report_progress(request: HttpRequest, report_id: uuid.UUID) -> HttpResponse:
    """The status cell of one job: it keeps polling itself while the job is queued or running."""
    return render(request, "staff/reports/_progress.html", {"job": _job(report_id), "can_use": may(request, USE)})


@never_cache
@require_any(USE)
@require_GET
def report_file(request: HttpRequest, report_id: uuid.UUID) -> HttpResponseBase:
    """The finished file, as an attachment; the download is an audit event."""
    job = _job(report_id)
    try:
        handle = report_download(actor=staff_actor(request), job=job)
    except DomainError as refusal:
        messages.error(request, refusal_text(refusal))
        return redirect("staff:reports")
    return FileResponse(handle, as_attachment=True, filename=job.download_name, content_type=CONTENT_TYPES[job.format])
