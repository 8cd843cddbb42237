"""IDOR: a customer-bound client tries every id-bearing API endpoint - enumerated from the URL
resolver, so a new one is covered without editing this file - with another customer's customer,
account, transaction, hold and approval ids, in the path and in the body. Every answer is 404
`not_found`, exactly as for an id that exists nowhere, shows nothing of the other customer, and
nothing changes. (Portal users get the same test when the portal lands.)
"""

from __future__ import annotations

import re
import uuid
from decimal import Decimal
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from apps.accounts.models import Account, Hold
from apps.accounts.services import hold_create
from apps.common.money import Money
from apps.common.principals import SYSTEM_ACTOR, Actor, Channel
from apps.compliance.models import Approval
from apps.customers.models import Customer
from apps.integrations.models import Delivery, WebhookEndpoint
from apps.integrations.services import outbox_relay, webhook_endpoint_create
from apps.reports.services import report_request
from apps.transactions.models import JournalEntry, Payment, Posting
from tests.support import PROBLEM_FIELDS, assert_problem, payment_body

PATH_ID = re.compile(r"<uuid:(\w+)>")
# POSTs that take other resources' ids in their body: which foreign ids to put there.
FOREIGN_BODIES: dict[str, Any] = {
    "api:accounts": lambda f: {"customer": f["customer_id"], "currency": "CNY"},
    "api:deposits": lambda f: {"account": f["account_id"], "amount": "1.00", "currency": "CNY"},
    "api:withdrawals": lambda f: {"account": f["account_id"], "amount": "1.00", "currency": "CNY"},
    "api:transfers": lambda f: {
        "from_account": f["account_id"],
        "to_account": f["own_account_id"],
        "amount": "1.00",
        "currency": "CNY",
    },
    "api:fx-transfers": lambda f: {
        "from_account": f["account_id"],
        "to_account": f["own_account_id"],
        "amount": "1.00",
        "currency": "CNY",
    },
    "api:holds": lambda f: {"account": f["account_id"], "amount": "1.00", "currency": "CNY"},
    "api:payments": lambda f: payment_body(f["account_id"], reference="idor"),
    "api:reports": lambda f: {
        "kind": "statement",
        "format": "csv",
        "account": f["account_id"],
        "from": timezone.now().date().isoformat(),
        "to": timezone.now().date().isoformat(),
    },
}
# Bodies that pass validation for id-in-path POSTs, so that the lookup is what answers.
PATH_BODIES: dict[str, dict[str, Any]] = {"api:customer-kyc": {"decision": "rejected"}}
# POSTs that carry no other resource's id (nothing to try): bank-only, or a new resource of the caller.
NO_FOREIGN_IDS = {"api:customers", "api:token", "api:webhooks", "api:fx-rates"}


def api_routes() -> list[tuple[str, str, str]]:
    """(route below /api/v1/, name, METHOD) for every method every API view implements."""
    (api,) = [p for p in get_resolver().url_patterns if isinstance(p, URLResolver) and p.namespace == "api"]
    found = []
    for pattern in api.url_patterns:
        assert isinstance(pattern, URLPattern), pattern
        view_class = getattr(pattern.callback, "cls", None)
        if view_class is None or not getattr(view_class, "required_scopes", None):
            continue  # public documents and the token endpoint
        for method in ("get", "post", "put", "patch", "delete"):
            if hasattr(view_class, method):
                found.append((str(pattern.pattern), f"api:{pattern.name}", method.upper()))
    return found


ROUTES = api_routes()
ID_ROUTES = [r for r in ROUTES if PATH_ID.search(r[0]) or (r[2] != "GET" and r[1] not in NO_FOREIGN_IDS)]


@pytest.fixture
def foreign(api, make_api, make_customer, make_account) -> dict[str, Any]:
    mine, theirs = make_customer(name="Alice Own"), make_customer(name="Bob Foreign")
    own_account = make_account(customer=mine, balance="50")
    account, other = make_account(customer=theirs, balance="100"), make_account(customer=theirs)
    moved = api.post(
        "/api/v1/transfers/",
        {"from_account": str(account.public_id), "to_account": str(other.public_id), "amount": "1", "currency": "CNY"},
    )
    assert moved.status_code == 201, moved.content
    hold = hold_create(actor=SYSTEM_ACTOR, account=account, amount=Money(Decimal("2"), "CNY"))
    assert api.post(f"/api/v1/accounts/{other.public_id}/freeze/", {}, key=None).status_code == 200
    unfreeze = api.post(f"/api/v1/accounts/{other.public_id}/unfreeze/", {}, key=None)
    assert unfreeze.status_code == 202
    paid = api.post("/api/v1/payments/", FOREIGN_BODIES["api:payments"]({"account_id": str(account.public_id)}))
    assert paid.status_code == 202, paid.content
    # Another principal's webhook endpoint and one of its deliveries (the payment's events).
    endpoint, _secret = webhook_endpoint_create(actor=SYSTEM_ACTOR, url="https://example.com/hook", event_kinds=[])
    outbox_relay()
    delivery = Delivery.objects.filter(endpoint=endpoint).first()
    assert delivery is not None
    # A statement of theirs, asked for by one of their own clients.
    report = report_request(
        actor=Actor(label="client:theirs", channel=Channel.API, customer_id=theirs.pk),
        kind="statement",
        format="csv",
        account_public_id=account.public_id,
        start_date=timezone.now().date(),
        end_date=timezone.now().date(),
    )
    return {
        "bound": make_api(customer=mine),
        "theirs": theirs,
        "secrets": [theirs.full_name, theirs.national_id, account.number, other.number, str(account.public_id)],
        "ids": {
            "customer_id": str(theirs.public_id),
            "account_id": str(account.public_id),
            "frozen_account_id": str(other.public_id),
            "own_account_id": str(own_account.public_id),
            "transaction_id": moved.json()["id"],
            "hold_id": str(hold.public_id),
            "approval_id": unfreeze.json()["approval"],
            "payment_id": paid.json()["id"],
            "webhook_id": str(endpoint.public_id),
            "delivery_id": str(delivery.public_id),
            "report_id": str(report.public_id),
        },
    }


def bank_state() -> tuple[Any, ...]:
    return (
        sorted(Customer.objects.values_list("pk", "kyc_status", "updated_at")),
        sorted(Account.objects.values_list("pk", "status", "balance", "available", "updated_at")),
        sorted(Hold.objects.values_list("pk", "status", "captured_amount")),
        sorted(Approval.objects.values_list("pk", "status")),
        JournalEntry.objects.count(),
        Posting.objects.count(),
        sorted(Payment.objects.values_list("pk", "status")),
        sorted(WebhookEndpoint.objects.values_list("pk", "is_active")),
        sorted(Delivery.objects.values_list("pk", "status", "attempts")),
    )


def attempt(bound: Any, route: str, name: str, method: str, ids: dict[str, str]) -> tuple[str, Any]:
    def fill(match: re.Match[str]) -> str:
        kwarg = match.group(1)
        if kwarg == "account_id" and route.endswith("unfreeze/"):
            return ids["frozen_account_id"]
        assert kwarg in ids, f"no foreign id for <uuid:{kwarg}> in {route}: add one to the `foreign` fixture"
        return ids[kwarg]

    path = "/api/v1/" + PATH_ID.sub(fill, route)
    if method == "GET":
        return path, bound.get(path)
    if method == "DELETE":
        return path, bound.http.delete(path, **bound._headers(str(uuid.uuid4())))
    if PATH_ID.search(route):
        body = PATH_BODIES.get(name, {})
    else:
        assert name in FOREIGN_BODIES, f"{method} {route} takes a body: say which foreign ids go in it (FOREIGN_BODIES)"
        body = FOREIGN_BODIES[name](ids)
    return path, bound.post(path, body)


def test_the_enumeration_finds_the_id_bearing_endpoints():
    names = {(name, method) for _r, name, method in ID_ROUTES}
    assert {("api:account", "GET"), ("api:transaction-reverse", "POST"), ("api:deposits", "POST")} <= names
    assert len(ID_ROUTES) >= 20


def test_another_customers_ids_answer_404_on_every_endpoint_and_nothing_changes(api, foreign):
    bound, ids = foreign["bound"], foreign["ids"]
    before = bank_state()
    tried = 0
    for route, name, method in ID_ROUTES:
        path, response = attempt(bound, route, name, method, ids)
        problem = assert_problem(response, 404, "not_found")
        assert set(problem) == PROBLEM_FIELDS, (path, problem)
        text = response.content.decode()
        assert not [s for s in foreign["secrets"] if s in text], path
        # The same answer as for ids that exist nowhere.
        nowhere = {key: str(uuid.uuid4()) for key in ids} | {"own_account_id": ids["own_account_id"]}
        _path, twin = attempt(bound, route, name, method, nowhere)
        assert twin.status_code == 404, (name, method, twin.content)
        assert twin.json()["detail"] == problem["detail"], (name, method)
        tried += 1
    assert tried >= 20
    assert bank_state() == before
    # The bank itself sees all of it: the ids were real.
    for key, path in (("customer_id", "customers"), ("account_id", "accounts"), ("transaction_id", "transactions")):
        assert api.get(f"/api/v1/{path}/{ids[key]}/").status_code == 200


def test_listing_filters_with_another_customers_id_find_nothing(foreign):
    bound = foreign["bound"]
    empty = {"results": [], "next": None}
    assert bound.get("/api/v1/accounts/", customer=foreign["ids"]["customer_id"]).json() == empty
    assert bound.get("/api/v1/customers/", search=foreign["theirs"].full_name).json() == empty
    assert bound.get("/api/v1/customers/", search=foreign["theirs"].national_id).json() == empty
