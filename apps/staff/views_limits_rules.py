"""Risk rules and limits editors. Rules are data and versioned: an edit proposes a new version
(`rule_propose`), active once another person approves it. A limit change (`limit_set`) that
raises anything waits for approval; a pure lowering applies at once and is reviewed after. The
pending approvals of both are decided here (never by their maker: the service refuses)."""

from __future__ import annotations

import json
import uuid
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from apps.common.admin import staff_actor
from apps.common.errors import DomainError
from apps.compliance.models import Approval, ApprovalStatus
from apps.risk.models import LimitRule, Rule, RuleStatus
from apps.risk.services import limit_set, rule_propose
from apps.staff.forms_limits_rules import LimitFilterForm, LimitSetForm, RuleFilterForm, RuleProposeForm
from apps.staff.queues_kit import (
    DecisionForm,
    approval_decide,
    approvals_pending,
    may,
    paginate,
    refusal_to_form,
    require_any,
)

RULE_VIEW, RULE_EDIT = "risk.view_rule", "risk.change_rule"
LIMIT_VIEW, LIMIT_EDIT = "risk.view_limitrule", "risk.change_limitrule"
DECIDE = "compliance.change_approval"
RULE_ACTIONS = ("risk.rule_activate",)
LIMIT_ACTIONS = ("risk.limit_set", "risk.limit_review")


def _prefill(code: str) -> dict[str, Any]:
    rule = Rule.objects.filter(code=code).order_by("-status", "-version").first()
    current = Rule.objects.filter(code=code, status=RuleStatus.ACTIVE).first() or rule
    if current is None:
        return {"code": code}
    return {
        "code": current.code,
        "kind": current.kind,
        "action": current.action,
        "channels": current.channels,
        "parameters": json.dumps(current.parameters, ensure_ascii=False),
    }


@never_cache
@require_any(RULE_VIEW, post=(RULE_EDIT,))
@require_http_methods(["GET", "POST"])
def rules(request: HttpRequest) -> HttpResponse:
    form = RuleProposeForm(initial=_prefill(request.GET.get("edit", "")[:50]) if request.GET.get("edit") else None)
    status = 200
    if request.method == "POST":
        form = RuleProposeForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                rule = rule_propose(
                    actor=staff_actor(request),
                    code=data["code"],
                    kind=data["kind"],
                    parameters=data["parameters"],
                    action=data["action"],
                    channels=data["channels"],
                    reason=data["reason"],
                )
            except DomainError as refusal:
                refusal_to_form(form, refusal)
            else:
                messages.success(
                    request,
                    _("Rule %(code)s version %(version)d is proposed; it takes effect when another person approves it.")
                    % {"code": rule.code, "version": rule.version},
                )
                return redirect("staff:rules")
        status = 400
    filters = RuleFilterForm(request.GET or None)
    rows = Rule.objects.order_by("code", "-version")
    if filters.is_valid():
        data = filters.cleaned_data
        if data["status"]:
            rows = rows.filter(status=data["status"])
        if data["kind"]:
            rows = rows.filter(kind=data["kind"])
        if data["code"]:
            rows = rows.filter(code__icontains=data["code"].strip())
    page, query = paginate(request, rows)
    return render(
        request,
        "staff/rules/rules.html",
        {
            "form": form,
            "filters": filters,
            "page": page,
            "query": query,
            "pending": approvals_pending(RULE_ACTIONS),
            "can_edit": may(request, RULE_EDIT),
            "can_decide": may(request, RULE_EDIT) and may(request, DECIDE),
        },
        status=status,
    )


def _in_force_ids() -> set[int]:
    """The newest already-valid row of each scope: the limits in force."""
    seen: set[tuple[str, str, str, str]] = set()
    ids: set[int] = set()
    valid = LimitRule.objects.filter(valid_from__lte=timezone.now()).order_by("-valid_from", "-id")
    for pk, *scope in valid.values_list("pk", "channel", "product", "tier", "currency"):
        key = (scope[0], scope[1], scope[2], scope[3])
        if key not in seen:
            seen.add(key)
            ids.add(pk)
    return ids


@never_cache
@require_any(LIMIT_VIEW, post=(LIMIT_EDIT,))
@require_http_methods(["GET", "POST"])
def limits(request: HttpRequest) -> HttpResponse:
    form = LimitSetForm()
    status = 200
    if request.method == "POST":
        form = LimitSetForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                result = limit_set(
                    actor=staff_actor(request),
                    currency=data["currency"],
                    channel=data["channel"],
                    product=data["product"],
                    tier=data["tier"],
                    per_transaction=data["per_transaction"],
                    daily=data["daily"],
                    monthly=data["monthly"],
                    reason=data["reason"],
                )
            except DomainError as refusal:
                refusal_to_form(form, refusal)
            else:
                if isinstance(result, Approval):
                    messages.success(request, _("The change raises a limit: it waits for another person's approval."))
                else:
                    messages.success(request, _("The limits are lowered now; the change is queued for review."))
                return redirect("staff:limits")
        status = 400
    filters = LimitFilterForm(request.GET or None)
    rows = LimitRule.objects.order_by("currency", "channel", "product", "tier", "-valid_from", "-id")
    if filters.is_valid():
        data = filters.cleaned_data
        if data["currency"]:
            rows = rows.filter(currency=data["currency"])
        if data["channel"]:
            rows = rows.filter(channel=data["channel"])
    page, query = paginate(request, rows)
    return render(
        request,
        "staff/rules/limits.html",
        {
            "form": form,
            "filters": filters,
            "page": page,
            "query": query,
            "in_force": _in_force_ids(),
            "pending": approvals_pending(LIMIT_ACTIONS),
            "can_edit": may(request, LIMIT_EDIT),
            "can_decide": may(request, LIMIT_EDIT) and may(request, DECIDE),
        },
        status=status,
    )


@never_cache
@require_any(RULE_EDIT, LIMIT_EDIT)
@require_POST
def risk_change_decide(request: HttpRequest, approval_id: uuid.UUID) -> HttpResponse:
    """Approve or reject a pending rule version or limit change (not one's own)."""
    approval = Approval.objects.filter(
        public_id=approval_id, action__in=RULE_ACTIONS + LIMIT_ACTIONS, status=ApprovalStatus.PENDING
    ).first()
    if approval is None:
        raise Http404
    is_rule = approval.action in RULE_ACTIONS
    if not may(request, DECIDE) or not may(request, RULE_EDIT if is_rule else LIMIT_EDIT):
        raise PermissionDenied
    form = DecisionForm(request.POST)
    if form.is_valid():
        approval_decide(request, approval, form.cleaned_data["decision"], form.cleaned_data["reason"])
    else:
        messages.error(request, _("Choose approve or reject."))
    return redirect("staff:rules" if is_rule else "staff:limits")
