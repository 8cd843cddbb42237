"""Proofs over the whole ledger: entries balance, cached balances equal their postings."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection
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
    if connection.vendor == "postgresql":
        _postings_and_balances_sql(report)
        return report
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


def _postings_and_balances_sql(report: LedgerReport) -> None:
    """The per-posting and per-account checks of `ledger_check` in the database (PostgreSQL sums
    NUMERIC exactly): the same findings without loading every posting and account into Python
    (at the end of day with 100,000 accounts that took longer than the rest of the close)."""
    units = ", ".join(["(%s, %s)"] * len(CURRENCY_EXPONENTS))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT p.public_id, p.amount, p.currency FROM transactions_posting p"  # noqa: S608 - placeholders only
            f" LEFT JOIN (VALUES {units}) AS cx(currency, exponent) ON cx.currency = p.currency"
            " WHERE cx.exponent IS NOT NULL AND p.amount <> round(p.amount, cx.exponent) ORDER BY p.id",
            [value for pair in CURRENCY_EXPONENTS.items() for value in pair],
        )
        for public_id, amount, currency in cursor.fetchall():
            report.fractional_postings.append(f"{public_id} {amount} {currency}")
        cursor.execute("SELECT count(*) FROM accounts_account")
        report.accounts = int(cursor.fetchone()[0])
        cursor.execute(
            "SELECT a.number, a.balance, a.available, coalesce(p.total, 0), coalesce(p.total, 0) - coalesce(h.total, 0)"
            " FROM accounts_account a"
            " LEFT JOIN (SELECT account_id, sum(amount) AS total FROM transactions_posting GROUP BY account_id) AS p"
            " ON p.account_id = a.id"
            " LEFT JOIN (SELECT account_id, sum(amount) AS total FROM accounts_hold WHERE status = %s"
            " GROUP BY account_id) AS h ON h.account_id = a.id"
            " WHERE a.balance <> coalesce(p.total, 0) OR a.available <> coalesce(p.total, 0) - coalesce(h.total, 0)"
            " ORDER BY a.id",
            [HoldStatus.ACTIVE],
        )
        for number, balance, available, expected, expected_available in cursor.fetchall():
            if balance != expected:
                report.balance_mismatches.append(f"{number}: cached {balance}, postings {_exact(expected)}")
            if available != expected_available:
                report.available_mismatches.append(
                    f"{number}: cached available {available}, expected {_exact(expected_available)}"
                )
