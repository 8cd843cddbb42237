"""The ledger is append-only and balanced, guarded three times: by the services, by the models
(both databases) and, on PostgreSQL, by triggers that raw SQL cannot get around.

TRUNCATE is deliberately not refused by a trigger (commit b7a7da5: the test runner empties tables
with it); it is left to the privileges of the production database role."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from apps.accounts.models import Account
from apps.accounts.services import accounts_lock
from apps.common.money import Money
from apps.common.principals import SYSTEM_ACTOR
from apps.transactions.models import EntryKind, JournalEntry, Posting
from apps.transactions.services import Leg, UnbalancedEntry, _post


def _ledger_snapshot() -> tuple[list[Any], list[Any]]:
    entries = list(JournalEntry.objects.order_by("id").values_list("id", "kind", "amount", "reference"))
    postings = list(Posting.objects.order_by("id").values_list("id", "entry_id", "account_id", "amount"))
    return entries, postings


def _raw_entry(cursor: Any, currency: str = "CNY") -> int:
    cursor.execute(
        "INSERT INTO transactions_journalentry "
        "(public_id, kind, amount, currency, reference, channel, created_by, created_at) "
        "VALUES (%s, 'transfer', 5, %s, 'raw', 'system', 'test', %s) RETURNING id",
        [uuid.uuid4(), currency, timezone.now()],
    )
    return cursor.fetchone()[0]


def _raw_posting(cursor: Any, entry_id: int, account: Account, amount: str) -> None:
    cursor.execute(
        "INSERT INTO transactions_posting "
        "(public_id, entry_id, account_id, amount, currency, balance_after, created_at) "
        "VALUES (%s, %s, %s, %s, %s, 0, %s)",
        [uuid.uuid4(), entry_id, account.pk, Decimal(amount), account.currency, timezone.now()],
    )


def _commit_raw_entry(postings: list[tuple[Account, str]], inserted: list[str] | None = None) -> int:
    """Insert one entry and its postings with raw SQL, one statement each, in one transaction;
    note each posting in `inserted` once its INSERT went through; return the entry's id."""
    with transaction.atomic(), connection.cursor() as cursor:
        entry_id = _raw_entry(cursor)
        for account, amount in postings:
            _raw_posting(cursor, entry_id, account, amount)
            if inserted is not None:
                inserted.append(f"{amount} {account.currency}")
    return entry_id


# --- PostgreSQL triggers ----------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.parametrize("table", ["transactions_posting", "transactions_journalentry"])
@pytest.mark.parametrize(
    ("operation", "sql"),
    [
        ("UPDATE", "UPDATE {table} SET amount = amount + 1"),
        ("UPDATE", "UPDATE {table} SET created_at = created_at"),
        ("DELETE", "DELETE FROM {table}"),
    ],
)
def test_postgresql_refuses_raw_sql_update_and_delete_of_ledger_rows(make_account, table, operation, sql):
    make_account(balance="100.00")
    before = _ledger_snapshot()
    assert before[0]
    assert before[1]

    with (
        pytest.raises(IntegrityError, match=rf"append-only \({operation} on {table}\)"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql.format(table=table))

    assert _ledger_snapshot() == before


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_postgresql_refuses_an_unbalanced_raw_sql_entry_at_commit_not_at_insert(make_account):
    account = make_account(balance="100.00")
    before = _ledger_snapshot()
    inserted: list[str] = []

    with pytest.raises(IntegrityError, match="does not balance in CNY"):
        _commit_raw_entry([(account, "5.00")], inserted)

    assert inserted == ["5.00 CNY"]  # the INSERT itself went through: the check waits for the commit
    assert _ledger_snapshot() == before


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_postgresql_refuses_at_commit_an_entry_that_balances_only_across_currencies(make_account):
    cny, usd = make_account(currency="CNY"), make_account(currency="USD", balance="10.00")
    before = _ledger_snapshot()

    with pytest.raises(IntegrityError, match="does not balance"):
        _commit_raw_entry([(cny, "5.00"), (usd, "-5.00")])

    assert _ledger_snapshot() == before


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_postgresql_commits_a_raw_sql_entry_balanced_over_separate_statements(make_account):
    """The balance check waits for the commit, so postings may arrive one statement at a time."""
    payer, payee = make_account(balance="100.00"), make_account()

    entry_id = _commit_raw_entry([(payer, "-5.00"), (payee, "5.00")])

    assert sorted(Posting.objects.filter(entry_id=entry_id).values_list("amount", flat=True)) == [
        Decimal("-5.00"),
        Decimal("5.00"),
    ]


# --- model guards (both databases) --------------------------------------------------------------


@pytest.fixture
def deposit(make_account: Any) -> JournalEntry:
    make_account(balance="100.00")
    return JournalEntry.objects.get(kind=EntryKind.DEPOSIT)


def test_saving_an_existing_journal_entry_raises_permission_error_and_changes_nothing(deposit):
    deposit.reference = "rewritten"
    with pytest.raises(PermissionError, match="append-only"):
        deposit.save()
    assert JournalEntry.objects.get(pk=deposit.pk).reference == ""


def test_saving_an_existing_posting_raises_permission_error_and_changes_nothing(deposit):
    posting = deposit.postings.order_by("id").first()
    original = posting.amount
    posting.amount += 1
    with pytest.raises(PermissionError, match="append-only"):
        posting.save(update_fields=["amount"])
    assert Posting.objects.get(pk=posting.pk).amount == original


@pytest.mark.parametrize("model", [JournalEntry, Posting])
def test_deleting_a_ledger_row_raises_permission_error_and_keeps_it(deposit, model):
    row = model.objects.order_by("id").first()
    with pytest.raises(PermissionError, match="append-only"):
        row.delete()
    assert model.objects.filter(pk=row.pk).exists()


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda entry: JournalEntry.objects.all().update(reference="x"), id="entries-update"),
        pytest.param(lambda entry: JournalEntry.objects.all().delete(), id="entries-delete"),
        pytest.param(lambda entry: Posting.objects.filter(entry=entry).update(amount=0), id="postings-update"),
        pytest.param(lambda entry: Posting.objects.all().delete(), id="postings-delete"),
        pytest.param(lambda entry: entry.postings.all().update(amount=0), id="related-postings-update"),
        pytest.param(lambda entry: entry.postings.all().delete(), id="related-postings-delete"),
        pytest.param(
            lambda entry: Posting.objects.bulk_update(list(entry.postings.all()), ["amount"]), id="postings-bulk-update"
        ),
    ],
)
def test_queryset_updates_and_deletes_of_ledger_rows_raise_permission_error(deposit, change):
    before = _ledger_snapshot()
    with pytest.raises(PermissionError, match="append-only"), transaction.atomic():
        change(deposit)
    assert _ledger_snapshot() == before


# --- the services ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "legs",
    [
        pytest.param([("payer", "-10.00"), ("payee", "9.99")], id="off-by-a-cent"),
        pytest.param([("payee", "10.00")], id="one-leg"),
        pytest.param([("payer", "-10.00"), ("payee", "10.00"), ("payee", "0.01")], id="three-legs-off"),
        pytest.param([("payer", "-0.005"), ("payee", "0.005")], id="fractions-of-a-cent"),
        pytest.param([("payer", "-10.00"), ("dollars", "10.00")], id="across-currencies"),
    ],
)
def test_posting_service_refuses_legs_that_do_not_balance_and_writes_nothing(make_account, legs):
    accounts = {
        "payer": make_account(balance="100.00"),
        "payee": make_account(),
        "dollars": make_account(currency="USD"),
    }
    before = _ledger_snapshot()
    balances = {name: (a.balance, a.available) for name, a in accounts.items()}

    def post() -> None:
        with transaction.atomic():
            _post(
                actor=SYSTEM_ACTOR,
                kind=EntryKind.TRANSFER,
                money=Money(Decimal("10.00"), "CNY"),
                reference="",
                legs=[Leg(accounts[name].pk, Decimal(amount)) for name, amount in legs],
                accounts=accounts_lock(a.pk for a in accounts.values()),
            )

    with pytest.raises(UnbalancedEntry):
        post()

    assert _ledger_snapshot() == before
    for name, account in accounts.items():
        account.refresh_from_db()
        assert (account.balance, account.available) == balances[name]
