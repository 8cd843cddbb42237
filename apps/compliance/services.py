"""Maker-checker: request, approve (runs the held action once) and reject."""

from __future__ import annotations

import datetime as dt
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.accounts.models import Account, AccountStatus
from apps.accounts.selectors import accounts_of_customer
from apps.accounts.services import account_freeze, account_reactivate_check, account_unfreeze, account_unfreeze_check
from apps.audit.services import audit_record
from apps.common.controls import controls_changed
from apps.common.errors import ApprovalNotPending, PermissionDenied, ValidationFailed
from apps.common.models import ControlKind, EmergencyControl
from apps.common.principals import Actor, Channel, require_bank
from apps.compliance.approvals import ACTIONS, BANK_DECIDES, CLOSE_ACTIONS, register_action
from apps.compliance.models import Approval, ApprovalStatus
from apps.customers.models import Customer
from apps.transactions.models import Payment
from apps.transactions.screening import ScreeningDecision
from apps.treasury.services import fx_rate_payload

SYSTEM_DECIDER = "system:approvals"


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


def payment_review_request(payment: Payment, decision: ScreeningDecision, actor: Actor) -> str:
    """A screener (AML, risk rules, any other) sent a payment to review: open the approval that
    releases it (`payment.release`) or, rejected or expired, rejects it. Registered as the
    payments' review handler (apps/compliance/apps.py); runs in the payment's transaction. The
    payment's maker is the requester, so it can never decide its own review."""
    approval = approval_request(
        actor=actor,
        action="payment.release",
        payload={"payment_pk": payment.pk, "payment": str(payment.public_id), "screening": decision.reason[:200]},
        customer=payment.account.customer,
        summary=(
            f"Release payment {payment.amount} {payment.currency} to {payment.beneficiary_name}: {decision.reason}"
        ),
        reason=decision.reason,
    )
    return str(approval.public_id)


def fx_rate_request(
    *,
    actor: Actor,
    base: str,
    quote: str,
    mid: Decimal,
    valid_from: dt.datetime | None = None,
    valid_to: dt.datetime | None = None,
    reason: str = "",
) -> Approval:
    """Ask for a new FX mid rate; it is in force once another person approves it."""
    require_bank(actor, _("Only the bank sets exchange rates."))
    payload = fx_rate_payload(base=base, quote=quote, mid=mid, valid_from=valid_from, valid_to=valid_to)
    return approval_request(
        actor=actor,
        action="fx.rate_set",
        payload=payload,
        customer=None,
        summary=f"FX rate {base}/{quote} = {mid}",
        reason=reason,
    )


def account_reactivate_request(*, actor: Actor, account: Account, reason: str = "") -> Approval:
    """A dormant account sends again only after a second person approves (risk-increasing)."""
    require_bank(actor, _("Only the bank can reactivate a dormant account."))
    account_reactivate_check(account=account)
    return approval_request(
        actor=actor,
        action="account.reactivate",
        payload={"account_pk": account.pk, "account": str(account.public_id), "reason": reason},
        customer=account.customer,
        summary=f"Reactivate dormant account {account.number}",
        reason=reason,
    )


def _lock_pending(approval: Approval, actor: Actor) -> Approval:
    locked = Approval.objects.select_for_update().get(pk=approval.pk)
    if locked.status != ApprovalStatus.PENDING or locked.expires_at <= timezone.now():
        raise ApprovalNotPending()
    if locked.requested_by == actor.label:
        raise PermissionDenied(_("You asked for this; another person must decide it."))
    if locked.action in BANK_DECIDES and not actor.is_bank:
        raise PermissionDenied(_("Only the bank decides this."))
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
        # The handler also learns who decided and which approval it runs (an FX rate records both).
        decided = {
            **locked.payload,
            "_decided_by": actor.label,
            "_approval": str(locked.public_id),
            "_reason": reason[:255],
        }
        locked.result = ACTIONS[locked.action](requester, decided)
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
        close = CLOSE_ACTIONS.get(locked.action)
        if close is not None:  # e.g. a payment held for review is rejected with it
            close(actor.label, locked.payload, ApprovalStatus.REJECTED, reason[:255])
        audit_record(
            actor=actor.label,
            action="approval.reject",
            object_type="approval",
            object_id=str(locked.public_id),
            detail={"action": locked.action},
        )
    return locked


def approvals_expire(*, now: Any = None) -> int:
    """Mark pending approvals past their expiry as expired. An action with a close handler (a
    payment held for review) is closed with it, each in its own transaction, once: the row
    lock and the pending status decide. Re-runnable."""
    due = Approval.objects.filter(status=ApprovalStatus.PENDING, expires_at__lte=now or timezone.now())
    expired = 0
    for pk in due.filter(action__in=list(CLOSE_ACTIONS)).order_by("pk").values_list("pk", flat=True):
        with transaction.atomic():
            locked = Approval.objects.select_for_update().get(pk=pk)
            if locked.status != ApprovalStatus.PENDING:
                continue
            locked.status = ApprovalStatus.EXPIRED
            locked.decided_by = SYSTEM_DECIDER
            locked.decided_at = timezone.now()
            locked.save(update_fields=["status", "decided_by", "decided_at", "updated_at"])
            CLOSE_ACTIONS[locked.action](SYSTEM_DECIDER, locked.payload, ApprovalStatus.EXPIRED, "")
            expired += 1
    return expired + due.exclude(action__in=list(CLOSE_ACTIONS)).update(
        status=ApprovalStatus.EXPIRED, updated_at=timezone.now()
    )


# --- emergency controls (kill switches) -----------------------------------------------------
# Switching one on reduces risk: it takes effect at once, is audited and is put in the approvals
# queue for a second person to review afterwards. Lifting one increases risk: it is only asked
# for here, and runs when a second person approves it (apps.compliance.approvals).


def _control_target(kind: str, customer: Customer | None) -> None:
    if kind not in ControlKind.values:
        raise ValidationFailed({"kind": [_("Unknown emergency control.")]})
    if (kind == ControlKind.CUSTOMER_FROZEN) != (customer is not None):
        raise ValidationFailed({"customer": [_("Name a customer for a customer freeze, and only for it.")]})


def emergency_control_activate(
    *, actor: Actor, kind: str, reason: str, customer: Customer | None = None
) -> EmergencyControl:
    """Switch a control on now; a customer freeze also freezes every active account of theirs."""
    require_bank(actor, _("Only the bank can switch on an emergency control."))
    _control_target(kind, customer)
    if not reason.strip():
        raise ValidationFailed({"reason": [_("Say why.")]})
    with transaction.atomic():
        already = EmergencyControl.objects.select_for_update().filter(kind=kind, customer=customer, active=True)
        if already.exists():
            raise ValidationFailed({"kind": [_("This emergency control is already on.")]})
        control = EmergencyControl.objects.create(
            kind=kind,
            customer=customer,
            reason=reason[:255],
            activated_by=actor.label,
            activated_at=timezone.now(),
        )
        if customer is not None:
            frozen = [
                account_freeze(actor=actor, account=account, reason=f"Emergency freeze: {reason}"[:255]).pk
                for account in accounts_of_customer(customer.pk, status=AccountStatus.ACTIVE)
            ]
            control.detail = {"frozen_accounts": frozen}
            control.save(update_fields=["detail", "updated_at"])
        audit_record(
            actor=actor.label,
            action="emergency_control.activate",
            object_type="emergency_control",
            object_id=str(control.pk),
            detail={"kind": kind, "customer": str(customer.public_id) if customer else "", "reason": reason[:255]},
        )
        approval_request(
            actor=actor,
            action="emergency_control.review",
            payload={"control_pk": control.pk, "kind": kind},
            customer=customer,
            summary=f"Review: {control.get_kind_display()} switched on by {actor.label}",
            reason=reason,
        )
        controls_changed()
    return control


def emergency_control_lift_request(*, actor: Actor, control: EmergencyControl, reason: str) -> Approval:
    """Ask for a control to be switched off; it stays on until a second person approves."""
    require_bank(actor, _("Only the bank can lift an emergency control."))
    if not reason.strip():
        raise ValidationFailed({"reason": [_("Say why.")]})
    if not control.active:
        raise ValidationFailed({"control": [_("This emergency control is already off.")]})
    pending = Approval.objects.filter(
        action="emergency_control.lift",
        status=ApprovalStatus.PENDING,
        expires_at__gt=timezone.now(),
        payload__control_pk=control.pk,
    )
    if pending.exists():
        raise ValidationFailed({"control": [_("Lifting this emergency control is already waiting for approval.")]})
    return approval_request(
        actor=actor,
        action="emergency_control.lift",
        payload={"control_pk": control.pk, "kind": control.kind, "reason": reason[:255]},
        customer=control.customer,
        summary=f"Lift: {control.get_kind_display()}",
        reason=reason,
    )


def emergency_control_lift(*, actor: Actor, control_pk: int, reason: str = "") -> EmergencyControl:
    """Switch a control off (run by an approved lift request), unfreezing what it froze."""
    with transaction.atomic():
        control = EmergencyControl.objects.select_for_update().filter(pk=control_pk).first()
        if control is None or not control.active:
            raise ValidationFailed({"control": [_("This emergency control is already off.")]})
        control.active = False
        control.deactivated_by = actor.label
        control.deactivated_at = timezone.now()
        control.deactivation_reason = reason[:255]
        control.save(update_fields=["active", "deactivated_by", "deactivated_at", "deactivation_reason", "updated_at"])
        if control.customer_id is not None:
            frozen = set(control.detail.get("frozen_accounts", []))
            for account in accounts_of_customer(control.customer_id, status=AccountStatus.FROZEN):
                if account.pk in frozen:  # frozen by this control, not before it for another reason
                    account_unfreeze(actor=actor, account=account, reason=f"Emergency freeze lifted: {reason}"[:255])
        audit_record(
            actor=actor.label,
            action="emergency_control.lift",
            object_type="emergency_control",
            object_id=str(control.pk),
            detail={"kind": control.kind, "reason": reason[:255]},
        )
        controls_changed()
    return control


def _lift_action(actor: Actor, payload: dict[str, Any]) -> dict[str, Any]:
    control = emergency_control_lift(actor=actor, control_pk=payload["control_pk"], reason=payload.get("reason", ""))
    return {"control": control.pk, "kind": control.kind, "active": control.active}


def _review_action(actor: Actor, payload: dict[str, Any]) -> dict[str, Any]:
    """Approving the review records that a second person saw the switch go on; it changes nothing."""
    return {"control": payload["control_pk"], "kind": payload.get("kind", ""), "reviewed": True}


register_action("emergency_control.lift", _lift_action)
register_action("emergency_control.review", _review_action)
