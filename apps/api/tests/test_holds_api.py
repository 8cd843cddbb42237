"""Holds through the REST API: reserve funds (available drops, balance stays), capture all or
part (the balance drops, the rest is released), release, and expiry.

Every refused request proves that nothing changed: holds, balances, ledger rows.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from apps.accounts.models import Account, GlCode, Hold
from apps.accounts.services import holds_release_expired
from apps.common.models import IdempotencyRecord
from apps.transactions.ledger_check import ledger_check
from apps.transactions.models import EntryKind, JournalEntry, Posting
from tests.support import assert_problem


def state() -> tuple[Any, ...]:
    return (
        sorted(Hold.objects.values_list("pk", "status", "captured_amount", "closed_at")),
        sorted(Account.objects.values_list("pk", "status", "balance", "available")),
        JournalEntry.objects.count(),
        Posting.objects.count(),
    )


def money_of(account: Account) -> tuple[Decimal, Decimal]:
    account.refresh_from_db()
    return account.balance, account.available


def hold_body(account: Account, amount: str = "30.00", **extra: Any) -> dict[str, Any]:
    return {"account": str(account.public_id), "amount": amount, "currency": account.currency, **extra}


def place(api: Any, account: Account, amount: str = "30.00", **extra: Any) -> dict[str, Any]:
    response = api.post("/api/v1/holds/", hold_body(account, amount, **extra))
    assert response.status_code == 201, response.content
    return response.json()


# --- placing a hold ---------------------------------------------------------------------------


def test_a_hold_reduces_available_but_not_the_balance(api, make_account):
    account = make_account(balance="100")
    body = place(api, account, "30.00", reference="card auth 1")
    assert body["status"] == "active"
    assert body["amount"] == "30.00"
    assert body["captured_amount"] == "0.00"
    assert body["currency"] == "CNY"
    assert body["account"] == str(account.public_id)
    assert body["reference"] == "card auth 1"
    assert money_of(account) == (Decimal("100"), Decimal("70"))
    shown = api.get(f"/api/v1/accounts/{account.public_id}/").json()
    assert (shown["balance"], shown["available"]) == ("100.00", "70.00")
    assert api.get(f"/api/v1/holds/{body['id']}/").json() == body
    assert not JournalEntry.objects.filter(postings__account=account).exclude(kind=EntryKind.DEPOSIT).exists()


def test_a_hold_needs_an_idempotency_key(api, make_account):
    account = make_account(balance="100")
    before = state()
    assert_problem(api.post("/api/v1/holds/", hold_body(account), key=None), 400, "idempotency_key_required")
    assert state() == before


def test_a_hold_replayed_with_its_key_is_placed_once(api, make_account):
    account = make_account(balance="100")
    first = api.post("/api/v1/holds/", hold_body(account), key="hold-1")
    again = api.post("/api/v1/holds/", hold_body(account), key="hold-1")
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert Hold.objects.filter(account=account).count() == 1
    assert money_of(account) == (Decimal("100"), Decimal("70"))


def test_a_hold_beyond_the_available_balance_is_refused(api, make_account):
    account = make_account(balance="100")
    place(api, account, "60.00")
    before = state()
    assert_problem(api.post("/api/v1/holds/", hold_body(account, "40.01")), 422, "insufficient_funds")
    assert state() == before
    assert money_of(account) == (Decimal("100"), Decimal("40"))


def test_held_funds_cannot_be_spent_elsewhere(api, make_account):
    account = make_account(balance="100")
    other = make_account()
    place(api, account, "60.00")
    before = state()
    refused = api.post(
        "/api/v1/transfers/",
        {
            "from_account": str(account.public_id),
            "to_account": str(other.public_id),
            "amount": "40.01",
            "currency": "CNY",
        },
    )
    assert_problem(refused, 422, "insufficient_funds")
    withdrawal = api.post("/api/v1/withdrawals/", hold_body(account, "50.00"))
    assert_problem(withdrawal, 422, "insufficient_funds")
    assert state() == before


def test_a_hold_in_another_currency_is_refused(api, make_account):
    account = make_account(balance="100")
    before = state()
    body = {**hold_body(account), "currency": "USD"}
    assert_problem(api.post("/api/v1/holds/", body), 422, "currency_mismatch")
    assert state() == before


@pytest.mark.parametrize(
    ("change", "field"),
    [
        pytest.param({"amount": "0"}, "amount", id="zero"),
        pytest.param({"amount": "-5"}, "amount", id="negative"),
        pytest.param({"amount": "1.001"}, "amount", id="too-many-decimals"),
        pytest.param({"currency": "XYZ"}, "currency", id="unknown-currency"),
        pytest.param({"account": "nope"}, "account", id="account-not-a-uuid"),
        pytest.param({"reference": "r" * 141}, "reference", id="reference-too-long"),
        pytest.param({"expires_at": "soon"}, "expires_at", id="expiry-not-a-time"),
        pytest.param({"expires_at": "2000-01-01T00:00:00Z"}, "expires_at", id="expiry-in-the-past"),
    ],
)
def test_an_invalid_hold_is_refused_with_400(api, make_account, change, field):
    account = make_account(balance="100")
    before = state()
    problem = assert_problem(api.post("/api/v1/holds/", {**hold_body(account), **change}), 400, "validation_error")
    assert field in problem["errors"]
    assert state() == before


def test_a_hold_on_an_unknown_account_answers_404(api):
    before = state()
    body = {"account": str(uuid.uuid4()), "amount": "1.00", "currency": "CNY"}
    assert_problem(api.post("/api/v1/holds/", body), 404, "not_found")
    assert state() == before


def test_get_an_unknown_hold_answers_404(api):
    assert_problem(api.get(f"/api/v1/holds/{uuid.uuid4()}/"), 404, "not_found")


# --- capture ----------------------------------------------------------------------------------


def capture(api: Any, hold_id: str, body: dict[str, Any] | None = None, **kwargs: Any) -> Any:
    return api.post(f"/api/v1/holds/{hold_id}/capture/", body or {}, **kwargs)


def test_capturing_a_whole_hold_debits_the_account_into_clearing(api, make_account):
    account = make_account(balance="100")
    hold = place(api, account, "30.00", reference="order 7")
    response = capture(api, hold["id"])
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["kind"] == "hold_capture"
    assert body["status"] == "posted"
    assert body["amount"] == "30.00"
    assert body["reference"] == "order 7"
    clearing = Account.objects.get(is_internal=True, gl_code=GlCode.CLEARING, currency="CNY")
    legs = {p["account"]: p["amount"] for p in body["postings"]}
    assert legs == {str(account.public_id): "-30.00", str(clearing.public_id): "30.00"}
    entry = JournalEntry.objects.get(public_id=body["id"])
    assert entry.kind == EntryKind.HOLD_CAPTURE
    assert money_of(account) == (Decimal("70"), Decimal("70"))
    shown = api.get(f"/api/v1/holds/{hold['id']}/").json()
    assert (shown["status"], shown["captured_amount"]) == ("captured", "30.00")
    assert shown["closed_at"] is not None
    history = api.get(f"/api/v1/accounts/{account.public_id}/transactions/").json()["results"]
    assert (history[0]["kind"], history[0]["amount"], history[0]["balance_after"]) == (
        "hold_capture",
        "-30.00",
        "70.00",
    )
    assert ledger_check().ok


def test_capturing_part_of_a_hold_releases_the_rest(api, make_account):
    account = make_account(balance="100")
    other_hold = place(api, account, "10.00")
    hold = place(api, account, "30.00")
    assert money_of(account) == (Decimal("100"), Decimal("60"))
    response = capture(api, hold["id"], {"amount": "12.50", "reference": "partial shipment"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["kind"], body["amount"], body["reference"]) == ("hold_capture", "12.50", "partial shipment")
    assert money_of(account) == (Decimal("87.50"), Decimal("77.50"))  # the other hold still reserves 10
    shown = api.get(f"/api/v1/holds/{hold['id']}/").json()
    assert (shown["status"], shown["amount"], shown["captured_amount"]) == ("captured", "30.00", "12.50")
    assert api.get(f"/api/v1/holds/{other_hold['id']}/").json()["status"] == "active"
    assert ledger_check().ok


def test_a_capture_needs_an_idempotency_key(api, make_account):
    account = make_account(balance="100")
    hold = place(api, account)
    before = state()
    assert_problem(capture(api, hold["id"], key=None), 400, "idempotency_key_required")
    assert state() == before


@pytest.mark.parametrize("amount", ["30.01", "0", "0.001", "-1", "abc"])
def test_a_capture_of_an_impossible_amount_is_refused(api, make_account, amount):
    account = make_account(balance="100")
    hold = place(api, account)
    before = state()
    problem = assert_problem(capture(api, hold["id"], {"amount": amount}), 400, "validation_error")
    assert "amount" in problem["errors"]
    assert state() == before


def test_a_capture_refused_as_invalid_is_not_stored_and_its_key_works_once_fixed(api, make_account):
    account = make_account(balance="100")
    hold = place(api, account, "30.00")
    before = state()
    assert_problem(capture(api, hold["id"], {"amount": "30.01"}, key="cap-1"), 400, "validation_error")
    assert state() == before
    assert not IdempotencyRecord.objects.filter(key="cap-1").exists()
    fixed = capture(api, hold["id"], {"amount": "30.00"}, key="cap-1")
    assert fixed.status_code == 201, fixed.content
    assert money_of(account) == (Decimal("70"), Decimal("70"))


def test_capturing_on_a_frozen_account_is_refused(api, make_account):
    account = make_account(balance="100")
    hold = place(api, account)
    assert api.post(f"/api/v1/accounts/{account.public_id}/freeze/", {}, key=None).status_code == 200
    before = state()
    assert_problem(capture(api, hold["id"]), 422, "account_not_active")
    assert state() == before


# --- release and the end of a hold ------------------------------------------------------------


def release(api: Any, hold_id: str) -> Any:
    return api.post(f"/api/v1/holds/{hold_id}/release/", {}, key=None)


def test_releasing_a_hold_gives_the_funds_back_and_moves_no_money(api, make_account):
    account = make_account(balance="100")
    hold = place(api, account)
    entries = JournalEntry.objects.count()
    response = release(api, hold["id"])
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["captured_amount"]) == ("released", "0.00")
    assert body["closed_at"] is not None
    assert money_of(account) == (Decimal("100"), Decimal("100"))
    assert JournalEntry.objects.count() == entries
    assert ledger_check().ok


@pytest.mark.parametrize(
    ("first", "second"),
    [("capture", "capture"), ("capture", "release"), ("release", "release"), ("release", "capture")],
)
def test_a_hold_that_is_no_longer_active_answers_409(api, make_account, first, second):
    account = make_account(balance="100")
    hold = place(api, account)
    actions = {"capture": lambda: capture(api, hold["id"]), "release": lambda: release(api, hold["id"])}
    assert actions[first]().status_code in (200, 201)
    before = state()
    assert_problem(actions[second](), 409, "hold_not_active")
    assert state() == before


@pytest.mark.parametrize("action", ["capture", "release"])
def test_an_unknown_hold_cannot_be_captured_or_released(api, action):
    before = state()
    assert_problem(api.post(f"/api/v1/holds/{uuid.uuid4()}/{action}/", {}), 404, "not_found")
    assert state() == before


def test_expired_holds_are_released_by_the_sweep_and_available_is_restored(api, make_account):
    account = make_account(balance="100")
    soon = timezone.now() + dt.timedelta(hours=1)
    expiring = place(api, account, "30.00", expires_at=soon.isoformat())
    lasting = place(api, account, "20.00", expires_at=(soon + dt.timedelta(days=1)).isoformat())
    open_ended = place(api, account, "10.00")
    assert money_of(account) == (Decimal("100"), Decimal("40"))

    assert holds_release_expired(now=soon + dt.timedelta(minutes=1)) == 1

    assert api.get(f"/api/v1/holds/{expiring['id']}/").json()["status"] == "expired"
    assert api.get(f"/api/v1/holds/{lasting['id']}/").json()["status"] == "active"
    assert api.get(f"/api/v1/holds/{open_ended['id']}/").json()["status"] == "active"
    assert money_of(account) == (Decimal("100"), Decimal("70"))
    before = state()
    assert_problem(capture(api, expiring["id"]), 409, "hold_not_active")
    assert_problem(release(api, expiring["id"]), 409, "hold_not_active")
    assert state() == before
    assert holds_release_expired(now=soon + dt.timedelta(minutes=1)) == 0
    assert ledger_check().ok
