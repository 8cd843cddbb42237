"""Reads for the end-of-day close and its reports."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from apps.accounts.models import Account, AccountStatus
from apps.eod.models import BalanceSnapshot, BusinessDay


def fee_candidates(*, date: dt.date) -> list[tuple[int, str, Decimal]]:
    """(account id, currency, monthly fee) of opened customer accounts whose product has
    a fee, in id order (a pending account has not started; a closed one pays nothing)."""
    return list(
        Account.objects.filter(is_internal=False, product__monthly_fee__gt=0)
        .exclude(status__in=[AccountStatus.CLOSED, AccountStatus.PENDING])
        .order_by("pk")
        .values_list("pk", "currency", "product__monthly_fee")
    )


def business_day_get(*, date: dt.date) -> BusinessDay | None:
    return BusinessDay.objects.filter(date=date).first()


def snapshot_balance(*, account: Account, date: dt.date) -> Decimal | None:
    return BalanceSnapshot.objects.filter(account=account, date=date).values_list("balance", flat=True).first()
