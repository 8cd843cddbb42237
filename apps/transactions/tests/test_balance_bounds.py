"""Balances stay within what the ledger's NUMERIC(20, 4) columns hold: refused, never a 500."""

from decimal import Decimal

from apps.transactions.models import JournalEntry
from apps.transactions.services import MAX_BALANCE


def test_deposit_that_would_overflow_the_balance_column_is_refused_and_changes_nothing(api, make_account):
    account = make_account(currency="USD")
    big = "999999999999999"
    first = api.post("/api/v1/deposits/", {"account": str(account.public_id), "amount": big, "currency": "USD"})
    assert first.status_code == 201, first.content
    entries = JournalEntry.objects.count()
    second = api.post("/api/v1/deposits/", {"account": str(account.public_id), "amount": big, "currency": "USD"})
    assert second.status_code == 422
    assert second.json()["code"] == "limit_exceeded"
    account.refresh_from_db()
    assert account.balance == Decimal(big) <= MAX_BALANCE
    assert JournalEntry.objects.count() == entries
