"""The actions an approval can hold, by name. Each runs as the principal who asked for it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from apps.accounts.selectors import account_by_pk
from apps.accounts.services import account_reactivate, account_unfreeze
from apps.common.principals import Actor
from apps.treasury.services import fx_rate_set

ActionHandler = Callable[[Actor, dict[str, Any]], dict[str, Any]]


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


ACTIONS: dict[str, ActionHandler] = {
    "account.unfreeze": _unfreeze,
    "fx.rate_set": _fx_rate_set,
    "account.reactivate": _reactivate,
}


def register_action(name: str, handler: ActionHandler) -> None:
    ACTIONS[name] = handler
