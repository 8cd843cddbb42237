"""The approvals queue (maker-checker, apps.compliance): what waits, what each item is, and the
decision with a note. The services refuse a maker deciding their own request; the page shows the
refusal. A relationship manager sees the approvals of their own customers only."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from apps.accounts.models import Account
from apps.common.errors import DomainError
from apps.compliance.models import Approval, ApprovalStatus
from apps.compliance.selectors import approval_effective_status
from apps.compliance.services import approval_approve, approval_reject
from apps.customers.selectors import customers_for_staff
from apps.staff.backoffice import actor_of, paginate, requires_any, user_may
from apps.staff.forms_backoffice import ApprovalFilterForm, DecisionForm

ACTION_LABELS = {
    "risk.transfer_review": gettext_lazy("Transfer held by the risk rules"),
    "account.unfreeze": gettext_lazy("Unfreeze an account"),
    "account.reactivate": gettext_lazy("Reactivate a dormant account"),
    "fx.rate_set": gettext_lazy("Set an exchange rate"),
    "risk.limit_set": gettext_lazy("Raise a limit"),
    "risk.limit_review": gettext_lazy("Review a lowered limit"),
    "risk.rule_activate": gettext_lazy("Activate a risk rule"),
    "emergency_control.lift": gettext_lazy("Lift an emergency control"),
    "emergency_control.review": gettext_lazy("Review an emergency control"),
}


def visible_approvals(request: HttpRequest) -> QuerySet[Approval]:
    approvals = Approval.objects.select_related("customer")
    if not request.user.has_perm("customers.view_customer"):  # a relationship manager: their customers
        approvals = approvals.filter(customer__in=customers_for_staff(request.user))
    return approvals


def _described(approval: Approval) -> dict[str, Any]:
    payload = approval.payload or {}
    numbers = {}
    for key in ("from_account", "to_account", "account"):
        if key in payload:
            number = Account.objects.filter(public_id=payload[key]).values_list("number", flat=True).first()
            numbers[key] = number or payload[key]
    return {
        "approval": approval,
        "label": ACTION_LABELS.get(approval.action, approval.action),
        "status": approval_effective_status(approval),
        "status_label": ApprovalStatus(approval_effective_status(approval)).label,
        "amount": payload.get("amount"),
        "currency": payload.get("currency", ""),
        "numbers": numbers,
    }


@requires_any("compliance.view_approval")
def approval_list(request: HttpRequest) -> HttpResponse:
    form = ApprovalFilterForm(request.GET or None)
    approvals = visible_approvals(request).order_by("-id")
    status = ApprovalStatus.PENDING
    if form.is_valid():
        status = form.cleaned_data["status"] if "status" in request.GET else ApprovalStatus.PENDING
        if form.cleaned_data["action"]:
            approvals = approvals.filter(action__icontains=form.cleaned_data["action"])
    if status == ApprovalStatus.PENDING:
        approvals = approvals.filter(status=ApprovalStatus.PENDING, expires_at__gt=timezone.now())
    elif status:
        approvals = approvals.filter(status=status)
    page, rest = paginate(request, approvals)
    rows = [_described(a) for a in page]
    if not request.GET:
        form = ApprovalFilterForm(initial={"status": ApprovalStatus.PENDING})
    return render(request, "staff/approvals/list.html", {"form": form, "page": page, "rest": rest, "rows": rows})


def approval_for(request: HttpRequest, approval_id: uuid.UUID) -> Approval:
    approval = visible_approvals(request).filter(public_id=approval_id).first()
    if approval is None:
        raise Http404
    return approval


@requires_any("compliance.view_approval")
def approval_detail(request: HttpRequest, approval_id: uuid.UUID) -> HttpResponse:
    approval = approval_for(request, approval_id)
    described = _described(approval)
    context = {
        **described,
        "may_decide": user_may(request, "compliance.change_approval") and described["status"] == ApprovalStatus.PENDING,
        "own": approval.requested_by == actor_of(request).label,
        "payload": sorted((k, v) for k, v in (approval.payload or {}).items() if not k.startswith("_")),
    }
    return render(request, "staff/approvals/detail.html", context)


@requires_any("compliance.change_approval")
@require_POST
def approval_decide(request: HttpRequest, approval_id: uuid.UUID) -> HttpResponse:
    approval = approval_for(request, approval_id)
    form = DecisionForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, str(error))
        return redirect("staff:approval", approval_id=approval.public_id)
    note = form.cleaned_data["note"]
    try:
        if form.cleaned_data["decision"] == "approve":
            approval_approve(actor=actor_of(request), approval=approval, reason=note)
            messages.success(request, _("Approved: %(summary)s. The action has run.") % {"summary": approval.summary})
        else:
            approval_reject(actor=actor_of(request), approval=approval, reason=note)
            messages.success(request, _("Rejected: %(summary)s. Nothing was done.") % {"summary": approval.summary})
    except DomainError as refusal:
        messages.error(request, str(refusal.message))
    return redirect("staff:approval", approval_id=approval.public_id)
