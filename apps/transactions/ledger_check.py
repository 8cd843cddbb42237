"""Proofs over the whole ledger: entries balance, cached balances equal their postings."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, Sum

from apps.accounts.models import Account, Hold, HoldStatus
from apps.common.money import CURRENCY_EXPONENTS
from apps.transactions.models import JournalEntry, Posting


@dataclass
class LedgerReport:
    unbalanced_entries: list[str] = field(default_factory=list)
    short_entries: list[str] = field(default_factory=list)
    fractional_postings: list[str] = field(default_factory=list)
    balance_mismatches: list[str] = field(default_factory=list)
    available_mismatches: list[str] = field(default_factory=list)
    entries: int = 0
    accounts: int = 0

    @property
    def ok(self) -> bool:
        return not (
            self.unbalanced_entries
            or self.short_entries
            or self.fractional_postings
            or self.balance_mismatches
            or self.available_mismatches
        )


_STORED_PLACES = Decimal("0.0001")  # MoneyAmountField: NUMERIC(20, 4)


def _exact(total: Decimal | None) -> Decimal:
    """A SUM back at the column's scale. PostgreSQL sums NUMERIC exactly (a no-op there); SQLite
    sums in floating point and Django hands aggregates back unrounded (0.0699999999895226 for
    0.07), which would report a correct balance as wrong."""
    return (total or Decimal(0)).quantize(_STORED_PLACES)


def ledger_check() -> LedgerReport:
    report = LedgerReport()
    report.entries = JournalEntry.objects.count()
    for row in Posting.objects.values("entry__public_id", "currency").annotate(total=Sum("amount")).exclude(total=0):
        if _exact(row["total"]) != 0:  # SQLite: a float sum a hair off zero is zero
            report.unbalanced_entries.append(f"{row['entry__public_id']} {row['currency']} off by {row['total']}")
    short = JournalEntry.objects.annotate(n=Count("postings")).filter(n__lt=2).values_list("public_id", "n")
    for public_id, count in short:
        report.short_entries.append(f"{public_id} has {count} posting(s)")
    for currency, exponent in CURRENCY_EXPONENTS.items():
        unit = Decimal(1).scaleb(-exponent)
        for posting in Posting.objects.filter(currency=currency).only("public_id", "amount").iterator(chunk_size=5000):
            if posting.amount != posting.amount.quantize(unit):
                report.fractional_postings.append(f"{posting.public_id} {posting.amount} {currency}")
    sums = dict(Posting.objects.values("account_id").annotate(total=Sum("amount")).values_list("account_id", "total"))
    held = dict(
        Hold.objects.filter(status=HoldStatus.ACTIVE)
        .values("account_id")
        .annotate(total=Sum("amount"))
        .values_list("account_id", "total")
    )
    for account in Account.objects.only("number", "balance", "available").iterator(chunk_size=5000):
        report.accounts += 1
        expected = _exact(sums.get(account.pk))
        if account.balance != expected:
            report.balance_mismatches.append(f"{account.number}: cached {account.balance}, postings {expected}")
        expected_available = expected - _exact(held.get(account.pk))
        if account.available != expected_available:
            report.available_mismatches.append(
                f"{account.number}: cached available {account.available}, expected {expected_available}"
            )
    return report
