"""Payments through the REST API (API.md): POST answers 202 with the payment held, GET follows
it to settled or rejected; the gateway's signed callbacks; webhook endpoints and replay.

Every refused request proves that nothing changed."""

from __future__ import annotations

import json
import time
import uuid
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings
from django.test import Client, override_settings

from apps.accounts.models import Account, Hold
from apps.common.models import IdempotencyRecord
from apps.integrations.models import Delivery, DeliveryStatus, OutboxEvent, WebhookEndpoint
from apps.integrations.services import deliveries_send_due, outbox_relay
from apps.integrations.signing import signature_header
from apps.transactions.models import Payment, PaymentEvent
from apps.transactions.services_payments import payment_submit
from tests.support import assert_problem, ledger_state

PAYMENTS = "/api/v1/payments/"
CALLBACK = "/api/v1/gateway/callback/"


def body(account: Account, amount: str = "100.00", **extra: Any) -> dict[str, Any]:
    document = {
        "from_account": str(account.public_id),
        "amount": amount,
        "currency": account.currency,
        "beneficiary": {
            "name": "Li Wei",
            "account_number": "6222020200112233",
            "bank_code": "ICBKCNBJ",
            "country": "CN",
        },
        "reference": "invoice 42",
    }
    document.update(extra)
    return document


def everything() -> tuple[Any, ...]:
    return (ledger_state(), Payment.objects.count(), PaymentEvent.objects.count(), Hold.objects.count())


def test_a_payment_is_accepted_with_202_and_its_funds_held(api, make_account):
    account = make_account(balance="500.00")
    response = api.post(PAYMENTS, body(account, "120.50"))
    assert response.status_code == 202, response.content
    payment = response.json()
    assert payment["status"] == "held"
    assert payment["amount"] == "120.50"
    assert payment["currency"] == "CNY"
    assert payment["from_account"] == str(account.public_id)
    assert payment["beneficiary"]["bank_code"] == "ICBKCNBJ"
    assert [h["status"] for h in payment["history"]] == ["received", "screened", "held"]
    read = api.get(f"{PAYMENTS}{payment['id']}/")
    assert read.status_code == 200
    assert read.json()["status"] == "held"
    account_body = api.get(f"/api/v1/accounts/{account.public_id}/").json()
    assert (account_body["balance"], account_body["available"]) == ("500.00", "379.50")


@override_settings(FINSYS_GATEWAY_SIM_LATENCY_MS=0)
def test_get_follows_the_payment_to_settled(api, make_account):
    account = make_account(balance="500.00")
    payment = api.post(PAYMENTS, body(account)).json()
    payment_submit(payment_id=Payment.objects.get(public_id=payment["id"]).pk)
    read = api.get(f"{PAYMENTS}{payment['id']}/").json()
    assert read["status"] == "settled"
    assert read["transaction"] is not None
    assert api.get(f"/api/v1/transactions/{read['transaction']}/").json()["kind"] == "payment"


def test_the_same_idempotency_key_replays_the_first_answer_and_holds_once(api, make_account):
    account = make_account(balance="500.00")
    key = str(uuid.uuid4())
    first = api.post(PAYMENTS, body(account), key=key)
    again = api.post(PAYMENTS, body(account), key=key)
    assert first.status_code == again.status_code == 202
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Payment.objects.count() == 1
    assert Hold.objects.count() == 1
    assert_problem(api.post(PAYMENTS, body(account, "1.00"), key=key), 409, "idempotency_conflict")


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"amount": "500.01"}, 422, "insufficient_funds"),
        ({"currency": "USD"}, 422, "currency_mismatch"),
        ({"currency": "XXX"}, 400, "validation_error"),
        ({"amount": "-1"}, 400, "validation_error"),
        ({"amount": "0"}, 400, "validation_error"),
        ({"amount": "1e3"}, 400, "validation_error"),
        ({"from_account": "not-a-uuid"}, 400, "validation_error"),
        ({"from_account": str(uuid.uuid4())}, 404, "not_found"),
        ({"beneficiary": {"name": "x"}}, 400, "validation_error"),
        ({"beneficiary": "x"}, 400, "validation_error"),
        (
            {"beneficiary": {"name": "Li", "account_number": "1", "bank_code": "ICBKCNBJ", "country": "XX"}},
            400,
            "validation_error",
        ),
        ({"reference": "r" * 141}, 400, "validation_error"),
        ({"reference": "a\u0000b"}, 400, "validation_error"),
    ],
)
def test_a_refused_payment_answers_a_problem_and_changes_nothing(api, make_account, change, status, code):
    account = make_account(balance="500.00")
    before = everything()
    response = api.post(PAYMENTS, body(account, **change))
    problem = assert_problem(response, status, code)
    if status == 400:
        assert problem["errors"]
    assert everything() == before


def test_a_payment_without_an_idempotency_key_is_refused(api, make_account):
    account = make_account(balance="500.00")
    before = everything()
    assert_problem(api.post(PAYMENTS, body(account), key=None), 400, "idempotency_key_required")
    assert everything() == before
    assert not IdempotencyRecord.objects.exists()


def test_a_customer_bound_client_pays_from_its_own_accounts_and_sees_only_its_payments(make_api, make_account):
    mine = make_account(balance="500.00")
    theirs = make_account(balance="500.00")
    me = make_api(scopes=["payments:write", "accounts:read"], customer=mine.customer)
    bank = make_api()
    before = everything()
    assert_problem(me.post(PAYMENTS, body(theirs)), 404, "not_found")
    assert everything() == before
    own = me.post(PAYMENTS, body(mine))
    assert own.status_code == 202
    other = bank.post(PAYMENTS, body(theirs)).json()
    assert me.get(f"{PAYMENTS}{own.json()['id']}/").status_code == 200
    assert_problem(me.get(f"{PAYMENTS}{other['id']}/"), 404, "not_found")
    reader = make_api(scopes=["accounts:read"])
    assert reader.get(f"{PAYMENTS}{other['id']}/").status_code == 200
    assert_problem(reader.post(PAYMENTS, body(theirs)), 403, "permission_denied")


# --- gateway callbacks ------------------------------------------------------------------------


def callback(document: dict[str, Any], *, secret: str | None = None, timestamp: int | None = None) -> Any:
    raw = json.dumps(document).encode()
    signature = signature_header(secret or settings.FINSYS_GATEWAY_CALLBACK_SECRET, raw, timestamp=timestamp)
    return Client().post(CALLBACK, raw, content_type="application/json", **{"HTTP_X_FINSYS_SIGNATURE": signature})


@pytest.fixture
def submitted(api: Any, make_account: Any) -> tuple[Account, dict[str, Any]]:
    """A payment the gateway has accepted and will answer by callback."""
    account = make_account(balance="500.00")
    payment = api.post(PAYMENTS, body(account)).json()
    with override_settings(FINSYS_GATEWAY_SIM_LATENCY_MS=0, FINSYS_GATEWAY_SIM_CALLBACK_URL="http://127.0.0.1:9/"):
        assert payment_submit(payment_id=Payment.objects.get(public_id=payment["id"]).pk).status == "submitted"
    return account, payment


def test_a_signed_callback_settles_the_payment_and_a_repeat_changes_nothing(api, submitted):
    account, payment = submitted
    document = {"payment_id": payment["id"], "status": "settled", "gateway_reference": "G1"}
    first = callback(document)
    assert first.status_code == 200, first.content
    assert first.json() == {"payment": payment["id"], "status": "settled"}
    before = everything()
    assert callback(document).json() == {"payment": payment["id"], "status": "settled"}
    assert callback({**document, "status": "rejected"}).json()["status"] == "settled"
    assert everything() == before
    account.refresh_from_db()
    assert account.balance == Decimal("400.00")
    returned = callback({"payment_id": payment["id"], "status": "returned", "reason": "account closed"})
    assert returned.json()["status"] == "returned"
    account.refresh_from_db()
    assert (account.balance, account.available) == (Decimal("500.00"), Decimal("500.00"))


def test_a_callback_with_a_bad_old_or_missing_signature_is_refused_and_changes_nothing(submitted):
    _account, payment = submitted
    document = {"payment_id": payment["id"], "status": "settled"}
    before = everything()
    assert_problem(callback(document, secret="wrong"), 401, "not_authenticated")
    assert_problem(callback(document, timestamp=int(time.time()) - 3600), 401, "not_authenticated")
    unsigned = Client().post(CALLBACK, json.dumps(document), content_type="application/json")
    assert_problem(unsigned, 401, "not_authenticated")
    raw = json.dumps(document).encode()
    tampered = Client().post(
        CALLBACK,
        raw.replace(b"settled", b"rejected"),
        content_type="application/json",
        HTTP_X_FINSYS_SIGNATURE=signature_header(settings.FINSYS_GATEWAY_CALLBACK_SECRET, raw),
    )
    assert_problem(tampered, 401, "not_authenticated")
    assert everything() == before
    assert Payment.objects.get(public_id=payment["id"]).status == "submitted"


def test_a_signed_but_malformed_callback_is_a_400_and_an_unknown_payment_a_404(submitted):
    before = everything()
    assert_problem(callback({"payment_id": "x", "status": "settled"}), 400, "validation_error")
    assert_problem(callback({"payment_id": str(uuid.uuid4()), "status": "settled"}), 404, "not_found")
    assert_problem(callback({"payment_id": str(uuid.uuid4()), "status": "paid"}), 400, "validation_error")
    assert everything() == before


# --- webhooks -----------------------------------------------------------------------------


def test_webhook_endpoints_are_registered_listed_and_scoped_to_their_owner(make_api):
    owner = make_api(scopes=["webhooks:write"])
    other = make_api(scopes=["webhooks:write"])
    response = owner.post(
        "/api/v1/webhooks/", {"url": "https://example.com/hook", "event_kinds": ["payment.status_changed"]}
    )
    assert response.status_code == 201, response.content
    endpoint = response.json()
    assert endpoint["secret"].startswith("whsec_")
    assert endpoint["event_kinds"] == ["payment.status_changed"]
    listed = owner.get("/api/v1/webhooks/").json()["results"]
    assert [e["id"] for e in listed] == [endpoint["id"]]
    assert "secret" not in listed[0]
    assert other.get("/api/v1/webhooks/").json()["results"] == []
    assert_problem(other.get(f"/api/v1/webhooks/{endpoint['id']}/"), 404, "not_found")
    stored = WebhookEndpoint.objects.get(public_id=endpoint["id"])
    assert stored.secret == endpoint["secret"]
    deactivated = owner.http.delete(
        f"/api/v1/webhooks/{endpoint['id']}/", HTTP_AUTHORIZATION=f"Bearer {owner.token}"
    ).json()
    assert deactivated["is_active"] is False


@pytest.mark.parametrize(
    "document",
    [
        {"url": "ftp://example.com/x"},
        {"url": "https://user:pw@example.com/x"},
        {"url": "not a url"},
        {"url": "https://example.com/x", "event_kinds": ["nope"]},
        {"event_kinds": []},
    ],
)
def test_a_bad_webhook_registration_is_a_400_and_stores_nothing(make_api, document):
    owner = make_api(scopes=["webhooks:write"])
    assert_problem(owner.post("/api/v1/webhooks/", document), 400, "validation_error")
    assert not WebhookEndpoint.objects.exists()


def test_a_dead_delivery_is_listed_and_can_be_replayed_through_the_api(api, make_account):
    hook = api.post("/api/v1/webhooks/", {"url": "http://127.0.0.1:9/unreachable"}).json()
    account = make_account(balance="500.00")
    api.post(PAYMENTS, body(account))
    outbox_relay()
    with override_settings(FINSYS_WEBHOOK_MAX_ATTEMPTS=1, FINSYS_WEBHOOK_TIMEOUT_SECONDS=1):
        assert deliveries_send_due() == 0
    deliveries = api.get(f"/api/v1/webhooks/{hook['id']}/deliveries/").json()["results"]
    assert [(d["status"], d["attempts"], d["kind"]) for d in deliveries] == [("dead", 1, "payment.status_changed")]
    assert deliveries[0]["last_error"]
    replay = api.post(f"/api/v1/webhooks/deliveries/{deliveries[0]['id']}/replay/", {})
    assert replay.status_code == 200, replay.content
    assert (replay.json()["status"], replay.json()["attempts"]) == ("pending", 0)
    assert Delivery.objects.get().status == DeliveryStatus.PENDING
    assert OutboxEvent.objects.count() == 1
