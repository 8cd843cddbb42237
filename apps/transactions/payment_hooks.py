"""Hooks the layers above register into for payments, so that the ledger never imports them.

- A **payment FX quoter** (registered by apps.treasury): how much of the account's currency a
  payment in another currency takes, at the rate in force now. Without one (or without a rate
  for the pair) a payment must be in its account's currency.
- A **payment review handler** (registered by apps.compliance): what a screener's `review`
  answer turns into, i.e. the maker-checker approval that later releases or rejects the payment.
  It runs in the payment's transaction and returns the approval's public id.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from apps.common.principals import Actor

if TYPE_CHECKING:
    from apps.transactions.models import Payment
    from apps.transactions.screening import ScreeningDecision


@dataclass(frozen=True)
class PaymentFx:
    """A conversion for one payment: `debit` of `sell` (the account's currency) buys the
    payment's amount; 1 sell = `mid` buy, the customer gets `customer_rate`."""

    sell: str
    debit: Decimal
    mid: Decimal
    customer_rate: Decimal
    spread_bps: int
    rate: str  # the FxRate's public id


# quoter(sell=, buy=, buy_amount=, channel=) -> PaymentFx; raises FxRateUnavailable without a rate.
PaymentFxQuoter = Callable[..., PaymentFx]
PaymentReviewHandler = Callable[["Payment", "ScreeningDecision", Actor], str]

_QUOTER: list[PaymentFxQuoter] = []
_REVIEW: list[PaymentReviewHandler] = []


def register_payment_fx_quoter(quoter: PaymentFxQuoter) -> None:
    _QUOTER[:] = [quoter]


def payment_fx_quoter() -> PaymentFxQuoter | None:
    return _QUOTER[0] if _QUOTER else None


def register_payment_review_handler(handler: PaymentReviewHandler) -> None:
    _REVIEW[:] = [handler]


def payment_review_handler() -> PaymentReviewHandler | None:
    return _REVIEW[0] if _REVIEW else None
