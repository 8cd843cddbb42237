"""check_ledger proves the ledger: it passes a healthy bank and names what is wrong otherwise."""

from __future__ import annotations

import os
import subprocess
import sys
from decimal import Decimal
from io import StringIO
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection

from apps.accounts.models import Account, Hold, HoldStatus
from apps.accounts.services import hold_create
from apps.common.money import Money
from apps.common.principals import SYSTEM_ACTOR
from apps.transactions.models import EntryKind, JournalEntry, Posting
from apps.transactions.services import transfer_create, withdrawal_create


def _check() -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("check_ledger", stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def _check_fails() -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError, match="ledger check failed") as failure:
        call_command("check_ledger", stdout=out, stderr=err)
    return str(failure.value), err.getvalue()


def _set_cached(account: Account, **columns: Decimal) -> None:
    """Tamper with the cached balances behind the services' back, as a bad script would."""
    assignments = ", ".join(f"{column} = %s" for column in columns)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE accounts_account SET {assignments} WHERE id = %s", [*columns.values(), account.pk])  # noqa: S608 - column names are ours


@pytest.fixture
def bank(make_account: Any) -> dict[str, Account]:
    """A small healthy bank: deposits, a transfer, an active hold, a released hold."""
    alice, bob = make_account(balance="500.00"), make_account(balance="20.00")
    dollars = make_account(currency="USD", balance="75.50")
    transfer_create(
        actor=SYSTEM_ACTOR,
        from_account=alice.public_id,
        to_account=bob.public_id,
        money=Money(Decimal("120.30"), "CNY"),
    )
    hold_create(actor=SYSTEM_ACTOR, account=alice, amount=Money(Decimal("50.00"), "CNY"))
    Hold.objects.create(account=bob, amount=Decimal("7.00"), currency="CNY", status=HoldStatus.RELEASED)
    for account in (alice, bob, dollars):
        account.refresh_from_db()
    return {"alice": alice, "bob": bob, "dollars": dollars}


def test_check_ledger_passes_a_healthy_ledger_and_summarises_what_it_proved(bank):
    out, err = _check()
    entries, accounts = JournalEntry.objects.count(), Account.objects.count()
    assert entries >= 4
    assert out.strip() == f"ledger ok: {entries} entries balance, {accounts} accounts match their postings"
    assert err == ""


def test_check_ledger_fails_on_a_tampered_cached_balance_and_names_the_account(bank):
    bob = bank["bob"]
    _set_cached(bob, balance=bob.balance + Decimal("1000.00"))

    reason, err = _check_fails()

    assert "1 accounts whose balance differs from their postings" in reason
    assert f"{bob.number}: cached {bob.balance + Decimal('1000.00')}" in err
    assert bank["alice"].number not in err
    assert bank["dollars"].number not in err


def test_check_ledger_reports_an_active_hold_that_available_does_not_reflect(bank):
    dollars = bank["dollars"]
    Hold.objects.create(account=dollars, amount=Decimal("5.00"), currency="USD")  # available left at 75.50

    reason, err = _check_fails()

    assert "1 accounts whose available amount differs from balance minus holds" in reason
    assert f"{dollars.number}: cached available 75.5" in err
    assert "expected 70.5" in err
    assert "balance differs" not in reason  # the balance itself is right


def test_check_ledger_reports_available_that_ignores_an_active_hold(bank):
    alice = bank["alice"]  # holds 50.00: available is balance - 50
    _set_cached(alice, available=alice.balance)

    reason, err = _check_fails()

    assert "1 accounts whose available amount differs" in reason
    assert alice.number in err


def test_check_ledger_reports_an_entry_whose_postings_do_not_balance(bank):
    """On SQLite nothing but the services stops such a posting. On PostgreSQL the deferred trigger
    refuses it at commit (test_ledger_guards), so the trigger is switched off here, inside this
    test's transaction, which is rolled back at the end, trigger switch included."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # run the checks the fixture's postings queued
            cursor.execute("ALTER TABLE transactions_posting DISABLE TRIGGER posting_entry_balanced")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    entry = JournalEntry.objects.create(
        kind=EntryKind.DEPOSIT, amount=Decimal("3.00"), currency="CNY", channel="system"
    )
    Posting.objects.create(
        entry=entry, account=bank["bob"], amount=Decimal("3.00"), currency="CNY", balance_after=Decimal(0)
    )

    reason, err = _check_fails()

    assert "1 unbalanced entries" in reason
    assert f"unbalanced entries: {entry.public_id} CNY off by 3" in err
    assert bank["bob"].number in err  # and bob's cached balance no longer matches his postings


def test_check_ledger_reports_an_entry_with_fewer_than_two_postings(bank):
    entry = JournalEntry.objects.create(
        kind=EntryKind.DEPOSIT, amount=Decimal("1.00"), currency="CNY", channel="system"
    )

    reason, err = _check_fails()

    assert reason == "ledger check failed: 1 entries with fewer than two postings"
    assert f"{entry.public_id} has 0 posting(s)" in err


def test_check_ledger_reports_postings_in_fractions_of_a_minor_unit(bank):
    entry = JournalEntry.objects.create(
        kind=EntryKind.TRANSFER, amount=Decimal("0.005"), currency="CNY", channel="system"
    )
    postings = [
        Posting.objects.create(entry=entry, account=bank[name], amount=Decimal(amount), currency="CNY", balance_after=0)
        for name, amount in (("alice", "-0.005"), ("bob", "0.005"))
    ]

    reason, err = _check_fails()

    assert "2 postings with fractions of a minor unit" in reason
    assert all(str(posting.public_id) in err for posting in postings)
    assert "unbalanced" not in reason


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_manage_py_check_ledger_exits_non_zero_with_a_one_line_reason_when_a_balance_is_tampered(bank):
    """The operator's view: the real command line, against this committed test database."""
    db = settings.DATABASES["default"]
    url = "postgres://{user}:{password}@{host}:{port}/{name}".format(
        user=quote(db["USER"] or ""),
        password=quote(db["PASSWORD"] or ""),
        host=db["HOST"] or "127.0.0.1",
        port=db["PORT"] or 5432,
        name=connection.settings_dict["NAME"],
    )
    env = {k: v for k, v in os.environ.items() if k not in {"DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE"}} | {
        "DATABASE_URL": url
    }
    manage = Path(settings.BASE_DIR) / "manage.py"

    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(manage), "check_ledger"], env=env, capture_output=True, text=True, timeout=120
        )

    healthy = run()
    assert healthy.returncode == 0, healthy.stderr
    assert healthy.stdout.startswith("ledger ok:")

    _set_cached(bank["alice"], balance=Decimal("0.01"))
    tampered = run()

    assert tampered.returncode != 0
    last_line = tampered.stderr.strip().splitlines()[-1]
    assert last_line == "CommandError: ledger check failed: 1 accounts whose balance differs from their postings"
    assert bank["alice"].number in tampered.stderr


def test_balances_whose_sum_is_inexact_in_floating_point_still_pass(make_account):
    """SQLite sums NUMERIC columns as floats: 100000.00 - 99999.93 comes back as 0.0699999999924."""
    account = make_account(balance="100000.00")
    withdrawal_create(actor=SYSTEM_ACTOR, account=account.public_id, money=Money(Decimal("99999.93"), "CNY"))
    account.refresh_from_db()
    assert account.balance == Decimal("0.07")
    out, err = _check()
    assert "ledger ok" in out
    assert err == ""
