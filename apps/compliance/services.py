"""Maker-checker: request, approve (runs the held action once) and reject."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.accounts.models import Account
from apps.accounts.services import account_unfreeze_check
from apps.audit.services import audit_record
from apps.common.errors import ApprovalNotPending, PermissionDenied
from apps.common.principals import Actor, Channel
from apps.compliance.approvals import ACTIONS
from apps.compliance.models import Approval, ApprovalStatus
from apps.customers.models import Customer


def approval_request(
    *,
    actor: Actor,
    action: str,
    payload: dict[str, Any],
    customer: Customer | None,
    summary: str = "",
    reason: str = "",
) -> Approval:
    if action not in ACTIONS:
        raise ValueError(f"unknown approval action {action!r}")
    with transaction.atomic():
        approval = Approval.objects.create(
            action=action,
            payload=payload,
            summary=summary[:255],
            customer=customer,
            requested_by=actor.label,
            requested_channel=actor.channel,
            requested_for_customer_id=actor.customer_id,
            request_reason=reason[:255],
            expires_at=timezone.now() + timedelta(hours=settings.FINSYS_APPROVAL_TTL_HOURS),
        )
        audit_record(
            actor=actor.label,
            action="approval.request",
            object_type="approval",
            object_id=str(approval.public_id),
            detail={"action": action},
        )
    return approval


def account_unfreeze_request(*, actor: Actor, account: Account, reason: str = "") -> Approval:
    """Unfreezing always needs a second principal: check it could succeed, then ask."""
    account_unfreeze_check(actor=actor, account=account)
    return approval_request(
        actor=actor,
        action="account.unfreeze",
        payload={"account_pk": account.pk, "account": str(account.public_id), "reason": reason},
        customer=account.customer,
        summary=f"Unfreeze account {account.number}",
        reason=reason,
    )


def _lock_pending(approval: Approval, actor: Actor) -> Approval:
    locked = Approval.objects.select_for_update().get(pk=approval.pk)
    if locked.status != ApprovalStatus.PENDING or locked.expires_at <= timezone.now():
        raise ApprovalNotPending()
    if locked.requested_by == actor.label:
        raise PermissionDenied(_("You asked for this; another person must decide it."))
    return locked


def approval_approve(*, actor: Actor, approval: Approval, reason: str = "") -> Approval:
    """Approve and run the held action, once, in the same transaction."""
    with transaction.atomic():
        locked = _lock_pending(approval, actor)
        requester = Actor(
            label=locked.requested_by,
            channel=Channel(locked.requested_channel),
            customer_id=locked.requested_for_customer_id,
        )
        locked.result = ACTIONS[locked.action](requester, locked.payload)
        locked.status = ApprovalStatus.APPROVED
        locked.decided_by = actor.label
        locked.decision_reason = reason[:255]
        locked.decided_at = timezone.now()
        locked.save(update_fields=["result", "status", "decided_by", "decision_reason", "decided_at", "updated_at"])
        audit_record(
            actor=actor.label,
            action="approval.approve",
            object_type="approval",
            object_id=str(locked.public_id),
            detail={"action": locked.action},
        )
    return locked


def approval_reject(*, actor: Actor, approval: Approval, reason: str = "") -> Approval:
    with transaction.atomic():
        locked = _lock_pending(approval, actor)
        locked.status = ApprovalStatus.REJECTED
        locked.decided_by = actor.label
        locked.decision_reason = reason[:255]
        locked.decided_at = timezone.now()
        locked.save(update_fields=["status", "decided_by", "decision_reason", "decided_at", "updated_at"])
        audit_record(
            actor=actor.label,
            action="approval.reject",
            object_type="approval",
            object_id=str(locked.public_id),
            detail={"action": locked.action},
        )
    return locked


def approvals_expire(*, now: Any = None) -> int:
    """Mark pending approvals past their expiry as expired."""
    return Approval.objects.filter(status=ApprovalStatus.PENDING, expires_at__lte=now or timezone.now()).update(
        status=ApprovalStatus.EXPIRED, updated_at=timezone.now()
    )
