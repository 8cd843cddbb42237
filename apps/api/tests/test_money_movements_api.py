"""Deposits, withdrawals, transfers and reversals through the REST API (API.md), refusals included.

Every refused request proves that nothing changed: balances, ledger rows and, for malformed
requests (400), stored idempotency records.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import pytest

from apps.accounts.models import Account
from apps.accounts.services import account_close, account_freeze
from apps.common.models import IdempotencyRecord
from apps.common.principals import SYSTEM_ACTOR
from apps.transactions.ledger_check import ledger_check
from apps.transactions.models import JournalEntry
from tests.support import assert_problem, balance, ledger_state


def transfer_body(source: Account, target: Account, amount: str = "10.00", currency: str = "CNY") -> dict[str, str]:
    return {
        "from_account": str(source.public_id),
        "to_account": str(target.public_id),
        "amount": amount,
        "currency": currency,
    }


def cash_body(account: Account, amount: str = "10.00", currency: str = "CNY") -> dict[str, str]:
    return {"account": str(account.public_id), "amount": amount, "currency": currency}


def assert_transaction_shape(body: dict[str, Any]) -> None:
    assert {"id", "kind", "status", "amount", "currency", "reference", "created_at", "postings"} <= set(body)
    uuid.UUID(body["id"])
    created = dt.datetime.fromisoformat(body["created_at"].replace("Z", "+00:00"))
    assert created.tzinfo is not None
    assert len(body["postings"]) >= 2
    for posting in body["postings"]:
        assert {"id", "account", "amount", "balance_after"} <= set(posting)
        uuid.UUID(posting["id"])
        uuid.UUID(posting["account"])
        assert isinstance(posting["amount"], str)
        assert isinstance(posting["balance_after"], str)
    # A bank-wide client sees every leg: they sum to zero.
    assert sum(Decimal(p["amount"]) for p in body["postings"]) == 0


def posting_on(body: dict[str, Any], account: Account) -> dict[str, Any]:
    (posting,) = [p for p in body["postings"] if p["account"] == str(account.public_id)]
    return posting


# --- the happy paths -----------------------------------------------------------------------


def test_deposit_answers_201_with_the_transaction_and_its_postings(api, make_account):
    account = make_account()
    before = JournalEntry.objects.count()
    response = api.post("/api/v1/deposits/", {**cash_body(account, "1250.50"), "reference": "counter 3"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert_transaction_shape(body)
    assert body["kind"] == "deposit"
    assert body["status"] == "posted"
    assert body["amount"] == "1250.50"
    assert body["currency"] == "CNY"
    assert body["reference"] == "counter 3"
    assert posting_on(body, account) == {
        "id": posting_on(body, account)["id"],
        "account": str(account.public_id),
        "amount": "1250.50",
        "balance_after": "1250.50",
    }
    assert balance(account) == Decimal("1250.50")
    assert JournalEntry.objects.count() == before + 1
    assert ledger_check().ok


def test_withdrawal_debits_the_account_with_a_negative_posting(api, make_account):
    account = make_account(balance="100")
    response = api.post("/api/v1/withdrawals/", cash_body(account, "30.25"))
    assert response.status_code == 201, response.content
    body = response.json()
    assert_transaction_shape(body)
    assert body["kind"] == "withdrawal"
    assert body["amount"] == "30.25"
    assert posting_on(body, account)["amount"] == "-30.25"
    assert posting_on(body, account)["balance_after"] == "69.75"
    assert balance(account) == Decimal("69.75")
    assert ledger_check().ok


def test_transfer_debits_the_source_and_credits_the_destination(api, make_account):
    source = make_account(balance="1000.50")
    target = make_account(balance="1")
    response = api.post("/api/v1/transfers/", {**transfer_body(source, target, "100.25"), "reference": "rent"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert_transaction_shape(body)
    assert body["kind"] == "transfer"
    assert body["status"] == "posted"
    assert body["amount"] == "100.25"
    assert body["reference"] == "rent"
    assert len(body["postings"]) == 2
    assert posting_on(body, source)["amount"] == "-100.25"
    assert posting_on(body, source)["balance_after"] == "900.25"
    assert posting_on(body, target)["amount"] == "100.25"
    assert posting_on(body, target)["balance_after"] == "101.25"
    assert api.get(f"/api/v1/accounts/{source.public_id}/").json()["balance"] == "900.25"
    assert api.get(f"/api/v1/accounts/{target.public_id}/").json()["available"] == "101.25"
    assert ledger_check().ok


def test_the_whole_balance_can_be_transferred(api, make_account):
    source = make_account(balance="10.01")
    target = make_account()
    response = api.post("/api/v1/transfers/", transfer_body(source, target, "10.01"))
    assert response.status_code == 201, response.content
    assert balance(source) == 0
    assert balance(target) == Decimal("10.01")


def test_get_transaction_shows_what_the_post_answered(api, make_account):
    source = make_account(balance="50")
    target = make_account()
    posted = api.post("/api/v1/transfers/", {**transfer_body(source, target, "7.5"), "reference": "lunch"}).json()
    response = api.get(f"/api/v1/transactions/{posted['id']}/")
    assert response.status_code == 200
    body = response.json()
    assert_transaction_shape(body)
    for field in ("id", "kind", "status", "amount", "currency", "reference", "created_at"):
        assert body[field] == posted[field]
    assert body["amount"] == "7.50"
    assert sorted(body["postings"], key=lambda p: p["id"]) == sorted(posted["postings"], key=lambda p: p["id"])


def test_get_unknown_transaction_answers_404(api):
    assert_problem(api.get(f"/api/v1/transactions/{uuid.uuid4()}/"), 404, "not_found")


def test_get_transaction_of_another_customer_answers_404_to_a_bound_client(api, make_api, make_customer, make_account):
    source = make_account(balance="50")
    target = make_account()
    posted = api.post("/api/v1/transfers/", transfer_body(source, target, "5")).json()
    stranger = make_api(customer=make_customer())
    assert_problem(stranger.get(f"/api/v1/transactions/{posted['id']}/"), 404, "not_found")


def test_jpy_amounts_have_no_decimals(api, make_account):
    account = make_account(currency="JPY")
    response = api.post("/api/v1/deposits/", cash_body(account, "1250", "JPY"))
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["amount"] == "1250"
    assert body["currency"] == "JPY"
    assert posting_on(body, account) | {"id": ""} == {
        "id": "",
        "account": str(account.public_id),
        "amount": "1250",
        "balance_after": "1250",
    }
    assert api.get(f"/api/v1/accounts/{account.public_id}/").json()["balance"] == "1250"


@pytest.mark.parametrize("amount", ["1250.5", "1250.0", "0.5"])
def test_jpy_amounts_with_decimals_are_refused(api, make_account, amount):
    account = make_account(currency="JPY", balance="5000")
    before, records = ledger_state(), IdempotencyRecord.objects.count()
    body = assert_problem(api.post("/api/v1/deposits/", cash_body(account, amount, "JPY")), 400, "validation_error")
    assert "amount" in body["errors"]
    assert ledger_state() == before
    assert IdempotencyRecord.objects.count() == records


@pytest.mark.parametrize(("literal", "expected"), [("10.25", "10.25"), ("10", "10.00"), ("0.3", "0.30")])
def test_a_json_number_amount_is_read_from_its_literal_text(api, make_account, literal, expected):
    account = make_account()
    raw = f'{{"account": "{account.public_id}", "amount": {literal}, "currency": "CNY"}}'
    response = api.post("/api/v1/deposits/", raw=raw)
    assert response.status_code == 201, response.content
    assert response.json()["amount"] == expected
    assert balance(account) == Decimal(literal)


@pytest.mark.parametrize("literal", ["1e2", "1E2", "10.0e0", "-5", "10.255", "0", "0.00", "12345678901234567"])
def test_a_json_number_amount_outside_the_rule_is_refused(api, make_account, literal):
    account = make_account(balance="500")
    before, records = ledger_state(), IdempotencyRecord.objects.count()
    raw = f'{{"account": "{account.public_id}", "amount": {literal}, "currency": "CNY"}}'
    body = assert_problem(api.post("/api/v1/withdrawals/", raw=raw), 400, "validation_error")
    assert "amount" in body["errors"]
    assert ledger_state() == before
    assert IdempotencyRecord.objects.count() == records


def test_a_reference_of_140_characters_is_kept(api, make_account):
    account = make_account()
    reference = "参" * 140
    response = api.post("/api/v1/deposits/", {**cash_body(account), "reference": reference})
    assert response.status_code == 201, response.content
    assert response.json()["reference"] == reference
    assert api.get(f"/api/v1/transactions/{response.json()['id']}/").json()["reference"] == reference


# --- refusals: 400 validation_error --------------------------------------------------------

BAD_AMOUNTS = [
    ("1.000", "too many decimals"),
    ("1.001", "too many decimals"),
    ("0", "zero"),
    ("0.00", "zero"),
    ("-1", "negative"),
    ("-0.01", "negative"),
    ("+1", "sign"),
    ("1e3", "exponent"),
    (" 1", "space"),
    ("1,000", "separator"),
    ("\uff11", "full-width digit"),
    ("1234567890123456", "16 integer digits"),
    ("", "empty"),
    ("abc", "not a number"),
]


@pytest.mark.parametrize(
    ("path", "make_body"),
    [
        ("/api/v1/deposits/", lambda a, b, amount, cur: cash_body(a, amount, cur)),
        ("/api/v1/withdrawals/", lambda a, b, amount, cur: cash_body(a, amount, cur)),
        ("/api/v1/transfers/", lambda a, b, amount, cur: transfer_body(a, b, amount, cur)),
    ],
)
@pytest.mark.parametrize(("amount", "why"), BAD_AMOUNTS)
def test_a_bad_amount_is_refused_with_validation_error_and_nothing_changes(
    api, make_account, path, make_body, amount, why
):
    source = make_account(balance="5000")
    target = make_account()
    before, records = ledger_state(), IdempotencyRecord.objects.count()
    body = assert_problem(api.post(path, make_body(source, target, amount, "CNY")), 400, "validation_error")
    assert "amount" in body["errors"], why
    assert ledger_state() == before
    assert IdempotencyRecord.objects.count() == records


@pytest.mark.parametrize("value", [None, True, [], ["10"], {"value": "10"}])
def test_an_amount_that_is_not_text_or_number_is_refused(api, make_account, value):
    source = make_account(balance="100")
    target = make_account()
    before, records = ledger_state(), IdempotencyRecord.objects.count()
    response = api.post("/api/v1/transfers/", {**transfer_body(source, target), "amount": value})
    body = assert_problem(response, 400, "validation_error")
    assert "amount" in body["errors"]
    assert ledger_state() == before
    assert IdempotencyRecord.objects.count() == records


@pytest.mark.parametrize("currency", ["XYZ", "BTC", "cny", "CN", "CNYY", "", "人民币", None, 156])
def test_an_unknown_or_unsupported_currency_is_a_validation_error(api, make_account, currency):
    source = make_account(balance="100")
    target = make_account()
    before, records = ledger_state(), IdempotencyRecord.objects.count()
    for path, body in [
        ("/api/v1/deposits/", {**cash_body(source), "currency": currency}),
        ("/api/v1/withdrawals/", {**cash_body(source), "currency": currency}),
        ("/api/v1/transfers/", {**transfer_body(source, target), "currency": currency}),
    ]:
        problem = assert_problem(api.post(path, body), 400, "validation_error")
        assert "currency" in problem["errors"]
    assert ledger_state() == before
    assert IdempotencyRecord.objects.count() == records


def test_a_reference_of_141_characters_is_refused(api, make_account):
    source = make_account(balance="100")
    target = make_account()
    before, records = ledger_state(), IdempotencyRecord.objects.count()
    for path, body in [
        ("/api/v1/deposits/", cash_body(source)),
        ("/api/v1/withdrawals/", cash_body(source)),
        ("/api/v1/transfers/", transfer_body(source, target)),
    ]:
        problem = assert_problem(api.post(path, {**body, "reference": "r" * 141}), 400, "validation_error")
        assert "reference" in problem["errors"]
    assert ledger_state() == before
    assert IdempotencyRecord.objects.count() == records


@pytest.mark.parametrize("field", ["from_account", "to_account", "amount", "currency"])
def test_a_transfer_missing_a_field_is_refused(api, make_account, field):
    source = make_account(balance="100")
    target = make_account()
    body = transfer_body(source, target)
    del body[field]
    before, records = ledger_state(), IdempotencyRecord.objects.count()
    problem = assert_problem(api.post("/api/v1/transfers/", body), 400, "validation_error")
    assert field in problem["errors"]
    assert ledger_state() == before
    assert IdempotencyRecord.objects.count() == records


@pytest.mark.parametrize("account_id", ["not-a-uuid", "", 12, None, "00000000-0000-0000-0000-00000000000g"])
def test_an_account_id_that_is_not_a_uuid_is_a_validation_error(api, make_account, account_id):
    make_account(balance="100")
    before, records = ledger_state(), IdempotencyRecord.objects.count()
    problem = assert_problem(
        api.post("/api/v1/deposits/", {"account": account_id, "amount": "1", "currency": "CNY"}),
        400,
        "validation_error",
    )
    assert "account" in problem["errors"]
    assert ledger_state() == before
    assert IdempotencyRecord.objects.count() == records


# --- refusals: 404 and 422 -----------------------------------------------------------------


def test_an_unknown_account_answers_404_and_nothing_moves(api, make_account):
    account = make_account(balance="100")
    missing = str(uuid.uuid4())
    before = ledger_state()
    for path, body in [
        ("/api/v1/deposits/", {**cash_body(account), "account": missing}),
        ("/api/v1/withdrawals/", {**cash_body(account), "account": missing}),
        ("/api/v1/transfers/", {**transfer_body(account, account), "from_account": missing}),
        ("/api/v1/transfers/", {**transfer_body(account, account), "to_account": missing}),
    ]:
        assert_problem(api.post(path, body), 404, "not_found")
    assert ledger_state() == before


def test_a_gl_account_is_not_a_customer_account_of_the_api(api, make_account):
    account = make_account(balance="100")
    vault = Account.objects.filter(is_internal=True, currency="CNY").first()
    assert vault is not None
    before = ledger_state()
    assert_problem(api.post("/api/v1/transfers/", transfer_body(account, vault)), 404, "not_found")
    assert_problem(api.post("/api/v1/transfers/", transfer_body(vault, account)), 404, "not_found")
    assert_problem(api.post("/api/v1/withdrawals/", cash_body(vault)), 404, "not_found")
    assert ledger_state() == before


def test_a_transfer_beyond_the_available_balance_is_refused_with_insufficient_funds(api, make_account):
    source = make_account(balance="100")
    target = make_account()
    before = ledger_state()
    body = assert_problem(
        api.post("/api/v1/transfers/", transfer_body(source, target, "100.01")), 422, "insufficient_funds"
    )
    assert body["detail"]
    assert_problem(api.post("/api/v1/withdrawals/", cash_body(source, "100.01")), 422, "insufficient_funds")
    assert ledger_state() == before
    assert balance(source) == Decimal("100")
    assert balance(target) == 0


def test_an_empty_account_cannot_send_anything(api, make_account):
    source = make_account()
    target = make_account()
    before = ledger_state()
    assert_problem(api.post("/api/v1/transfers/", transfer_body(source, target, "0.01")), 422, "insufficient_funds")
    assert ledger_state() == before


@pytest.mark.parametrize("side", ["source", "destination"])
def test_a_transfer_in_a_currency_that_is_not_the_accounts_is_refused(api, make_account, side):
    cny = make_account(currency="CNY", balance="100")
    usd = make_account(currency="USD", balance="100")
    before = ledger_state()
    if side == "source":
        # USD from a CNY account to a USD account: the source does not hold USD.
        response = api.post("/api/v1/transfers/", transfer_body(cny, usd, "1", "USD"))
    else:
        # CNY from a CNY account to a USD account: the destination does not hold CNY.
        response = api.post("/api/v1/transfers/", transfer_body(cny, usd, "1", "CNY"))
    body = assert_problem(response, 422, "currency_mismatch")
    assert body["account"] == str(cny.public_id if side == "source" else usd.public_id)
    assert ledger_state() == before


@pytest.mark.parametrize("path", ["/api/v1/deposits/", "/api/v1/withdrawals/"])
def test_cash_in_a_currency_that_is_not_the_accounts_is_refused(api, make_account, path):
    account = make_account(currency="CNY", balance="100")
    before = ledger_state()
    assert_problem(api.post(path, cash_body(account, "1", "EUR")), 422, "currency_mismatch")
    assert_problem(api.post(path, cash_body(account, "1", "JPY")), 422, "currency_mismatch")
    assert ledger_state() == before


@pytest.mark.parametrize("state", ["frozen", "closed"])
@pytest.mark.parametrize("side", ["source", "destination"])
def test_a_transfer_touching_an_inactive_account_is_refused(api, make_account, state, side):
    source = make_account(balance="0" if (state == "closed" and side == "source") else "100")
    target = make_account()
    inactive = source if side == "source" else target
    if state == "frozen":
        account_freeze(actor=SYSTEM_ACTOR, account=inactive, reason="test")
    else:
        account_close(actor=SYSTEM_ACTOR, account=inactive, reason="test")
    before = ledger_state()
    body = assert_problem(api.post("/api/v1/transfers/", transfer_body(source, target, "1")), 422, "account_not_active")
    assert body["account"] == str(inactive.public_id)
    assert ledger_state() == before


@pytest.mark.parametrize("state", ["frozen", "closed"])
def test_cash_on_an_inactive_account_is_refused(api, make_account, state):
    account = make_account()
    if state == "frozen":
        account_freeze(actor=SYSTEM_ACTOR, account=account, reason="test")
    else:
        account_close(actor=SYSTEM_ACTOR, account=account, reason="test")
    before = ledger_state()
    assert_problem(api.post("/api/v1/deposits/", cash_body(account, "1")), 422, "account_not_active")
    assert_problem(api.post("/api/v1/withdrawals/", cash_body(account, "1")), 422, "account_not_active")
    assert ledger_state() == before


def test_a_transfer_to_the_same_account_is_refused(api, make_account):
    account = make_account(balance="100")
    before = ledger_state()
    assert_problem(api.post("/api/v1/transfers/", transfer_body(account, account, "1")), 422, "same_account")
    assert ledger_state() == before


def test_a_bound_client_cannot_send_from_another_customers_account(make_api, make_customer, make_account):
    victim = make_account(balance="100")
    mine = make_account()
    thief = make_api(customer=mine.customer)
    before = ledger_state()
    assert_problem(thief.post("/api/v1/transfers/", transfer_body(victim, mine, "1")), 404, "not_found")
    assert_problem(thief.post("/api/v1/withdrawals/", cash_body(victim, "1")), 404, "not_found")
    assert ledger_state() == before


def test_a_client_without_the_scope_moves_nothing(make_api, make_account):
    reader = make_api(scopes=["accounts:read"])
    source = make_account(balance="100")
    target = make_account()
    before = ledger_state()
    assert_problem(reader.post("/api/v1/transfers/", transfer_body(source, target, "1")), 403, "permission_denied")
    assert_problem(reader.post("/api/v1/deposits/", cash_body(source, "1")), 403, "permission_denied")
    assert ledger_state() == before


# --- reversals -----------------------------------------------------------------------------


def test_reversing_a_transfer_posts_the_opposite_entry_and_marks_the_original_reversed(api, make_account):
    source = make_account(balance="100")
    target = make_account()
    original = api.post("/api/v1/transfers/", transfer_body(source, target, "40")).json()

    response = api.post(f"/api/v1/transactions/{original['id']}/reverse/", {"reason": "sent by mistake"})
    assert response.status_code == 201, response.content
    reversal = response.json()
    assert_transaction_shape(reversal)
    assert reversal["kind"] == "reversal"
    assert reversal["status"] == "posted"
    assert reversal["amount"] == "40.00"
    assert reversal["currency"] == "CNY"
    assert reversal["reverses"] == original["id"]
    assert reversal["id"] != original["id"]
    assert posting_on(reversal, source)["amount"] == "40.00"
    assert posting_on(reversal, source)["balance_after"] == "100.00"
    assert posting_on(reversal, target)["amount"] == "-40.00"
    assert posting_on(reversal, target)["balance_after"] == "0.00"
    assert balance(source) == Decimal("100")
    assert balance(target) == 0

    shown = api.get(f"/api/v1/transactions/{original['id']}/").json()
    assert shown["status"] == "reversed"
    assert api.get(f"/api/v1/transactions/{reversal['id']}/").json()["status"] == "posted"
    assert ledger_check().ok


def test_reversing_a_deposit_takes_the_money_back(api, make_account):
    account = make_account()
    deposit = api.post("/api/v1/deposits/", cash_body(account, "25")).json()
    response = api.post(f"/api/v1/transactions/{deposit['id']}/reverse/", {})
    assert response.status_code == 201, response.content
    assert balance(account) == 0
    assert ledger_check().ok


def test_a_second_reversal_answers_409_already_reversed(api, make_account):
    source = make_account(balance="100")
    target = make_account()
    original = api.post("/api/v1/transfers/", transfer_body(source, target, "40")).json()
    assert api.post(f"/api/v1/transactions/{original['id']}/reverse/", {}).status_code == 201
    before = ledger_state()
    response = api.post(f"/api/v1/transactions/{original['id']}/reverse/", {"reason": "again"})
    assert_problem(response, 409, "already_reversed")
    assert ledger_state() == before
    assert balance(source) == Decimal("100")


def test_a_reversal_cannot_itself_be_reversed(api, make_account):
    source = make_account(balance="100")
    target = make_account()
    original = api.post("/api/v1/transfers/", transfer_body(source, target, "40")).json()
    reversal = api.post(f"/api/v1/transactions/{original['id']}/reverse/", {}).json()
    before = ledger_state()
    assert_problem(api.post(f"/api/v1/transactions/{reversal['id']}/reverse/", {}), 422, "not_reversible")
    assert ledger_state() == before
    assert api.get(f"/api/v1/transactions/{reversal['id']}/").json()["status"] == "posted"


def test_a_reversal_is_refused_when_the_credited_account_has_spent_the_money(api, make_account):
    source = make_account(balance="100")
    target = make_account()
    original = api.post("/api/v1/transfers/", transfer_body(source, target, "40")).json()
    assert api.post("/api/v1/withdrawals/", cash_body(target, "30")).status_code == 201
    before = ledger_state()
    body = assert_problem(api.post(f"/api/v1/transactions/{original['id']}/reverse/", {}), 422, "insufficient_funds")
    assert body["account"] == str(target.public_id)
    assert ledger_state() == before
    assert api.get(f"/api/v1/transactions/{original['id']}/").json()["status"] == "posted"
    # Once the money is back, the same transaction can be reversed (the refusal left no trace).
    assert api.post("/api/v1/deposits/", cash_body(target, "30")).status_code == 201
    assert api.post(f"/api/v1/transactions/{original['id']}/reverse/", {}).status_code == 201
    assert balance(source) == Decimal("100")
    assert balance(target) == 0


@pytest.mark.parametrize("side", ["source", "destination"])
def test_a_reversal_is_refused_when_an_account_is_frozen(api, make_account, side):
    source = make_account(balance="100")
    target = make_account()
    original = api.post("/api/v1/transfers/", transfer_body(source, target, "40")).json()
    frozen = source if side == "source" else target
    account_freeze(actor=SYSTEM_ACTOR, account=frozen, reason="investigation")
    before = ledger_state()
    body = assert_problem(api.post(f"/api/v1/transactions/{original['id']}/reverse/", {}), 422, "account_not_active")
    assert body["account"] == str(frozen.public_id)
    assert ledger_state() == before
    assert api.get(f"/api/v1/transactions/{original['id']}/").json()["status"] == "posted"


def test_reversing_an_unknown_transaction_answers_404(api, make_account):
    make_account(balance="10")
    before = ledger_state()
    assert_problem(api.post(f"/api/v1/transactions/{uuid.uuid4()}/reverse/", {}), 404, "not_found")
    assert ledger_state() == before


def test_a_reversal_reason_longer_than_allowed_is_refused(api, make_account):
    source = make_account(balance="100")
    target = make_account()
    original = api.post("/api/v1/transfers/", transfer_body(source, target, "40")).json()
    before, records = ledger_state(), IdempotencyRecord.objects.count()
    response = api.post(f"/api/v1/transactions/{original['id']}/reverse/", {"reason": "x" * 256})
    assert_problem(response, 400, "validation_error")
    assert ledger_state() == before
    assert IdempotencyRecord.objects.count() == records


def test_a_jpy_reversal_keeps_whole_yen(api, make_account):
    source = make_account(currency="JPY", balance="5000")
    target = make_account(currency="JPY")
    original = api.post("/api/v1/transfers/", transfer_body(source, target, "1250", "JPY")).json()
    assert original["amount"] == "1250"
    reversal = api.post(f"/api/v1/transactions/{original['id']}/reverse/", {}).json()
    assert reversal["amount"] == "1250"
    assert posting_on(reversal, source) | {"id": ""} == {
        "id": "",
        "account": str(source.public_id),
        "amount": "1250",
        "balance_after": "5000",
    }
    assert balance(source) == Decimal("5000")
