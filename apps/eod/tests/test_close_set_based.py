"""The month-end close posts interest and fees set-based on PostgreSQL (one statement per step
stage, not one per entry) and row by row on SQLite: on both, every posting's balance_after runs
from the account's previous balance (the interest-expense and fee-income accounts receive
many postings in one statement), entries carry the right legs, the ledger check passes and the
audit chain seals and verifies the new entries."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from apps.accounts.models import Account, GlCode, Product
from apps.accounts.services import account_open
from apps.audit.selectors import audit_chains_verify
from apps.audit.services import chains_seal
from apps.common.money import Money
from apps.common.principals import SYSTEM_ACTOR
from apps.customers.models import Customer
from apps.eod.models import FeeCharge, InterestCapitalisation
from apps.transactions import ledger_bulk
from apps.transactions.ledger_check import ledger_check
from apps.transactions.models import EntryKind, JournalEntry, Posting
from apps.transactions.services import UnbalancedEntry, deposit_create

from .test_close import after, at, close_range


@pytest.fixture
def month(make_customer: Callable[..., Customer]) -> dict[str, list[Account]]:
    """Five savings accounts (2.5 %) and five current accounts (fee 10.00) funded on Jan 30th."""
    Product.objects.filter(code="SAVINGS-CNY").update(interest_rate=Decimal("2.5"))
    Product.objects.filter(code="CURRENT-CNY").update(monthly_fee=Decimal("10.00"))
    made: dict[str, list[Account]] = {"savings": [], "current": []}
    for index in range(5):
        for kind, code in (("savings", "SAVINGS-CNY"), ("current", "CURRENT-CNY")):
            account = account_open(actor=SYSTEM_ACTOR, customer=make_customer(), currency="CNY", product_code=code)
            amount = Decimal(1825 * (index + 1)) + Decimal("0.37") * index
            deposit_create(
                actor=SYSTEM_ACTOR,
                account=account.public_id,
                money=Money(amount, "CNY"),
                booked_at=at(dt.date(2027, 1, 30), 9),
            )
            made[kind].append(account)
    return made


def test_month_end_entries_chain_balances_and_pass_the_ledger_and_audit_checks(month) -> None:
    close_range(dt.date(2027, 1, 30), dt.date(2027, 1, 31))

    interest = list(JournalEntry.objects.filter(kind=EntryKind.INTEREST).order_by("id"))
    fees = list(JournalEntry.objects.filter(kind=EntryKind.FEE).order_by("id"))
    assert len(interest) == len(fees) == 5
    expense = Account.objects.get(is_internal=True, gl_code=GlCode.INTEREST_EXPENSE, currency="CNY")
    income = Account.objects.get(is_internal=True, gl_code=GlCode.FEE_INCOME, currency="CNY")
    for row in InterestCapitalisation.objects.select_related("entry"):
        legs = list(row.entry.postings.order_by("id").values_list("account_id", "amount"))
        assert legs == [(expense.pk, -row.posted), (row.account_id, row.posted)]
        assert (row.entry.amount, row.entry.reference) == (row.posted, "Interest 2027-01")
    for row in FeeCharge.objects.select_related("entry"):
        legs = list(row.entry.postings.order_by("id").values_list("account_id", "amount"))
        assert legs == [(row.account_id, Decimal("-10.00")), (income.pk, Decimal("10.00"))]
    # Entries in account order (ascending ids), postings in entry order.
    assert [e.postings.get(amount__gt=0).account_id for e in interest] == sorted(a.pk for a in month["savings"])

    running: dict[int, Decimal] = defaultdict(Decimal)
    for account_id, amount, balance_after in Posting.objects.order_by("id").values_list(
        "account_id", "amount", "balance_after"
    ):
        running[account_id] += amount
        assert balance_after == running[account_id], account_id
    for account in Account.objects.all():
        assert account.balance == running[account.pk]

    assert ledger_check().ok
    chains_seal(full=True)
    verification = audit_chains_verify(
        grace=dt.timedelta(seconds=settings.AUDIT_SEAL_GRACE_SECONDS), now=timezone.now()
    )
    assert verification.ok, verification.first_problem
    ledger = next(report for report in verification.chains if report.chain == "ledger")
    assert ledger.links == JournalEntry.objects.count()


@pytest.mark.postgres
def test_a_bulk_row_that_cannot_be_posted_refuses_the_whole_table(month) -> None:
    savings, current = month["savings"][0], month["current"][0]
    entries, postings = JournalEntry.objects.count(), Posting.objects.count()
    for bad in ("0.001", "-1.00", "0"):
        with transaction.atomic():
            ledger_bulk.table_create("bulk_test")
            with connection.cursor() as cursor:
                cursor.execute(
                    "INSERT INTO bulk_test (key, debit_id, credit_id, amount, currency)"
                    " VALUES (1, %s, %s, 1, 'CNY'), (2, %s, %s, %s, 'CNY')",
                    [savings.pk, current.pk, current.pk, savings.pk, Decimal(bad)],
                )
        with pytest.raises(UnbalancedEntry):
            ledger_bulk.entries_post_table(
                actor=SYSTEM_ACTOR,
                kind=EntryKind.FEE,
                reference="x",
                table="bulk_test",
                booked_at=after(dt.date(2027, 1, 31)),
            )
    assert (JournalEntry.objects.count(), Posting.objects.count()) == (entries, postings)


@pytest.mark.postgres
@pytest.mark.django_db
def test_half_even_sql_matches_python_half_even() -> None:
    values = ["0.125", "0.135", "-0.125", "-0.135", "2.5", "3.5", "0.1250000001", "0.0049999999", "12.345"]
    with connection.cursor() as cursor:
        for value in values:
            literal = f"'{Decimal(value)}'::numeric"  # a Decimal's text: no quote can come through
            cursor.execute(f"SELECT {ledger_bulk.half_even_sql(literal, '2')}")
            assert Decimal(cursor.fetchone()[0]) == Decimal(value).quantize(Decimal("0.01")), value
