"""The actions an approval can hold, by name. Each runs as the principal who asked for it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from apps.accounts.selectors import account_by_pk
from apps.accounts.services import account_reactivate, account_unfreeze
from apps.common.principals import Actor

ActionHandler = Callable[[Actor, dict[str, Any]], dict[str, Any]]


def _unfreeze(actor: Actor, payload: dict[str, Any]) -> dict[str, Any]:
    account = account_by_pk(payload["account_pk"])
    unfrozen = account_unfreeze(actor=actor, account=account, reason=payload.get("reason", ""))
    return {"account": str(unfrozen.public_id), "status": unfrozen.status}


def _reactivate(actor: Actor, payload: dict[str, Any]) -> dict[str, Any]:
    account = account_by_pk(payload["account_pk"])
    active = account_reactivate(actor=actor, account=account, reason=payload.get("reason", ""))
    return {"account": str(active.public_id), "status": active.status}


ACTIONS: dict[str, ActionHandler] = {
    "account.unfreeze": _unfreeze,
    "account.reactivate": _reactivate,
}


def register_action(name: str, handler: ActionHandler) -> None:
    ACTIONS[name] = handler
