"""The risk alert queue: filter and page through alerts, assign them, comment, close with a
disposition or escalate to a compliance case (apps.risk.services)."""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from apps.common.admin import staff_actor
from apps.common.errors import DomainError
from apps.risk.models import Alert, AlertStatus
from apps.risk.services import alert_assign, alert_close, alert_comment, alert_escalate
from apps.staff.forms_alerts import (
    AlertAssignForm,
    AlertCloseForm,
    AlertCommentForm,
    AlertEscalateForm,
    AlertFilterForm,
)
from apps.staff.queues_kit import may, paginate, refusal_to_form, require_any

VIEW, WORK = "risk.view_alert", "risk.change_alert"


@never_cache
@require_any(VIEW, post=(WORK,))
@require_http_methods(["GET", "POST"])
def alerts_list(request: HttpRequest) -> HttpResponse:
    """The queue, newest first; "assign to me" posts here."""
    if request.method == "POST":
        alert = _alert(request.POST.get("alert", ""))
        try:
            alert_assign(actor=staff_actor(request), alert=alert, assignee=request.user.get_username())
        except DomainError as refusal:
            messages.error(request, str(refusal.message))
        else:
            messages.success(request, _("Alert %(id)s is assigned to you.") % {"id": alert.public_id})
        return redirect(f"{request.path}?{request.POST.get('query', '')}")
    filters = AlertFilterForm(request.GET or None)
    alerts = Alert.objects.select_related("customer", "rule").order_by("-id")
    if filters.is_valid():
        data = filters.cleaned_data
        if data["status"]:
            alerts = alerts.filter(status=data["status"])
        if data["severity"]:
            alerts = alerts.filter(outcome=data["severity"])
        if data["assignee"]:
            alerts = alerts.filter(assignee__icontains=data["assignee"].strip())
    page, query = paginate(request, alerts)
    return render(
        request,
        "staff/alerts/list.html",
        {"filters": filters, "page": page, "query": query, "can_work": may(request, WORK)},
    )


def _alert(public_id: Any) -> Alert:
    try:
        return Alert.objects.select_related("customer", "rule").get(public_id=uuid.UUID(str(public_id)))
    except (ValueError, Alert.DoesNotExist):
        raise Http404 from None


OPS: dict[str, type[forms.Form]] = {
    "assign": AlertAssignForm,
    "comment": AlertCommentForm,
    "close": AlertCloseForm,
    "escalate": AlertEscalateForm,
}


@never_cache
@require_any(VIEW, post=(WORK,))
@require_http_methods(["GET", "POST"])
def alert_detail(request: HttpRequest, alert_id: uuid.UUID) -> HttpResponse:
    alert = _alert(alert_id)
    bound: dict[str, forms.Form] = {}
    if request.method == "POST":
        op = request.POST.get("op", "")
        if op == "assign_me":
            return _act(request, alert, lambda a: alert_assign(actor=a, alert=alert, assignee=request.user.get_username()),
                        _("The alert is assigned to you."))  # fmt: skip
        if op not in OPS:
            messages.error(request, _("Unknown action."))
            return redirect(request.path)
        form = OPS[op](request.POST)
        bound[op] = form
        if form.is_valid():
            data = form.cleaned_data
            actor = staff_actor(request)
            try:
                if op == "assign":
                    alert_assign(actor=actor, alert=alert, assignee=data["assignee"].get_username())
                    done = _("The alert is assigned to %(name)s.") % {"name": data["assignee"].get_username()}
                elif op == "comment":
                    alert_comment(actor=actor, alert=alert, text=data["text"])
                    done = _("Your comment is added.")
                elif op == "close":
                    closed = alert_close(actor=actor, alert=alert, disposition=data["disposition"], note=data["note"])
                    done = _("The alert is closed as %(disposition)s.") % {
                        "disposition": closed.get_disposition_display()
                    }
                else:
                    _alert_row, case = alert_escalate(actor=actor, alert=alert, note=data["note"])
                    done = _("The alert is escalated to compliance case %(case)s.") % {"case": case.public_id}
            except DomainError as refusal:
                refusal_to_form(form, refusal)
                alert.refresh_from_db()
            else:
                messages.success(request, done)
                return redirect(request.path)
    forms_by_op = {op: bound.get(op) or cls() for op, cls in OPS.items()}
    return render(
        request,
        "staff/alerts/detail.html",
        {
            "alert": alert,
            "forms": forms_by_op,
            "can_work": may(request, WORK) and alert.status != AlertStatus.CLOSED,
        },
        status=400 if bound else 200,
    )


def _act(request: HttpRequest, alert: Alert, run: Any, done: str) -> HttpResponse:
    try:
        run(staff_actor(request))
    except DomainError as refusal:
        messages.error(request, str(refusal.message))
    else:
        messages.success(request, done)
    return redirect(request.path)
