"""data_quality: a clean bank passes; each kind of finding is named and makes the command fail."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from apps.accounts.models import Account, Hold
from apps.common.principals import SYSTEM_ACTOR
from apps.customers.models import Customer
from apps.customers.services import customer_decide_kyc
from apps.transactions.models import JournalEntry, Posting

MISSING = 987_654_321  # an id no row has


@pytest.fixture
def broken_rows() -> Iterator[Any]:
    """Insert rows that foreign keys would refuse at commit, and take them out again afterwards.

    On PostgreSQL the inserts run with triggers off (session_replication_role), as a manual fix
    or a partial restore might; the rows are deleted the same way before the test's rollback.
    """
    made: list[tuple[str, int]] = []

    def _role(cursor: Any, role: str) -> None:
        if connection.vendor == "postgresql":
            cursor.execute(f"SET LOCAL session_replication_role = {role}")

    def insert(model: type, **fields: Any) -> Any:
        with connection.cursor() as cursor:
            _role(cursor, "replica")
            row = model.objects.create(**fields)
            _role(cursor, "DEFAULT")
        made.append((model._meta.db_table, row.pk))
        return row

    yield insert
    with connection.cursor() as cursor:
        _role(cursor, "replica")
        for table, pk in reversed(made):
            cursor.execute(f"DELETE FROM {table} WHERE id = %s", [pk])  # noqa: S608 - our table names
        _role(cursor, "DEFAULT")


def _fails_with(kind: str, row_text: str, capsys: Any) -> None:
    with pytest.raises(CommandError, match="data quality check failed") as failure:
        call_command("data_quality")
    assert kind in str(failure.value)
    err = capsys.readouterr().err
    assert f"{kind}: " in err
    assert row_text in err


def _posting(entry: JournalEntry, account: Account, **overrides: Any) -> dict[str, Any]:
    return {
        "entry_id": entry.pk,
        "account_id": account.pk,
        "amount": Decimal(0),
        "currency": account.currency,
        "balance_after": account.balance,
        **overrides,
    }


def test_a_clean_bank_passes(make_account, capsys):
    make_account(balance="100.00")
    make_account(currency="USD")
    call_command("data_quality")
    assert "data quality ok" in capsys.readouterr().out


def test_ledger_findings_come_from_check_ledger(make_account, capsys):
    account = make_account(balance="100.00")
    Account.objects.filter(pk=account.pk).update(balance=Decimal("90.00"))
    _fails_with("ledger: accounts whose balance differs from their postings", account.number, capsys)


def test_postings_whose_entry_is_missing(make_account, broken_rows, capsys):
    account = make_account(balance="10.00")
    entry = JournalEntry.objects.latest("pk")
    posting = broken_rows(Posting, **_posting(entry, account, entry_id=MISSING))
    _fails_with(
        "orphans: postings whose journal entry is missing", f"posting {posting.public_id} -> entry #{MISSING}", capsys
    )


def test_postings_whose_account_is_missing(make_account, broken_rows, capsys):
    account = make_account(balance="10.00")
    entry = JournalEntry.objects.latest("pk")
    posting = broken_rows(Posting, **_posting(entry, account, account_id=MISSING))
    _fails_with(
        "orphans: postings whose account is missing", f"posting {posting.public_id} -> account #{MISSING}", capsys
    )


def test_reversals_of_a_missing_entry(make_account, broken_rows, capsys):
    make_account(balance="10.00")
    entry = broken_rows(
        JournalEntry,
        kind="reversal",
        amount=Decimal(1),
        currency="CNY",
        channel="system",
        created_by="test",
        reverses_id=MISSING,
    )
    _fails_with("orphans: reversals of a missing entry", f"entry {entry.public_id} reverses entry #{MISSING}", capsys)


def test_accounts_whose_customer_is_missing(make_account, broken_rows, capsys):
    template = make_account()
    orphan = broken_rows(
        Account, number=f"ORPHAN{uuid.uuid4().hex[:8]}", customer_id=MISSING, product=template.product, currency="CNY"
    )
    _fails_with(
        "orphans: accounts whose customer is missing", f"account {orphan.number} -> customer #{MISSING}", capsys
    )


def test_holds_whose_account_is_missing(make_account, broken_rows, capsys):
    make_account()
    hold = broken_rows(Hold, account_id=MISSING, amount=Decimal(5), currency="CNY", status="released")
    _fails_with("orphans: holds whose account is missing", f"hold {hold.public_id} -> account #{MISSING}", capsys)


def test_postings_in_another_currency_than_their_account(make_account, broken_rows, capsys):
    account = make_account(balance="10.00")
    entry = JournalEntry.objects.latest("pk")
    posting = broken_rows(Posting, **_posting(entry, account, currency="USD"))
    _fails_with(
        "consistency: postings in another currency than their account",
        f"posting {posting.public_id} in USD on account {account.number} (CNY)",
        capsys,
    )


def test_open_accounts_of_customers_no_longer_verified(make_account, capsys):
    account = make_account()
    customer_decide_kyc(actor=SYSTEM_ACTOR, customer=account.customer, decision="rejected")
    _fails_with(
        "consistency: open accounts of customers whose KYC is not verified",
        f"account {account.number} of customer {account.customer.public_id} (rejected)",
        capsys,
    )


def test_verified_customers_missing_national_id(make_customer, capsys):
    customer = make_customer(kind="corporate")
    Customer.objects.filter(pk=customer.pk).update(national_id="", national_id_index="")
    _fails_with("kyc: verified customers without a national id", f"customer {customer.public_id} (corporate)", capsys)


def test_verified_individuals_missing_date_of_birth(make_customer, capsys):
    customer = make_customer()
    Customer.objects.filter(pk=customer.pk).update(date_of_birth="")
    _fails_with("kyc: verified individuals without a date of birth", f"customer {customer.public_id}", capsys)


def test_verified_customers_without_a_recorded_decision(make_customer, capsys):
    customer = make_customer()
    make_customer(verified=False)  # pending: nothing is missing yet
    Customer.objects.filter(pk=customer.pk).update(kyc_decided_by="")
    _fails_with(
        "kyc: verified customers without a recorded decision (who and when)", f"customer {customer.public_id}", capsys
    )
