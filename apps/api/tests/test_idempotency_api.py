"""The Idempotency-Key contract of API.md: required, checked, replayed, conflicting, per client."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal

import pytest

from apps.accounts.models import Account
from apps.common.models import IdempotencyRecord
from apps.transactions.models import JournalEntry
from tests.support import assert_problem, balance, ledger_state

MONEY_PATHS = ["/api/v1/deposits/", "/api/v1/withdrawals/", "/api/v1/transfers/"]


def body_for(path: str, source: Account, target: Account, amount: str = "10.00") -> dict[str, str]:
    if path.endswith("transfers/"):
        return {
            "from_account": str(source.public_id),
            "to_account": str(target.public_id),
            "amount": amount,
            "currency": "CNY",
        }
    return {"account": str(source.public_id), "amount": amount, "currency": "CNY"}


def transfer(source: Account, target: Account, amount: str = "10.00") -> dict[str, str]:
    return body_for("/api/v1/transfers/", source, target, amount)


# --- the key is required and checked ------------------------------------------------------


@pytest.mark.parametrize("path", MONEY_PATHS)
def test_a_money_movement_without_a_key_is_refused_and_nothing_is_stored(api, make_account, path):
    source = make_account(balance="100")
    target = make_account()
    before, records = ledger_state(), IdempotencyRecord.objects.count()
    assert_problem(api.post(path, body_for(path, source, target), key=None), 400, "idempotency_key_required")
    assert ledger_state() == before
    assert IdempotencyRecord.objects.count() == records


def test_a_reversal_without_a_key_is_refused(api, make_account):
    source = make_account(balance="100")
    target = make_account()
    original = api.post("/api/v1/transfers/", transfer(source, target)).json()
    before, records = ledger_state(), IdempotencyRecord.objects.count()
    assert_problem(
        api.post(f"/api/v1/transactions/{original['id']}/reverse/", {}, key=None), 400, "idempotency_key_required"
    )
    assert ledger_state() == before
    assert IdempotencyRecord.objects.count() == records


def test_a_missing_key_is_reported_even_when_the_body_is_bad_too(api):
    records = IdempotencyRecord.objects.count()
    assert_problem(api.post("/api/v1/transfers/", {"amount": "-1"}, key=None), 400, "idempotency_key_required")
    assert IdempotencyRecord.objects.count() == records


@pytest.mark.parametrize(
    "key",
    [
        "",
        "k" * 256,
        "tab\there",
        "bell\x07",
        "del\x7f",
        "newline\n",
        "ключ",
        "caf\u00e9",
        "\u3000wide",
    ],
    ids=["empty", "256-chars", "tab", "bell", "del", "newline", "cyrillic", "latin-1", "ideographic-space"],
)
def test_a_key_that_is_not_1_to_255_printable_ascii_is_a_validation_error(api, make_account, key):
    source = make_account(balance="100")
    target = make_account()
    before, records = ledger_state(), IdempotencyRecord.objects.count()
    body = assert_problem(api.post("/api/v1/transfers/", transfer(source, target), key=key), 400, "validation_error")
    assert "Idempotency-Key" in body["errors"]
    assert ledger_state() == before
    assert IdempotencyRecord.objects.count() == records


@pytest.mark.parametrize("key", ["k" * 255, "a", " spaced key ~!@#$%^&*()", "~"])
def test_a_key_of_1_to_255_printable_ascii_is_accepted(api, make_account, key):
    source = make_account(balance="100")
    target = make_account()
    response = api.post("/api/v1/transfers/", transfer(source, target), key=key)
    assert response.status_code == 201, response.content
    assert balance(target) == Decimal("10")


# --- replay --------------------------------------------------------------------------------


@pytest.mark.parametrize("path", MONEY_PATHS)
def test_the_same_key_and_body_replays_the_first_response_and_moves_money_once(api, make_account, path):
    source = make_account(balance="100")
    target = make_account()
    body = body_for(path, source, target, "10.25")
    first = api.post(path, body, key="replay-1")
    assert first.status_code == 201, first.content
    assert "Idempotent-Replayed" not in first
    after_first = ledger_state()

    second = api.post(path, body, key="replay-1")
    assert second.status_code == 201
    assert second.json() == first.json()
    assert second["Idempotent-Replayed"] == "true"
    assert ledger_state() == after_first
    assert IdempotencyRecord.objects.filter(key="replay-1").count() == 1


def test_key_order_and_spacing_of_the_json_do_not_matter(api, make_account):
    source = make_account(balance="100")
    target = make_account()
    first = api.post(
        "/api/v1/transfers/",
        raw=json.dumps(transfer(source, target, "10.25"), separators=(",", ":")),
        key="spacing",
    )
    assert first.status_code == 201, first.content
    reordered = dict(reversed(list(transfer(source, target, "10.25").items())))
    second = api.post("/api/v1/transfers/", raw="\n  " + json.dumps(reordered, indent=4) + "\n", key="spacing")
    assert second.status_code == 201
    assert second["Idempotent-Replayed"] == "true"
    assert second.json() == first.json()
    assert balance(source) == Decimal("89.75")
    assert balance(target) == Decimal("10.25")
    assert JournalEntry.objects.filter(kind="transfer").count() == 1


def test_many_replays_still_move_money_once(api, make_account):
    source = make_account(balance="100")
    target = make_account()
    answers = [api.post("/api/v1/transfers/", transfer(source, target, "1"), key="same").json() for _ in range(5)]
    assert all(answer == answers[0] for answer in answers)
    assert balance(source) == Decimal("99")
    assert balance(target) == Decimal("1")


def test_a_replayed_reversal_answers_201_again_not_already_reversed(api, make_account):
    source = make_account(balance="100")
    target = make_account()
    original = api.post("/api/v1/transfers/", transfer(source, target, "40")).json()
    path = f"/api/v1/transactions/{original['id']}/reverse/"
    first = api.post(path, {"reason": "oops"}, key="rev")
    assert first.status_code == 201, first.content
    state = ledger_state()
    again = api.post(path, {"reason": "oops"}, key="rev")
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert ledger_state() == state
    # Without the key it is a new request, and the transaction is already reversed.
    assert_problem(api.post(path, {"reason": "oops"}), 409, "already_reversed")
    assert ledger_state() == state


# --- conflicts -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        {"amount": "10.01"},
        {"amount": "10.1"},  # the same value written differently is another document
        {"currency": "USD"},
        {"reference": "extra field"},
    ],
)
def test_the_same_key_with_another_body_is_a_conflict(api, make_account, change):
    source = make_account(balance="100")
    target = make_account()
    first = api.post("/api/v1/transfers/", transfer(source, target, "10.10"), key="k-conflict")
    assert first.status_code == 201
    state, records = ledger_state(), IdempotencyRecord.objects.count()
    response = api.post("/api/v1/transfers/", {**transfer(source, target, "10.10"), **change}, key="k-conflict")
    assert_problem(response, 409, "idempotency_conflict")
    assert ledger_state() == state
    assert IdempotencyRecord.objects.count() == records
    # The first answer is still the one replayed.
    replay = api.post("/api/v1/transfers/", transfer(source, target, "10.10"), key="k-conflict")
    assert replay.json() == first.json()


def test_a_json_number_and_a_string_with_the_same_text_are_different_documents(api, make_account):
    source = make_account(balance="100")
    target = make_account()
    first = api.post("/api/v1/transfers/", transfer(source, target, "10.25"), key="num-vs-str")
    assert first.status_code == 201
    state = ledger_state()
    raw = json.dumps(transfer(source, target, "10.25")).replace('"10.25"', "10.25")
    assert_problem(api.post("/api/v1/transfers/", raw=raw, key="num-vs-str"), 409, "idempotency_conflict")
    assert ledger_state() == state


def test_the_same_key_on_another_path_is_a_conflict(api, make_account):
    account = make_account(balance="100")
    body = {"account": str(account.public_id), "amount": "5", "currency": "CNY"}
    assert api.post("/api/v1/deposits/", body, key="k-path").status_code == 201
    state, records = ledger_state(), IdempotencyRecord.objects.count()
    assert_problem(api.post("/api/v1/withdrawals/", body, key="k-path"), 409, "idempotency_conflict")
    assert ledger_state() == state
    assert IdempotencyRecord.objects.count() == records
    assert balance(account) == Decimal("105")


# --- what is stored ------------------------------------------------------------------------


def test_a_business_refusal_is_stored_and_replayed_even_after_funds_arrive(api, make_account):
    source = make_account(balance="5")
    target = make_account()
    body = transfer(source, target, "50")
    first = api.post("/api/v1/transfers/", body, key="k-422")
    assert_problem(first, 422, "insufficient_funds")
    assert IdempotencyRecord.objects.filter(key="k-422", status_code=422).count() == 1

    assert (
        api.post(
            "/api/v1/deposits/", {"account": str(source.public_id), "amount": "100", "currency": "CNY"}
        ).status_code
        == 201
    )
    state = ledger_state()
    replay = api.post("/api/v1/transfers/", body, key="k-422")
    assert_problem(replay, 422, "insufficient_funds")
    assert replay.json() == first.json()
    assert replay["Idempotent-Replayed"] == "true"
    assert ledger_state() == state
    assert balance(source) == Decimal("105")
    assert balance(target) == 0
    # A new key is a new request: now it goes through.
    assert api.post("/api/v1/transfers/", body, key="k-new").status_code == 201
    assert balance(target) == Decimal("50")


def test_a_404_refusal_is_stored_and_replayed(api, make_account):
    source = make_account(balance="100")
    body = {**transfer(source, source, "1"), "to_account": str(uuid.uuid4())}
    first = api.post("/api/v1/transfers/", body, key="k-404")
    assert_problem(first, 404, "not_found")
    state = ledger_state()
    replay = api.post("/api/v1/transfers/", body, key="k-404")
    assert_problem(replay, 404, "not_found")
    assert replay["Idempotent-Replayed"] == "true"
    assert ledger_state() == state


@pytest.mark.parametrize(
    ("bad_raw", "code"),
    [
        ('{"amount": "10.001"}', "validation_error"),
        ("{not json", "malformed_json"),
        ('{"amount": NaN}', "malformed_json"),
    ],
)
def test_a_malformed_request_is_not_stored_and_the_same_key_then_succeeds(api, make_account, bad_raw, code):
    source = make_account(balance="100")
    target = make_account()
    state, records = ledger_state(), IdempotencyRecord.objects.count()
    assert_problem(api.post("/api/v1/transfers/", raw=bad_raw, key="k-fixed"), 400, code)
    assert ledger_state() == state
    assert IdempotencyRecord.objects.count() == records

    fixed = api.post("/api/v1/transfers/", transfer(source, target, "10"), key="k-fixed")
    assert fixed.status_code == 201, fixed.content
    assert "Idempotent-Replayed" not in fixed
    assert balance(target) == Decimal("10")


def test_a_bad_amount_with_a_key_is_not_stored(api, make_account):
    source = make_account(balance="100")
    target = make_account()
    bad = transfer(source, target, "10.001")
    assert_problem(api.post("/api/v1/transfers/", bad, key="k-amount"), 400, "validation_error")
    assert not IdempotencyRecord.objects.filter(key="k-amount").exists()
    good = transfer(source, target, "10")
    assert api.post("/api/v1/transfers/", good, key="k-amount").status_code == 201
    assert api.post("/api/v1/transfers/", good, key="k-amount")["Idempotent-Replayed"] == "true"
    assert balance(source) == Decimal("90")


def test_keys_belong_to_one_client(make_api, make_account):
    first_client = make_api(name="first")
    second_client = make_api(name="second")
    source = make_account(balance="100")
    target = make_account()
    body = transfer(source, target, "10")
    one = first_client.post("/api/v1/transfers/", body, key="shared-key")
    two = second_client.post("/api/v1/transfers/", body, key="shared-key")
    assert one.status_code == two.status_code == 201
    assert "Idempotent-Replayed" not in two
    assert one.json()["id"] != two.json()["id"]
    assert balance(source) == Decimal("80")
    assert balance(target) == Decimal("20")
    assert IdempotencyRecord.objects.filter(key="shared-key").count() == 2
    # Another client's body under the same key is no conflict for this one.
    other = second_client.post("/api/v1/transfers/", transfer(source, target, "1"), key="first-only")
    assert other.status_code == 201
    mine = first_client.post("/api/v1/transfers/", transfer(source, target, "2"), key="first-only")
    assert mine.status_code == 201
    assert balance(target) == Decimal("23")
