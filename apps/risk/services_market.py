"""Market risk: limits on the bank's net open FX position per currency (raising one is
maker-checked, lowering applies at once and is reviewed afterwards) and the check that raises
an alert for each currency over its limit. Positions come from the ledger (selectors)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.audit.services import audit_record
from apps.common.errors import ValidationFailed
from apps.common.money import SUPPORTED_CURRENCIES, format_amount
from apps.common.principals import Actor, require_bank
from apps.compliance.approvals import register_action
from apps.compliance.models import Approval
from apps.compliance.services import approval_request
from apps.risk import selectors
from apps.risk.models import Alert, AlertCategory, AlertStatus, FxPositionLimit, RuleAction

FX_ALERT_KIND = "fx_position"


def fx_limit_set(*, actor: Actor, currency: str, limit: Decimal, reason: str = "") -> FxPositionLimit | Approval:
    """Set the net open position limit of a currency. A raise (or the first limit replacing
    "unlimited" is a lowering) waits for a second person (approval `risk.fx_limit_set`); a
    lowering applies now and is queued for review (approval `risk.fx_limit_review`)."""
    require_bank(actor, _("Only the bank sets FX position limits."))
    if currency not in SUPPORTED_CURRENCIES:
        raise ValidationFailed({"currency": [_("Unsupported currency.")]})
    if limit < 0 or limit != limit.quantize(Decimal("0.0001")):
        raise ValidationFailed({"limit": [_("A limit cannot be negative.")]})
    current = selectors.fx_limits_in_force().get(currency)
    payload = {"currency": currency, "limit": str(limit), "reason": reason}
    summary = f"FX position limit {currency}: {format_amount(limit, currency)} (was {current if current is not None else 'unlimited'})"
    if current is not None and limit > current:
        return approval_request(
            actor=actor, action="risk.fx_limit_set", payload=payload, customer=None, summary=summary, reason=reason
        )
    with transaction.atomic():
        row = _fx_limit_write(actor=actor, payload=payload, approved_by="")
        approval_request(
            actor=actor,
            action="risk.fx_limit_review",
            payload={**payload, "fx_limit": row.pk},
            customer=None,
            summary=f"Review (applied): {summary}",
            reason=reason,
        )
    return row


def _fx_limit_write(*, actor: Actor, payload: dict[str, Any], approved_by: str) -> FxPositionLimit:
    row = FxPositionLimit.objects.create(
        currency=payload["currency"], limit=Decimal(payload["limit"]), created_by=actor.label, approved_by=approved_by
    )
    audit_record(
        actor=actor.label,
        action="risk.fx_limit_set",
        object_type="fx_position_limit",
        object_id=str(row.pk),
        detail={"currency": row.currency, "limit": str(row.limit), "approved_by": approved_by},
    )
    return row


def _fx_limit_set_action(actor: Actor, payload: dict[str, Any]) -> dict[str, Any]:
    row = _fx_limit_write(actor=actor, payload=payload, approved_by=payload.get("_decided_by", "approval"))
    return {"fx_limit": row.pk, "currency": row.currency, "limit": str(row.limit)}


def _fx_limit_review_action(actor: Actor, payload: dict[str, Any]) -> dict[str, Any]:
    return {"fx_limit": payload.get("fx_limit"), "reviewed": True}


def fx_positions_check(*, now: dt.datetime | None = None) -> list[Alert]:
    """Compare every currency's position with its limit; open an alert for each breach unless
    one for that currency is still open (so a lasting breach is one alert, not one per run).
    Returns the alerts opened."""
    now = now or timezone.now()
    opened: list[Alert] = []
    for position in selectors.fx_positions():
        if not position.breached:
            continue
        assert position.limit is not None
        reference = f"{FX_ALERT_KIND}:{position.currency}"
        with transaction.atomic():
            # One check at a time per currency: the limit rows are few, lock the newest one.
            FxPositionLimit.objects.select_for_update().filter(currency=position.currency).order_by("-id").first()
            if Alert.objects.filter(reference=reference).exclude(status=AlertStatus.CLOSED).exists():
                continue
            side = _("long") if position.position > 0 else _("short")
            alert = Alert.objects.create(
                category=AlertCategory.FX_POSITION,
                customer=None,
                outcome=RuleAction.REVIEW,
                reason=(
                    _("Net open %(currency)s position %(side)s %(position)s over the limit of %(limit)s")
                    % {
                        "currency": position.currency,
                        "side": side,
                        "position": format_amount(abs(position.position), position.currency),
                        "limit": format_amount(position.limit, position.currency),
                    }
                )[:255],
                kind=FX_ALERT_KIND,
                reference=reference,
                amount=abs(position.position),
                currency=position.currency,
            )
            audit_record(
                actor="system:risk",
                action="risk.alert_open",
                object_type="alert",
                object_id=str(alert.public_id),
                detail={
                    "category": AlertCategory.FX_POSITION,
                    "position": str(position.position),
                    "at": now.isoformat(),
                },
            )
            opened.append(alert)
    return opened


register_action("risk.fx_limit_set", _fx_limit_set_action)
register_action("risk.fx_limit_review", _fx_limit_review_action)
