"""Accounts through the REST API (API.md): opening, reading, history, balance at a point in
time, freezing, unfreezing (maker-checker) and closing.

Every refused request proves that nothing changed: accounts, balances, ledger rows, approvals.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from apps.accounts.models import Account, AccountStatus, Hold
from apps.common.models import IdempotencyRecord
from apps.common.money import Money
from apps.common.principals import SYSTEM_ACTOR
from apps.compliance.models import Approval
from apps.customers.services import customer_decide_kyc
from apps.transactions.models import JournalEntry, Posting
from apps.transactions.services import deposit_create, withdrawal_create
from tests.support import assert_problem

ACCOUNT_FIELDS = {"id", "number", "customer", "currency", "product", "status", "balance", "available"}


def bank_state() -> tuple[Any, ...]:
    """Everything an account call could change: accounts, holds, ledger rows, approvals."""
    return (
        sorted(Account.objects.values_list("pk", "status", "balance", "available", "status_reason", "closed_at")),
        sorted(Hold.objects.values_list("pk", "status", "captured_amount")),
        JournalEntry.objects.count(),
        Posting.objects.count(),
        sorted(Approval.objects.values_list("pk", "status")),
    )


def deposit(account: Account, amount: str, *, reference: str = "", at: dt.datetime | None = None) -> JournalEntry:
    return deposit_create(
        actor=SYSTEM_ACTOR,
        account=account.public_id,
        money=Money(Decimal(amount), account.currency),
        reference=reference,
        booked_at=at,
    )


def iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


# --- opening --------------------------------------------------------------------------------


@pytest.mark.parametrize(("currency", "zero"), [("CNY", "0.00"), ("USD", "0.00"), ("EUR", "0.00"), ("JPY", "0")])
def test_opening_an_account_answers_201_active_with_a_mod_97_number_and_the_default_product(
    api, make_customer, currency, zero
):
    customer = make_customer()
    response = api.post("/api/v1/accounts/", {"customer": str(customer.public_id), "currency": currency}, key=None)
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) >= ACCOUNT_FIELDS
    assert body["status"] == "active"
    assert body["customer"] == str(customer.public_id)
    assert body["currency"] == currency
    assert body["product"] == f"CURRENT-{currency}"
    assert body["balance"] == body["available"] == zero
    number = body["number"]
    assert number.isascii()
    assert number.isdigit()
    assert int(number) % 97 == 1
    account = Account.objects.get(public_id=body["id"])
    assert (account.number, account.status, account.customer_id) == (number, AccountStatus.ACTIVE, customer.pk)


def test_opening_with_an_explicit_product(api, make_customer):
    customer = make_customer()
    body = {"customer": str(customer.public_id), "currency": "CNY", "product": "SAVINGS-CNY"}
    response = api.post("/api/v1/accounts/", body)
    assert response.status_code == 201, response.content
    assert response.json()["product"] == "SAVINGS-CNY"


def test_every_account_gets_its_own_number(api, make_customer):
    customer = make_customer()
    numbers = {
        api.post("/api/v1/accounts/", {"customer": str(customer.public_id), "currency": "CNY"}).json()["number"]
        for _ in range(5)
    }
    assert len(numbers) == 5


@pytest.mark.parametrize("decision", [None, "rejected"], ids=["pending", "rejected"])
def test_opening_for_a_customer_whose_kyc_is_not_verified_answers_422(api, make_customer, decision):
    customer = make_customer(verified=False)
    if decision:
        customer = customer_decide_kyc(actor=SYSTEM_ACTOR, customer=customer, decision=decision)
    before = bank_state()
    response = api.post("/api/v1/accounts/", {"customer": str(customer.public_id), "currency": "CNY"}, key=None)
    assert_problem(response, 422, "customer_not_verified")
    assert bank_state() == before


@pytest.mark.parametrize("currency", ["XYZ", "CHF", "cny", "", "CNYY", "元"])
def test_opening_in_an_unknown_or_unsupported_currency_answers_400(api, make_customer, currency):
    customer = make_customer()
    before = bank_state()
    response = api.post("/api/v1/accounts/", {"customer": str(customer.public_id), "currency": currency}, key=None)
    problem = assert_problem(response, 400, "validation_error")
    assert "currency" in problem["errors"]
    assert bank_state() == before


@pytest.mark.parametrize(
    "product",
    [
        pytest.param("CURRENT-USD", id="product-of-another-currency"),
        pytest.param("SAVINGS-JPY", id="savings-of-another-currency"),
        pytest.param("NO-SUCH-PRODUCT", id="unknown-product"),
        pytest.param("INTERNAL-CNY", id="the-banks-own-ledger-product"),
    ],
)
def test_opening_with_a_product_that_does_not_fit_answers_400(api, make_customer, product):
    customer = make_customer()
    before = bank_state()
    response = api.post(
        "/api/v1/accounts/", {"customer": str(customer.public_id), "currency": "CNY", "product": product}, key=None
    )
    problem = assert_problem(response, 400, "validation_error")
    assert "product" in problem["errors"]
    assert bank_state() == before


def test_an_opening_refused_as_invalid_is_not_stored_and_its_key_works_once_fixed(api, make_customer):
    customer = make_customer()
    body = {"customer": str(customer.public_id), "currency": "CNY", "product": "CURRENT-USD"}
    before = bank_state()
    assert_problem(api.post("/api/v1/accounts/", body, key="open-1"), 400, "validation_error")
    assert bank_state() == before
    assert not IdempotencyRecord.objects.filter(key="open-1").exists()
    fixed = api.post("/api/v1/accounts/", {**body, "product": "CURRENT-CNY"}, key="open-1")
    assert fixed.status_code == 201, fixed.content


def test_opening_for_an_unknown_customer_answers_404(api):
    before = bank_state()
    assert_problem(
        api.post("/api/v1/accounts/", {"customer": str(uuid.uuid4()), "currency": "CNY"}, key=None), 404, "not_found"
    )
    assert bank_state() == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param({"currency": "CNY"}, "customer", id="missing-customer"),
        pytest.param({"customer": "not-a-uuid", "currency": "CNY"}, "customer", id="customer-not-a-uuid"),
        pytest.param({"customer": str(uuid.uuid4()), "currency": None}, "currency", id="currency-null"),
    ],
)
def test_opening_with_a_malformed_body_answers_400(api, body, field):
    before = bank_state()
    problem = assert_problem(api.post("/api/v1/accounts/", body, key=None), 400, "validation_error")
    assert field in problem["errors"]
    assert bank_state() == before


def test_opening_without_a_currency_answers_400(api, make_customer):
    customer = make_customer()
    before = bank_state()
    problem = assert_problem(
        api.post("/api/v1/accounts/", {"customer": str(customer.public_id)}, key=None), 400, "validation_error"
    )
    assert "currency" in problem["errors"]
    assert bank_state() == before


# --- reading --------------------------------------------------------------------------------


def test_get_one_account_shows_balance_and_available(api, make_account):
    account = make_account(balance="120.50")
    response = api.get(f"/api/v1/accounts/{account.public_id}/")
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == str(account.public_id)
    assert body["number"] == account.number
    assert body["customer"] == str(account.customer.public_id)
    assert body["currency"] == "CNY"
    assert body["product"] == "CURRENT-CNY"
    assert body["status"] == "active"
    assert body["balance"] == "120.50"
    assert body["available"] == "120.50"


def test_get_an_unknown_account_answers_404(api):
    assert_problem(api.get(f"/api/v1/accounts/{uuid.uuid4()}/"), 404, "not_found")


def test_the_account_list_is_a_page_of_customer_accounts_only(api, make_account):
    first, second = make_account(), make_account()
    page = api.get("/api/v1/accounts/").json()
    assert set(page) == {"results", "next"}
    assert [a["id"] for a in page["results"]] == [str(second.public_id), str(first.public_id)]
    assert page["next"] is None
    assert not Account.objects.filter(public_id__in=[a["id"] for a in page["results"]], is_internal=True).exists()


def test_the_account_list_filters_by_customer(api, make_customer, make_account):
    customer = make_customer()
    own = [make_account(customer=customer), make_account(customer=customer, currency="USD")]
    make_account()
    page = api.get("/api/v1/accounts/", customer=str(customer.public_id)).json()
    assert {a["id"] for a in page["results"]} == {str(a.public_id) for a in own}
    assert all(a["customer"] == str(customer.public_id) for a in page["results"])


def test_the_account_list_of_an_unknown_customer_is_empty(api, make_account):
    make_account()
    assert api.get("/api/v1/accounts/", customer=str(uuid.uuid4())).json() == {"results": [], "next": None}


@pytest.mark.parametrize("value", ["abc", "123", str(uuid.uuid4())[:-1]])
def test_an_invalid_customer_filter_answers_400(api, make_account, value):
    make_account()
    problem = assert_problem(api.get("/api/v1/accounts/", customer=value), 400, "validation_error")
    assert "customer" in problem["errors"]


def test_the_account_list_pages_with_a_cursor(api, make_customer, make_account):
    customer = make_customer()
    made = [make_account(customer=customer) for _ in range(5)]
    page = api.get("/api/v1/accounts/", page_size=2).json()
    seen = [a["id"] for a in page["results"]]
    while page["next"]:
        page = api.get(page["next"]).json()
        seen += [a["id"] for a in page["results"]]
    assert seen == [str(a.public_id) for a in reversed(made)]


# --- history --------------------------------------------------------------------------------


def test_history_is_newest_first_with_signed_amounts_and_running_balances(api, make_account):
    account = make_account()
    other = make_account(balance="100")
    steps = [
        api.post(
            "/api/v1/deposits/",
            {"account": str(account.public_id), "amount": "100.00", "currency": "CNY", "reference": "salary"},
        ),
        api.post(
            "/api/v1/withdrawals/",
            {"account": str(account.public_id), "amount": "30.00", "currency": "CNY", "reference": "atm"},
        ),
        api.post(
            "/api/v1/transfers/",
            {
                "from_account": str(account.public_id),
                "to_account": str(other.public_id),
                "amount": "20.50",
                "currency": "CNY",
                "reference": "rent",
            },
        ),
        api.post(
            "/api/v1/transfers/",
            {
                "from_account": str(other.public_id),
                "to_account": str(account.public_id),
                "amount": "5",
                "currency": "CNY",
            },
        ),
    ]
    assert [s.status_code for s in steps] == [201, 201, 201, 201]

    response = api.get(f"/api/v1/accounts/{account.public_id}/transactions/")
    assert response.status_code == 200
    page = response.json()
    assert page["next"] is None
    rows = page["results"]
    assert [(r["kind"], r["amount"], r["balance_after"], r["reference"]) for r in rows] == [
        ("transfer", "5.00", "54.50", ""),
        ("transfer", "-20.50", "49.50", "rent"),
        ("withdrawal", "-30.00", "70.00", "atm"),
        ("deposit", "100.00", "100.00", "salary"),
    ]
    assert [r["transaction"] for r in rows] == [s.json()["id"] for s in reversed(steps)]
    for row in rows:
        assert {"id", "transaction", "amount", "balance_after", "kind", "reference", "created_at"} <= set(row)
        assert dt.datetime.fromisoformat(row["created_at"].replace("Z", "+00:00")).tzinfo is not None
    # Only this account's postings: the other account's legs are not listed.
    assert {r["id"] for r in rows} == {
        str(p) for p in Posting.objects.filter(account=account).values_list("public_id", flat=True)
    }


def test_history_of_an_account_without_postings_is_empty(api, make_account):
    account = make_account()
    assert api.get(f"/api/v1/accounts/{account.public_id}/transactions/").json() == {"results": [], "next": None}


def test_history_of_an_unknown_account_answers_404(api):
    assert_problem(api.get(f"/api/v1/accounts/{uuid.uuid4()}/transactions/"), 404, "not_found")


def follow(api: Any, page: dict[str, Any]) -> list[str]:
    seen = [r["id"] for r in page["results"]]
    while page["next"]:
        page = api.get(page["next"]).json()
        seen += [r["id"] for r in page["results"]]
    return seen


def test_history_longer_than_a_page_is_followed_through_next_without_gaps_or_duplicates(api, make_account):
    account = make_account()
    for n in range(1, 56):  # more postings than the default page of 50
        deposit(account, "1", reference=f"d{n}")
    first = api.get(f"/api/v1/accounts/{account.public_id}/transactions/").json()
    assert len(first["results"]) == 50
    assert first["next"] is not None
    second = api.get(first["next"]).json()
    assert len(second["results"]) == 5
    assert second["next"] is None

    rows = first["results"] + second["results"]
    assert [r["reference"] for r in rows] == [f"d{n}" for n in range(55, 0, -1)]
    assert [r["balance_after"] for r in rows] == [f"{n}.00" for n in range(55, 0, -1)]
    expected = [
        str(p) for p in Posting.objects.filter(account=account).order_by("-id").values_list("public_id", flat=True)
    ]
    assert [r["id"] for r in rows] == expected


def test_history_pages_stay_stable_while_new_postings_arrive(api, make_account):
    account = make_account()
    for n in range(1, 26):
        deposit(account, "1", reference=f"old{n}")
    page = api.get(f"/api/v1/accounts/{account.public_id}/transactions/", page_size=10).json()
    seen = [r["reference"] for r in page["results"]]
    arrived = 0
    while page["next"]:
        arrived += 1
        deposit(account, "2", reference=f"new{arrived}")  # a new row arrives between page requests
        page = api.get(page["next"]).json()
        seen += [r["reference"] for r in page["results"]]
    assert arrived == 2
    assert seen == [f"old{n}" for n in range(25, 0, -1)]
    fresh = api.get(f"/api/v1/accounts/{account.public_id}/transactions/", page_size=3).json()
    assert [r["reference"] for r in fresh["results"]] == ["new2", "new1", "old25"]


@pytest.mark.parametrize("cursor", ["garbage", "0"])
def test_a_bad_history_cursor_answers_404_not_500(api, make_account, cursor):
    account = make_account(balance="1")
    response = api.get(f"/api/v1/accounts/{account.public_id}/transactions/", cursor=cursor)
    assert_problem(response, 404, "not_found")


# --- balance at a point in time ------------------------------------------------------------


@pytest.fixture
def booked_history(make_account):
    """100.00 in three days ago, 30.00 out two days ago, 5.50 in a day ago."""
    account = make_account()
    now = timezone.now().replace(microsecond=0)
    times = [now - dt.timedelta(days=3), now - dt.timedelta(days=2), now - dt.timedelta(days=1)]
    deposit(account, "100.00", at=times[0])
    withdrawal_create(
        actor=SYSTEM_ACTOR, account=account.public_id, money=Money(Decimal("30.00"), "CNY"), booked_at=times[1]
    )
    deposit(account, "5.50", at=times[2])
    return account, times


def balance_at(api: Any, account: Account, **params: Any) -> dict[str, Any]:
    response = api.get(f"/api/v1/accounts/{account.public_id}/balance/", **params)
    assert response.status_code == 200, response.content
    return response.json()


def test_balance_before_any_posting_is_zero(api, booked_history):
    account, times = booked_history
    body = balance_at(api, account, at=iso(times[0] - dt.timedelta(seconds=1)))
    assert body["balance"] == "0.00"
    assert body["currency"] == "CNY"
    assert body["account"] == str(account.public_id)


def test_balance_at_the_moment_of_a_posting_includes_it(api, booked_history):
    account, times = booked_history
    assert balance_at(api, account, at=iso(times[0]))["balance"] == "100.00"


def test_balance_between_postings(api, booked_history):
    account, times = booked_history
    assert balance_at(api, account, at=iso(times[0] + dt.timedelta(hours=12)))["balance"] == "100.00"
    assert balance_at(api, account, at=iso(times[1] + dt.timedelta(hours=12)))["balance"] == "70.00"


def test_balance_at_a_time_with_an_offset_means_the_same_instant(api, booked_history):
    account, times = booked_history
    just_before = (times[1] - dt.timedelta(minutes=1)).astimezone(dt.timezone(dt.timedelta(hours=8)))
    assert balance_at(api, account, at=just_before.isoformat())["balance"] == "100.00"
    just_after = (times[1] + dt.timedelta(minutes=1)).astimezone(dt.timezone(dt.timedelta(hours=8)))
    assert balance_at(api, account, at=just_after.isoformat())["balance"] == "70.00"


def test_balance_now_and_in_the_future_is_the_current_balance(api, booked_history):
    account, _times = booked_history
    assert balance_at(api, account)["balance"] == "75.50"
    assert balance_at(api, account, at=iso(timezone.now() + dt.timedelta(days=30)))["balance"] == "75.50"
    assert api.get(f"/api/v1/accounts/{account.public_id}/").json()["balance"] == "75.50"


def test_balance_of_a_new_account_is_zero(api, make_account):
    assert balance_at(api, make_account())["balance"] == "0.00"


@pytest.mark.parametrize(
    "at", ["yesterday", "2026-13-01T00:00:00Z", "2026-02-30T10:00:00Z", "12345", "2026-01-01T25:00"]
)
def test_a_bad_at_answers_400(api, booked_history, at):
    account, _times = booked_history
    problem = assert_problem(api.get(f"/api/v1/accounts/{account.public_id}/balance/", at=at), 400, "validation_error")
    assert "at" in problem["errors"]


def test_balance_of_an_unknown_account_answers_404(api):
    assert_problem(api.get(f"/api/v1/accounts/{uuid.uuid4()}/balance/"), 404, "not_found")


# --- freeze, unfreeze, close ------------------------------------------------------------------


def freeze(api: Any, account: Account, reason: str = "suspicious activity") -> Any:
    return api.post(f"/api/v1/accounts/{account.public_id}/freeze/", {"reason": reason}, key=None)


def test_freezing_answers_200_with_the_frozen_account(api, make_account):
    account = make_account(balance="10")
    response = freeze(api, account)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["id"] == str(account.public_id)
    assert body["status"] == "frozen"
    assert body["balance"] == "10.00"
    account.refresh_from_db()
    assert account.status == AccountStatus.FROZEN
    assert account.status_reason == "suspicious activity"
    assert account.frozen_by_bank is True


def movement_attempts(frozen: Account, other: Account) -> list[tuple[str, dict[str, str]]]:
    cash = {"account": str(frozen.public_id), "amount": "1.00", "currency": "CNY"}
    return [
        ("/api/v1/deposits/", cash),
        ("/api/v1/withdrawals/", cash),
        (
            "/api/v1/transfers/",
            {
                "from_account": str(frozen.public_id),
                "to_account": str(other.public_id),
                "amount": "1.00",
                "currency": "CNY",
            },
        ),
        (
            "/api/v1/transfers/",
            {
                "from_account": str(other.public_id),
                "to_account": str(frozen.public_id),
                "amount": "1.00",
                "currency": "CNY",
            },
        ),
        ("/api/v1/holds/", cash),
    ]


def test_a_frozen_account_can_neither_send_nor_receive(api, make_account):
    account = make_account(balance="50")
    other = make_account(balance="50")
    assert freeze(api, account).status_code == 200
    before = bank_state()
    for path, body in movement_attempts(account, other):
        assert_problem(api.post(path, body), 422, "account_not_active")
    assert bank_state() == before


def test_freezing_a_frozen_account_answers_422(api, make_account):
    account = make_account()
    assert freeze(api, account, "first").status_code == 200
    before = bank_state()
    assert_problem(freeze(api, account, "second"), 422, "account_not_active")
    assert bank_state() == before
    account.refresh_from_db()
    assert account.status_reason == "first"


def test_unfreezing_an_active_account_answers_422_and_asks_nobody(api, make_account):
    account = make_account()
    before = bank_state()
    response = api.post(f"/api/v1/accounts/{account.public_id}/unfreeze/", {"reason": "why not"}, key=None)
    assert_problem(response, 422, "account_not_active")
    assert bank_state() == before


def test_unfreezing_answers_202_pending_approval_and_leaves_the_account_frozen(api, make_account):
    account = make_account()
    assert freeze(api, account).status_code == 200
    response = api.post(f"/api/v1/accounts/{account.public_id}/unfreeze/", {"reason": "cleared"}, key=None)
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status"] == "pending_approval"
    approval = Approval.objects.get(public_id=body["approval"])
    assert approval.action == "account.unfreeze"
    assert approval.status == "pending"
    assert approval.requested_by == f"client:{api.client_id}"
    account.refresh_from_db()
    assert account.status == AccountStatus.FROZEN


def test_freezing_an_unknown_account_answers_404(api):
    before = bank_state()
    assert_problem(api.post(f"/api/v1/accounts/{uuid.uuid4()}/freeze/", {}, key=None), 404, "not_found")
    assert bank_state() == before


def test_a_freeze_reason_longer_than_255_characters_is_refused(api, make_account):
    account = make_account()
    before = bank_state()
    problem = assert_problem(freeze(api, account, "r" * 256), 400, "validation_error")
    assert "reason" in problem["errors"]
    assert bank_state() == before


def test_closing_an_account_with_money_answers_422_balance_not_zero(api, make_account):
    account = make_account(balance="0.01")
    before = bank_state()
    response = api.post(f"/api/v1/accounts/{account.public_id}/close/", {"reason": "moving"}, key=None)
    assert_problem(response, 422, "balance_not_zero")
    assert bank_state() == before


def test_closing_an_empty_account_answers_200_closed(api, make_account):
    account = make_account(balance="25")
    withdrawal_create(actor=SYSTEM_ACTOR, account=account.public_id, money=Money(Decimal("25"), "CNY"))
    response = api.post(f"/api/v1/accounts/{account.public_id}/close/", {"reason": "moving"}, key=None)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "closed"
    assert body["closed_at"] is not None
    account.refresh_from_db()
    assert account.status == AccountStatus.CLOSED
    assert account.closed_at is not None


def test_a_frozen_account_cannot_be_closed(api, make_account):
    account = make_account()
    assert freeze(api, account).status_code == 200
    before = bank_state()
    assert_problem(api.post(f"/api/v1/accounts/{account.public_id}/close/", {}, key=None), 422, "account_not_active")
    assert bank_state() == before


def test_a_closed_account_refuses_everything(api, make_account):
    account = make_account()
    other = make_account(balance="50")
    assert api.post(f"/api/v1/accounts/{account.public_id}/close/", {}, key=None).status_code == 200
    before = bank_state()
    for path, body in movement_attempts(account, other):
        assert_problem(api.post(path, body), 422, "account_not_active")
    for action in ("freeze", "unfreeze", "close"):
        assert_problem(
            api.post(f"/api/v1/accounts/{account.public_id}/{action}/", {}, key=None), 422, "account_not_active"
        )
    assert bank_state() == before
    # It can still be read.
    assert api.get(f"/api/v1/accounts/{account.public_id}/").json()["status"] == "closed"
