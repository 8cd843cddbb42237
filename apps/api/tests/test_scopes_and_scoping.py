"""Who may call what: the scope of every route (API.md), and what a customer-bound client sees.

The permission matrix enumerates the URL resolver, so a new route without an entry in
EXPECTED_SCOPES fails here until someone decides which scope guards it.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from oauth2_provider.models import AccessToken

from apps.accounts.models import Account, Hold
from apps.accounts.services import hold_create, hold_release
from apps.common.money import Money
from apps.common.principals import SYSTEM_ACTOR
from apps.compliance.models import Approval
from apps.customers.models import Customer
from apps.transactions.models import JournalEntry, Posting
from conftest import ALL_SCOPES
from tests.support import PROBLEM_FIELDS, assert_problem

API_PREFIX = "api/v1/"
# The gateway's callback is authenticated by its HMAC signature, not a token (test_payments_api).
PUBLIC_ROUTES = {"oauth/token/", "schema/", "docs/", "gateway/callback/"}

# (route, method) -> the scopes of API.md, any one of which lets the call through.
EXPECTED_SCOPES: dict[tuple[str, str], set[str]] = {
    ("customers/", "GET"): {"customers:read"},
    ("customers/", "POST"): {"customers:write"},
    ("customers/<uuid:customer_id>/", "GET"): {"customers:read"},
    ("customers/<uuid:customer_id>/kyc/", "POST"): {"kyc:write"},
    ("accounts/", "GET"): {"accounts:read"},
    ("accounts/", "POST"): {"accounts:write"},
    ("accounts/<uuid:account_id>/", "GET"): {"accounts:read"},
    ("accounts/<uuid:account_id>/transactions/", "GET"): {"accounts:read"},
    ("accounts/<uuid:account_id>/balance/", "GET"): {"accounts:read"},
    ("accounts/<uuid:account_id>/freeze/", "POST"): {"accounts:write"},
    ("accounts/<uuid:account_id>/unfreeze/", "POST"): {"accounts:write"},
    ("accounts/<uuid:account_id>/close/", "POST"): {"accounts:write"},
    ("deposits/", "POST"): {"cash:write"},
    ("withdrawals/", "POST"): {"cash:write"},
    ("transfers/", "POST"): {"payments:write"},
    ("fx/rates/", "GET"): {"accounts:read"},
    ("fx/rates/", "POST"): {"treasury:write"},
    ("fx-transfers/", "POST"): {"payments:write"},
    ("transactions/<uuid:transaction_id>/", "GET"): {"accounts:read"},
    ("transactions/<uuid:transaction_id>/reverse/", "POST"): {"payments:write"},
    ("holds/", "POST"): {"payments:write"},
    ("holds/<uuid:hold_id>/", "GET"): {"accounts:read", "payments:write"},
    ("holds/<uuid:hold_id>/capture/", "POST"): {"payments:write"},
    ("holds/<uuid:hold_id>/release/", "POST"): {"payments:write"},
    ("payments/", "POST"): {"payments:write"},
    ("payments/<uuid:payment_id>/", "GET"): {"payments:write", "accounts:read"},
    ("webhooks/", "GET"): {"webhooks:write"},
    ("webhooks/", "POST"): {"webhooks:write"},
    ("webhooks/<uuid:webhook_id>/", "GET"): {"webhooks:write"},
    ("webhooks/<uuid:webhook_id>/", "DELETE"): {"webhooks:write"},
    ("webhooks/<uuid:webhook_id>/deliveries/", "GET"): {"webhooks:write"},
    ("webhooks/deliveries/<uuid:delivery_id>/replay/", "POST"): {"webhooks:write"},
    ("approvals/<uuid:approval_id>/", "GET"): {"approvals:write"},
    ("reports/", "POST"): {"reports:read"},
    ("reports/<uuid:report_id>/", "GET"): {"reports:read"},
    ("reports/<uuid:report_id>/download/", "GET"): {"reports:read"},
    ("approvals/<uuid:approval_id>/approve/", "POST"): {"approvals:write"},
    ("approvals/<uuid:approval_id>/reject/", "POST"): {"approvals:write"},
}
NOT_SERVED = {"OPTIONS", "HEAD", "TRACE"}


def api_routes() -> Iterator[tuple[str, str]]:
    """Every (route below /api/v1/, HTTP method) the URL resolver serves, public ones excepted."""
    (api,) = [p for p in get_resolver().url_patterns if isinstance(p, URLResolver) and str(p.pattern) == API_PREFIX]
    for pattern in api.url_patterns:
        assert isinstance(pattern, URLPattern), f"nested includes under /api/v1/ are not enumerated: {pattern}"
        route = str(pattern.pattern)
        if route in PUBLIC_ROUTES:
            continue
        view_class = pattern.callback.cls  # type: ignore[attr-defined]
        for method in view_class.http_method_names:
            if method.upper() not in NOT_SERVED and hasattr(view_class, method):
                yield route, method.upper()


ROUTES = sorted(api_routes())


def concrete(route: str) -> str:
    path = re.sub(r"<uuid:\w+>", lambda _m: str(uuid.uuid4()), route)
    assert "<" not in path, f"no example value for a path converter in {route}"
    return f"/{API_PREFIX}{path}"


def call(client: Client, method: str, path: str, token: str | None) -> Any:
    headers: dict[str, str] = {"HTTP_IDEMPOTENCY_KEY": str(uuid.uuid4())}
    if token is not None:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    if method == "GET":
        return client.get(path, **headers)
    return client.generic(method, path, "{}", content_type="application/json", **headers)


def test_every_api_route_is_in_the_scope_table_and_every_entry_is_a_route():
    served = set(ROUTES)
    assert served, "no API routes found"
    assert served - set(EXPECTED_SCOPES) == set(), "routes without an entry in EXPECTED_SCOPES"
    assert set(EXPECTED_SCOPES) - served == set(), "entries in EXPECTED_SCOPES that no route serves"
    assert all(scopes <= set(ALL_SCOPES) for scopes in EXPECTED_SCOPES.values())


@pytest.mark.parametrize(("route", "method"), ROUTES)
def test_a_call_without_a_valid_token_answers_401(db, route, method):
    assert (route, method) in EXPECTED_SCOPES, f"{method} {route} has no entry in EXPECTED_SCOPES"
    client = Client()
    for token in (None, "not-a-token"):
        response = call(client, method, concrete(route), token)
        body = assert_problem(response, 401, "not_authenticated")
        assert response["WWW-Authenticate"].startswith("Bearer")
        assert set(body) <= PROBLEM_FIELDS | {"errors"}


@pytest.mark.parametrize(("route", "method"), ROUTES)
def test_the_documented_scope_and_only_it_opens_each_route(make_api, route, method):
    assert (route, method) in EXPECTED_SCOPES, f"{method} {route} has no entry in EXPECTED_SCOPES"
    wanted = EXPECTED_SCOPES[(route, method)]
    path = concrete(route)
    # A token with no relevant scope, and one with every scope except the relevant ones: 403
    # before any lookup (the ids in the path exist nowhere, which would otherwise be 404).
    unrelated = "customers:read" if "reports:read" in wanted else "reports:read"
    for scopes in ([unrelated], [s for s in ALL_SCOPES if s not in wanted]):
        caller = make_api(scopes=scopes)
        assert_problem(call(caller.http, method, path, caller.token), 403, "permission_denied")
    # Each documented scope on its own passes the scope check.
    for scope in sorted(wanted):
        caller = make_api(scopes=[scope])
        response = call(caller.http, method, path, caller.token)
        assert response.status_code not in (401, 403), (scope, response.content)


def test_an_expired_token_answers_401(api):
    assert api.get("/api/v1/accounts/").status_code == 200
    AccessToken.objects.update(expires=timezone.now() - dt.timedelta(seconds=1))
    assert_problem(api.get("/api/v1/accounts/"), 401, "not_authenticated")


# --- customer-bound clients ------------------------------------------------------------------


@pytest.fixture
def two_customers(api, make_api, make_customer, make_account) -> dict[str, Any]:
    """Customer A with a bound client holding every scope, and customer B with its own things."""
    mine = make_customer(name="Alice Mine")
    theirs = make_customer(name="Bob Theirs")
    my_account = make_account(customer=mine, balance="100")
    my_second = make_account(customer=mine, currency="USD")
    their_account = make_account(customer=theirs, balance="100")
    their_other = make_account(customer=theirs, balance="5")
    moved = api.post(
        "/api/v1/transfers/",
        {
            "from_account": str(their_account.public_id),
            "to_account": str(their_other.public_id),
            "amount": "1.00",
            "currency": "CNY",
        },
    )
    assert moved.status_code == 201, moved.content
    their_hold = hold_create(actor=SYSTEM_ACTOR, account=their_account, amount=Money(Decimal("2.00"), "CNY"))
    frozen = make_account(customer=theirs)
    assert api.post(f"/api/v1/accounts/{frozen.public_id}/freeze/", {}, key=None).status_code == 200
    unfreeze = api.post(f"/api/v1/accounts/{frozen.public_id}/unfreeze/", {}, key=None)
    assert unfreeze.status_code == 202
    return {
        "bound": make_api(customer=mine),
        "mine": mine,
        "theirs": theirs,
        "my_account": my_account,
        "my_second": my_second,
        "their_account": their_account,
        "their_other": their_other,
        "their_transaction": moved.json()["id"],
        "their_hold": their_hold,
        "their_approval": unfreeze.json()["approval"],
        "their_frozen": frozen,
    }


def bank_state() -> tuple[Any, ...]:
    return (
        sorted(Customer.objects.values_list("pk", "kyc_status")),
        sorted(Account.objects.values_list("pk", "status", "balance", "available")),
        sorted(Hold.objects.values_list("pk", "status", "captured_amount")),
        sorted(Approval.objects.values_list("pk", "status")),
        JournalEntry.objects.count(),
        Posting.objects.count(),
    )


def foreign_calls(w: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """Every call a bound client could make on customer B's things."""
    cust, acc = w["theirs"].public_id, w["their_account"].public_id
    tx, hold, appr = w["their_transaction"], w["their_hold"].public_id, w["their_approval"]
    cash = {"account": str(acc), "amount": "1.00", "currency": "CNY"}
    return [
        ("GET", f"/api/v1/customers/{cust}/", {}),
        ("POST", f"/api/v1/customers/{cust}/kyc/", {"decision": "rejected"}),
        ("GET", f"/api/v1/accounts/{acc}/", {}),
        ("GET", f"/api/v1/accounts/{acc}/transactions/", {}),
        ("GET", f"/api/v1/accounts/{acc}/balance/", {}),
        ("POST", f"/api/v1/accounts/{acc}/freeze/", {}),
        ("POST", f"/api/v1/accounts/{w['their_frozen'].public_id}/unfreeze/", {}),
        ("POST", f"/api/v1/accounts/{acc}/close/", {}),
        ("POST", "/api/v1/accounts/", {"customer": str(cust), "currency": "CNY"}),
        ("POST", "/api/v1/deposits/", cash),
        ("POST", "/api/v1/withdrawals/", cash),
        (
            "POST",
            "/api/v1/transfers/",
            {
                "from_account": str(acc),
                "to_account": str(w["my_account"].public_id),
                "amount": "1.00",
                "currency": "CNY",
            },
        ),
        ("GET", f"/api/v1/transactions/{tx}/", {}),
        ("POST", f"/api/v1/transactions/{tx}/reverse/", {}),
        ("POST", "/api/v1/holds/", cash),
        ("GET", f"/api/v1/holds/{hold}/", {}),
        ("POST", f"/api/v1/holds/{hold}/capture/", {}),
        ("POST", f"/api/v1/holds/{hold}/release/", {}),
        ("GET", f"/api/v1/approvals/{appr}/", {}),
        ("POST", f"/api/v1/approvals/{appr}/approve/", {}),
        ("POST", f"/api/v1/approvals/{appr}/reject/", {}),
    ]


def test_another_customers_ids_answer_404_as_if_they_did_not_exist(api, two_customers):
    w = two_customers
    bound = w["bound"]
    secrets = [
        str(w["theirs"].public_id),
        w["theirs"].full_name,
        w["theirs"].national_id,
        w["their_account"].number,
        str(w["their_account"].public_id),
        w["their_transaction"],
    ]
    for method, path, _body in foreign_calls(w):
        if method == "GET":  # the ids are real: the bank sees them
            assert api.get(path).status_code == 200, path
    before = bank_state()
    for method, path, body in foreign_calls(w):
        response = bound.get(path) if method == "GET" else bound.post(path, body)
        problem = assert_problem(response, 404, "not_found")
        assert set(problem) == PROBLEM_FIELDS, (path, problem)
        for secret in secrets:
            assert secret not in response.content.decode(), (path, secret)
        # The same answer as for an id that exists nowhere.
        unknown = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", str(uuid.uuid4()), path)
        unknown_body = {
            k: (str(uuid.uuid4()) if isinstance(v, str) and re.fullmatch(r"[0-9a-f-]{36}", v) else v)
            for k, v in body.items()
        }
        twin = bound.get(unknown) if method == "GET" else bound.post(unknown, unknown_body)
        assert twin.status_code == 404, (unknown, twin.content)
        assert twin.json()["detail"] == problem["detail"], path
    assert bank_state() == before


def test_a_bound_client_sees_its_own_things(two_customers):
    w = two_customers
    bound = w["bound"]
    assert bound.get(f"/api/v1/customers/{w['mine'].public_id}/").status_code == 200
    shown = bound.get(f"/api/v1/accounts/{w['my_account'].public_id}/").json()
    assert shown["balance"] == "100.00"
    assert bound.get(f"/api/v1/accounts/{w['my_account'].public_id}/transactions/").status_code == 200


def test_a_bound_client_lists_only_its_own_accounts(two_customers):
    w = two_customers
    bound = w["bound"]
    page = bound.get("/api/v1/accounts/").json()
    assert {a["id"] for a in page["results"]} == {str(w["my_account"].public_id), str(w["my_second"].public_id)}
    assert bound.get("/api/v1/accounts/", customer=str(w["theirs"].public_id)).json() == {"results": [], "next": None}


def test_a_bound_client_lists_only_itself_among_customers(two_customers):
    w = two_customers
    bound = w["bound"]
    assert [c["id"] for c in bound.get("/api/v1/customers/").json()["results"]] == [str(w["mine"].public_id)]
    assert bound.get("/api/v1/customers/", search="Bob").json() == {"results": [], "next": None}
    assert bound.get("/api/v1/customers/", search=w["theirs"].national_id).json()["results"] == []


def test_a_bound_client_may_transfer_to_another_customers_account_and_sees_only_its_own_posting(two_customers):
    w = two_customers
    bound, mine, theirs = w["bound"], w["my_account"], w["their_account"]
    theirs.refresh_from_db()
    their_balance = theirs.balance
    response = bound.post(
        "/api/v1/transfers/",
        {
            "from_account": str(mine.public_id),
            "to_account": str(theirs.public_id),
            "amount": "25.00",
            "currency": "CNY",
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["kind"] == "transfer"
    assert [(p["account"], p["amount"], p["balance_after"]) for p in body["postings"]] == [
        (str(mine.public_id), "-25.00", "75.00")
    ]
    assert str(theirs.public_id) not in response.content.decode()
    theirs.refresh_from_db()
    assert theirs.balance == their_balance + 25
    shown = bound.get(f"/api/v1/transactions/{body['id']}/")
    assert shown.status_code == 200
    assert [p["account"] for p in shown.json()["postings"]] == [str(mine.public_id)]
    assert str(theirs.public_id) not in shown.content.decode()


def test_a_bound_client_cannot_transfer_to_a_bank_ledger_account(two_customers):
    w = two_customers
    vault = Account.objects.filter(is_internal=True, currency="CNY").first()
    before = bank_state()
    response = w["bound"].post(
        "/api/v1/transfers/",
        {
            "from_account": str(w["my_account"].public_id),
            "to_account": str(vault.public_id),
            "amount": "1.00",
            "currency": "CNY",
        },
    )
    assert_problem(response, 404, "not_found")
    assert bank_state() == before


# --- the shape of every error -----------------------------------------------------------------


def test_every_kind_of_error_is_problem_json_with_the_standard_keys(api, make_api, make_account):
    account = make_account(balance="1")
    released = hold_release(
        actor=SYSTEM_ACTOR, hold=hold_create(actor=SYSTEM_ACTOR, account=account, amount=Money(Decimal("1"), "CNY"))
    )
    reader = make_api(scopes=["reports:read"])
    anonymous = Client()
    responses = {
        400: api.post("/api/v1/deposits/", {"account": "x"}),
        401: anonymous.get("/api/v1/accounts/"),
        403: reader.get("/api/v1/accounts/"),
        404: api.get(f"/api/v1/accounts/{uuid.uuid4()}/"),
        409: api.post(f"/api/v1/holds/{released.public_id}/release/", {}),
        415: api.http.post(
            "/api/v1/deposits/",
            "x",
            content_type="text/plain",
            HTTP_AUTHORIZATION=f"Bearer {api.token}",
            HTTP_IDEMPOTENCY_KEY="k",
        ),
        422: api.post("/api/v1/withdrawals/", {"account": str(account.public_id), "amount": "2.00", "currency": "CNY"}),
    }
    for status, response in responses.items():
        assert response.status_code == status, (status, response.content)
        assert response["Content-Type"] == "application/problem+json"
        body = response.json()
        assert set(body) >= PROBLEM_FIELDS
        assert body["status"] == status
        assert isinstance(body["code"], str)
        assert body["code"]
        assert all(isinstance(body[k], str) for k in ("type", "title", "detail", "code"))
    assert "errors" in responses[400].json()
