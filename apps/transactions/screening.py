"""The decision interface payments are screened through.

Sanctions screening and risk rules live above transactions (apps.compliance, apps.risk), so
they register a screener here instead of being imported: `register_payment_screener(fn)` at
app start-up (in their AppConfig.ready). Every registered screener sees every payment; the
strictest answer wins (block over review over allow). With none registered, payments pass.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from apps.transactions.models import Payment


class ScreeningOutcome(StrEnum):
    ALLOW = "allow"
    REVIEW = "review"  # a person must approve it first: the payment waits in pending_approval
    BLOCK = "block"  # refused (422 blocked_by_screening); nothing is stored


@dataclass(frozen=True)
class ScreeningDecision:
    outcome: ScreeningOutcome
    reason: str = ""


PaymentScreener = Callable[["Payment"], ScreeningDecision]

_SCREENERS: list[PaymentScreener] = []
_SEVERITY = {ScreeningOutcome.ALLOW: 0, ScreeningOutcome.REVIEW: 1, ScreeningOutcome.BLOCK: 2}


def register_payment_screener(screener: PaymentScreener) -> None:
    if screener not in _SCREENERS:
        _SCREENERS.append(screener)


def unregister_payment_screener(screener: PaymentScreener) -> None:
    if screener in _SCREENERS:
        _SCREENERS.remove(screener)


def payment_screen(payment: Payment) -> ScreeningDecision:
    decision = ScreeningDecision(ScreeningOutcome.ALLOW, "no screener objected")
    for screener in list(_SCREENERS):
        answer = screener(payment)
        if _SEVERITY[answer.outcome] > _SEVERITY[decision.outcome]:
            decision = answer
    return decision
