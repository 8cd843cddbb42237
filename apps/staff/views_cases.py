"""Compliance cases (list, detail with notes and documents, assign, escalate, close with a
disposition) and the large-value / suspicious transaction reports (list, CSV and XML export),
through apps.compliance's services."""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.models import User
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from apps.common.admin import staff_actor
from apps.common.errors import DomainError
from apps.compliance import reports as compliance_reports
from apps.compliance.aml import case_assign, case_attach, case_close, case_comment, case_escalate
from apps.compliance.models import Case, CaseStatus, ReportRecord
from apps.staff.forms_cases import (
    CaseAssignForm,
    CaseAttachForm,
    CaseCloseForm,
    CaseEscalateForm,
    CaseFilterForm,
    CaseNoteForm,
    ReportExportForm,
    ReportRecordFilterForm,
)
from apps.staff.queues_kit import may, paginate, refusal_to_form, require_any

VIEW, WORK = "compliance.view_case", "compliance.change_case"
REPORTS = "compliance.view_reportrecord"


@never_cache
@require_any(VIEW)
@require_GET
def cases_list(request: HttpRequest) -> HttpResponse:
    filters = CaseFilterForm(request.GET or None)
    cases = Case.objects.select_related("customer", "assignee").order_by("-id")
    if filters.is_valid():
        data = filters.cleaned_data
        if data["status"]:
            cases = cases.filter(status=data["status"])
        if data["kind"]:
            cases = cases.filter(kind=data["kind"])
        if data["assignee"] == "me":
            cases = cases.filter(assignee_id=request.user.pk)
        elif data["assignee"] == "none":
            cases = cases.filter(assignee__isnull=True)
        if data["subject"]:
            text = data["subject"].strip()
            cases = cases.filter(subject_name__icontains=text) | cases.filter(summary__icontains=text)
    page, query = paginate(request, cases)
    return render(request, "staff/cases/list.html", {"filters": filters, "page": page, "query": query})


OPS: dict[str, type[forms.Form]] = {
    "assign": CaseAssignForm,
    "comment": CaseNoteForm,
    "attach": CaseAttachForm,
    "escalate": CaseEscalateForm,
    "close": CaseCloseForm,
}


def _case(case_id: Any) -> Case:
    try:
        return Case.objects.select_related("customer", "assignee", "payment").get(public_id=uuid.UUID(str(case_id)))
    except (ValueError, Case.DoesNotExist):
        raise Http404 from None


def _run(request: HttpRequest, case: Case, op: str, data: dict[str, Any]) -> str:
    actor = staff_actor(request)
    if op == "assign_me":
        user: Any = request.user
        case_assign(actor=actor, case=case, assignee=User.objects.get(pk=user.pk))
        return _("The case is assigned to you.")
    if op == "assign":
        case_assign(actor=actor, case=case, assignee=data["assignee"])
        return _("The case is assigned to %(name)s.") % {"name": data["assignee"].get_username()}
    if op == "comment":
        case_comment(actor=actor, case=case, text=data["text"])
        return _("Your note is added.")
    if op == "attach":
        case_attach(actor=actor, case=case, upload=data["attachment"], description=data["description"])
        return _("The document is attached.")
    if op == "escalate":
        case_escalate(actor=actor, case=case, reason=data["reason"])
        return _("The case is escalated.")
    closed = case_close(actor=actor, case=case, disposition=data["disposition"], reason=data["reason"])
    return _("The case is closed: %(disposition)s.") % {"disposition": closed.get_disposition_display()}


@never_cache
@require_any(VIEW, post=(WORK,))
@require_http_methods(["GET", "POST"])
def case_detail(request: HttpRequest, case_id: uuid.UUID) -> HttpResponse:
    case = _case(case_id)
    bound: dict[str, forms.Form] = {}
    if request.method == "POST":
        op = request.POST.get("op", "")
        if op == "assign_me":
            try:
                messages.success(request, _run(request, case, op, {}))
            except DomainError as refusal:
                messages.error(request, str(refusal.message))
            return redirect(request.path)
        if op not in OPS:
            messages.error(request, _("Unknown action."))
            return redirect(request.path)
        form = OPS[op](request.POST, request.FILES)
        bound[op] = form
        if form.is_valid():
            try:
                done = _run(request, case, op, form.cleaned_data)
            except DomainError as refusal:
                refusal_to_form(form, refusal)
                case.refresh_from_db()
            else:
                messages.success(request, done)
                return redirect(request.path)
    return render(
        request,
        "staff/cases/detail.html",
        {
            "case": case,
            "notes": case.notes.order_by("id"),
            "forms": {op: bound.get(op) or cls() for op, cls in OPS.items()},
            "can_work": may(request, WORK) and case.status != CaseStatus.CLOSED,
            "report": ReportRecord.objects.filter(case=case).select_related("rule").first(),
        },
        status=400 if bound else 200,
    )


@never_cache
@require_any(REPORTS)
@require_GET
def transaction_reports(request: HttpRequest) -> HttpResponse:
    """Large-value and suspicious transaction reports, with the export of a business day."""
    filters = ReportRecordFilterForm(request.GET or None)
    records = ReportRecord.objects.select_related("rule", "customer", "case").order_by("-business_date", "-id")
    if filters.is_valid():
        data = filters.cleaned_data
        if data["business_date"]:
            records = records.filter(business_date=data["business_date"])
        if data["jurisdiction"]:
            records = records.filter(rule__jurisdiction__iexact=data["jurisdiction"].strip())
        if data["report_kind"]:
            records = records.filter(rule__report_kind=data["report_kind"])
    page, query = paginate(request, records)
    export = ReportExportForm(initial={"business_date": request.GET.get("business_date", ""), "format": "csv"})
    return render(
        request,
        "staff/cases/reports.html",
        {"filters": filters, "page": page, "query": query, "export": export},
    )


@never_cache
@require_any(REPORTS)
@require_GET
def transaction_reports_export(request: HttpRequest) -> HttpResponse:
    """A business day's reports as CSV or XML (the regulator's files); the export is audited."""
    form = ReportExportForm(request.GET or None)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, str(error))
        return redirect("staff:transaction-reports")
    day, fmt = form.cleaned_data["business_date"], form.cleaned_data["format"]
    body = compliance_reports.transaction_reports_export(actor=staff_actor(request), business_date=day, fmt=fmt)
    content_type = "text/csv; charset=utf-8" if fmt == "csv" else "application/xml"
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="transaction-reports-{day.isoformat()}.{fmt}"'
    return response
