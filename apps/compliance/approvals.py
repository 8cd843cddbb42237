"""The actions an approval can hold, by name. Each runs as the principal who asked for it.

An action may also say what happens when its approval is rejected or expires (a payment held
for review is then rejected: `register_close_action`), and that only the bank's own principals
may decide it (a customer never clears a screening review of its own payment: `bank_decides`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from apps.accounts.selectors import account_by_pk
from apps.accounts.services import account_reactivate, account_unfreeze
from apps.common.principals import Actor
from apps.transactions.services_payments import payment_decline, payment_release
from apps.treasury.services import fx_rate_set

ActionHandler = Callable[[Actor, dict[str, Any]], dict[str, Any]]
# close(decided_by, payload, outcome ("rejected" | "expired"), reason), in the decision's transaction
CloseHandler = Callable[[str, dict[str, Any], str, str], None]


def _unfreeze(actor: Actor, payload: dict[str, Any]) -> dict[str, Any]:
    account = account_by_pk(payload["account_pk"])
    unfrozen = account_unfreeze(actor=actor, account=account, reason=payload.get("reason", ""))
    return {"account": str(unfrozen.public_id), "status": unfrozen.status}


def _fx_rate_set(actor: Actor, payload: dict[str, Any]) -> dict[str, Any]:
    rate = fx_rate_set(
        actor=actor, payload=payload, approved_by=payload["_decided_by"], approval=payload.get("_approval")
    )
    return {"rate": str(rate.public_id), "pair": f"{rate.base}/{rate.quote}", "mid": str(rate.mid)}


def _reactivate(actor: Actor, payload: dict[str, Any]) -> dict[str, Any]:
    account = account_by_pk(payload["account_pk"])
    active = account_reactivate(actor=actor, account=account, reason=payload.get("reason", ""))
    return {"account": str(active.public_id), "status": active.status}


def _payment_release(actor: Actor, payload: dict[str, Any]) -> dict[str, Any]:
    """A payment a screener sent to review goes on: its funds are held and it is submitted."""
    payment = payment_release(
        payment_id=payload["payment_pk"], decided_by=payload["_decided_by"], reason=payload.get("_reason", "")
    )
    return {"payment": str(payment.public_id), "status": payment.status}


def _payment_decline(decided_by: str, payload: dict[str, Any], outcome: str, reason: str) -> None:
    cause = f"review {outcome} by {decided_by}: {reason}" if reason else f"review {outcome} by {decided_by}"
    payment_decline(payment_id=payload["payment_pk"], decided_by=decided_by, cause=cause)


ACTIONS: dict[str, ActionHandler] = {
    "account.unfreeze": _unfreeze,
    "fx.rate_set": _fx_rate_set,
    "account.reactivate": _reactivate,
    "payment.release": _payment_release,
}
CLOSE_ACTIONS: dict[str, CloseHandler] = {"payment.release": _payment_decline}
BANK_DECIDES: set[str] = {"payment.release"}


def register_action(name: str, handler: ActionHandler) -> None:
    ACTIONS[name] = handler


def register_close_action(name: str, handler: CloseHandler) -> None:
    CLOSE_ACTIONS[name] = handler
