"""The decision interface payments are screened through.

Sanctions screening and risk rules live above transactions (apps.compliance, apps.risk), so
they register a screener here instead of being imported: `register_payment_screener(fn)` at
app start-up (in their AppConfig.ready). Every registered screener sees every payment; the
strictest answer wins (block over review over allow). With none registered, payments pass.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import TYPE_CHECKING

from apps.common.money import Money
from apps.common.principals import Actor

if TYPE_CHECKING:
    from apps.accounts.models import Account
    from apps.transactions.models import Payment


class ScreeningOutcome(StrEnum):
    ALLOW = "allow"
    REVIEW = "review"  # a person must approve it first: the payment waits in pending_approval
    BLOCK = "block"  # refused (422 blocked_by_screening); nothing is stored


@dataclass(frozen=True)
class ScreeningDecision:
    outcome: ScreeningOutcome
    reason: str = ""
    # Work to run once a refused movement's transaction has rolled back (apps.common.refusals):
    # a block must leave its alert although everything the movement wrote is undone.
    after_refusal: tuple[Callable[[], None], ...] = field(default=(), compare=False)


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
    """The strictest answer; it carries every screener's `after_refusal` work (a payment two
    screeners block leaves both their records)."""
    decision = ScreeningDecision(ScreeningOutcome.ALLOW, "no screener objected")
    after: tuple[Callable[[], None], ...] = ()
    for screener in list(_SCREENERS):
        answer = screener(payment)
        after += answer.after_refusal
        if _SEVERITY[answer.outcome] > _SEVERITY[decision.outcome]:
            decision = answer
    return replace(decision, after_refusal=after)


# --- transfers and withdrawals ---------------------------------------------------------------
# The same idea for money that moves at once: a checker sees the movement on its locked accounts,
# inside the movement's transaction, before anything is posted. It may raise a DomainError
# (a limit: 422 limit_exceeded) or answer allow / review / block. A checker names the channels it
# applies to; a movement on any other channel (the bank's own `system` clients by default) skips
# it without a single database query: the hot path pays nothing.


@dataclass(frozen=True)
class Movement:
    kind: str  # EntryKind: transfer, withdrawal; "payment" for an external payment
    actor: Actor
    money: Money
    source: Account  # locked: the account money leaves
    target: Account | None = None  # locked: the account money goes to (transfers)
    reference: str = ""
    reviewed: bool = False  # a risk officer approved it: limits apply, rules do not ask again
    # An external payment's beneficiary (no target account): "bank/account" and ISO country.
    counterparty: str = ""
    counterparty_country: str = ""


MovementChecker = Callable[[Movement], ScreeningDecision]

_MOVEMENT_CHECKERS: list[tuple[MovementChecker, frozenset[str]]] = []


def register_movement_checker(checker: MovementChecker, *, channels: Iterable[str]) -> None:
    unregister_movement_checker(checker)
    _MOVEMENT_CHECKERS.append((checker, frozenset(channels)))


def unregister_movement_checker(checker: MovementChecker) -> None:
    _MOVEMENT_CHECKERS[:] = [(fn, chans) for fn, chans in _MOVEMENT_CHECKERS if fn != checker]


def movement_screen(movement: Movement) -> ScreeningDecision:
    """The strictest answer of the checkers registered for the movement's channel."""
    decision = ALLOWED
    channel = movement.actor.channel
    for checker, channels in list(_MOVEMENT_CHECKERS):
        if channel not in channels:
            continue
        answer = checker(movement)
        if _SEVERITY[answer.outcome] > _SEVERITY[decision.outcome]:
            decision = answer
    return decision


# What a `review` answer turns into: registered by apps.risk (an approval a risk officer decides,
# and an alert). It runs inside the movement's transaction and returns the approval's public id.
ReviewHandler = Callable[[Movement, ScreeningDecision], str]
_REVIEW_HANDLER: list[ReviewHandler] = []


def register_review_handler(handler: ReviewHandler) -> None:
    _REVIEW_HANDLER[:] = [handler]


def review_handler() -> ReviewHandler | None:
    return _REVIEW_HANDLER[0] if _REVIEW_HANDLER else None


ALLOWED = ScreeningDecision(ScreeningOutcome.ALLOW, "no checker objected")
