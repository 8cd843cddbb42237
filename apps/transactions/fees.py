"""What a customer pays for moving money: the one place a tariff plugs in.

finsys charges no fee on transfers or outgoing payments today (the only fee is the monthly
account fee of the end-of-day run, apps.eod). Every screen that shows a fee before a movement
asks `movement_fee`, so a real tariff replaces this function and nothing else."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from apps.accounts.models import Account
from apps.common.money import Money


@dataclass(frozen=True)
class FeeQuote:
    fee: Money
    total: Money  # what leaves the account: the amount plus the fee


def movement_fee(*, kind: str, account: Account, money: Money) -> FeeQuote:
    """The fee for a movement of `kind` (an InstructionKind: transfer, payment) of `money` from
    `account`, and the total debited. No tariff yet: the fee is zero, shown as such."""
    fee = Money(Decimal("0"), money.currency)
    return FeeQuote(fee=fee, total=Money(money.amount + fee.amount, money.currency))
