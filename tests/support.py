"""Assertions shared by the API tests."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

PROBLEM_FIELDS = {"type", "title", "status", "detail", "code"}


def assert_problem(response: Any, status: int, code: str) -> dict[str, Any]:
    """The response is an RFC 9457 problem with this status and stable code; returns its body."""
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"] == "application/problem+json"
    body = json.loads(response.content)
    assert set(body) >= PROBLEM_FIELDS
    assert body["status"] == status
    assert body["code"] == code
    for field in ("type", "title"):
        assert isinstance(body[field], str)
        assert body[field]
    assert isinstance(body["detail"], str)
    return body


def ledger_state() -> tuple[int, int, list[tuple[Any, ...]]]:
    """Everything a movement could change: entries, postings, every account's balances and status."""
    from apps.accounts.models import Account
    from apps.transactions.models import JournalEntry, Posting

    return (
        JournalEntry.objects.count(),
        Posting.objects.count(),
        sorted(Account.objects.values_list("pk", "balance", "available", "status")),
    )


def balance(account: Any) -> Decimal:
    """The account's balance as the database holds it now."""
    account.refresh_from_db()
    return Decimal(account.balance)
