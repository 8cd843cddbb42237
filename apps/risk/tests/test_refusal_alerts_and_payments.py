"""Payments are screened by the risk rules and limits like transfers (review: pending_approval
with an alert; block: 422 with the reason), and a refused movement - whose transaction rolls back
everything it wrote - still leaves exactly one alert, once per request even when replayed."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from typing import Any

import pytest

from apps.accounts.models import Account
from apps.common.money import Money
from apps.risk.models import Alert, AlertCategory, LimitRule, Rule
from apps.risk.tests.conftest import api_actor
from apps.transactions.models import Payment, PaymentStatus
from apps.transactions.services import transfer_create
from tests.support import assert_problem, ledger_state, payment_body

pytestmark = pytest.mark.usefixtures("no_rules")


def activate(code: str, kind: str, parameters: dict[str, Any], action: str) -> Rule:
    return Rule.objects.create(code=code, version=1, kind=kind, parameters=parameters, action=action, status="active")


def foreign_body(account: Account, amount: str, country: str) -> dict[str, Any]:
    body = payment_body(str(account.public_id), amount)
    body["beneficiary"] = {**body["beneficiary"], "country": country}
    return body


def customer_client(make_api, account: Account):
    return make_api(customer=account.customer)


def test_a_payment_a_rule_reviews_waits_in_pending_approval_with_an_alert(make_api, make_account):
    activate("hrc", "high_risk_country", {"countries": ["IR"]}, "review")
    account = make_account(balance="1000")
    response = customer_client(make_api, account).post("/api/v1/payments/", foreign_body(account, "10.00", "IR"))
    assert response.status_code == 202, response.content
    payment = Payment.objects.get(public_id=json.loads(response.content)["id"])
    assert payment.status == PaymentStatus.PENDING_APPROVAL
    assert payment.hold is None  # nothing held, nothing leaves until someone approves
    alert = Alert.objects.get()
    assert (alert.kind, alert.outcome, alert.reference, alert.customer_id) == (
        "payment", "review", str(payment.public_id), account.customer_id,
    )  # fmt: skip
    assert "IR" in alert.reason


def test_a_payment_a_rule_blocks_is_refused_with_its_reason_stores_nothing_and_leaves_one_alert(make_api, make_account):
    rule = activate("hrc", "high_risk_country", {"countries": ["IR"]}, "block")
    account = make_account(balance="1000")
    client = customer_client(make_api, account)
    before = ledger_state()
    key = str(uuid.uuid4())
    response = client.post("/api/v1/payments/", foreign_body(account, "10.00", "IR"), key=key)
    problem = assert_problem(response, 422, "blocked_by_screening")
    assert "high-risk country" in problem["reason"]
    assert ledger_state() == before
    assert not Payment.objects.exists()
    alert = Alert.objects.get()
    assert (alert.category, alert.kind, alert.outcome, alert.rule_id) == (
        AlertCategory.RULE,
        "payment",
        "block",
        rule.pk,
    )
    assert (alert.amount, alert.currency, alert.customer_id) == (Decimal("10.00"), "CNY", account.customer_id)
    # the same request again (same key): the stored refusal is replayed, no second alert
    again = client.post("/api/v1/payments/", foreign_body(account, "10.00", "IR"), key=key)
    assert_problem(again, 422, "blocked_by_screening")
    assert Alert.objects.count() == 1


def test_a_payment_over_a_limit_is_refused_with_what_is_left_and_recorded_as_a_breach(make_api, make_account):
    LimitRule.objects.all().delete()
    LimitRule.objects.create(channel="api", currency="CNY", per_transaction=Decimal(100))
    account = make_account(balance="1000")
    client = customer_client(make_api, account)
    assert client.post("/api/v1/payments/", foreign_body(account, "100.00", "CN")).status_code == 202
    problem = assert_problem(
        client.post("/api/v1/payments/", foreign_body(account, "100.01", "CN")), 422, "limit_exceeded"
    )
    assert problem["limit"] == "per_transaction"
    alert = Alert.objects.get()
    assert (alert.category, alert.kind, alert.amount) == (AlertCategory.LIMIT, "payment", Decimal("100.01"))


def test_payments_of_the_banks_own_clients_skip_the_risk_screener(api, make_account):
    activate("hrc", "high_risk_country", {"countries": ["IR"]}, "block")
    account = make_account(balance="1000")
    assert api.post("/api/v1/payments/", foreign_body(account, "10.00", "IR")).status_code == 202


def test_a_blocked_transfer_moves_no_money_and_leaves_exactly_one_alert(make_api, make_account, make_customer):
    rule = activate("hrc", "high_risk_country", {"countries": ["IR"]}, "block")
    source = make_account(balance="1000")
    foreign = make_customer()
    foreign.country = "IR"
    foreign.save(update_fields=["country"])
    target = make_account(customer=foreign)
    client = customer_client(make_api, source)
    body = {
        "from_account": str(source.public_id),
        "to_account": str(target.public_id),
        "amount": "50.00",
        "currency": "CNY",
    }
    before = ledger_state()
    key = str(uuid.uuid4())
    assert_problem(client.post("/api/v1/transfers/", body, key=key), 422, "blocked_by_screening")
    assert ledger_state() == before  # no money moved
    alert = Alert.objects.get()  # exactly one
    assert (alert.kind, alert.outcome, alert.rule_id, alert.customer_id) == (
        "transfer",
        "block",
        rule.pk,
        source.customer_id,
    )
    assert alert.reason.startswith("refused: hrc:")
    assert_problem(client.post("/api/v1/transfers/", body, key=key), 422, "blocked_by_screening")
    assert Alert.objects.count() == 1  # a replay records nothing twice
    assert_problem(client.post("/api/v1/transfers/", body), 422, "blocked_by_screening")
    assert Alert.objects.count() == 2  # a new request is a new refusal
    assert ledger_state() == before


def test_a_withdrawal_a_rule_reviews_is_refused_and_leaves_one_alert(make_api, make_account):
    activate("vel", "velocity", {"count": 0, "minutes": 10}, "review")
    account = make_account(balance="1000")
    client = customer_client(make_api, account)
    before = ledger_state()
    response = client.post(
        "/api/v1/withdrawals/", {"account": str(account.public_id), "amount": "5.00", "currency": "CNY"}
    )
    assert_problem(response, 422, "blocked_by_screening")
    assert ledger_state() == before
    alert = Alert.objects.get()
    assert (alert.kind, alert.outcome) == ("withdrawal", "block")
    assert "vel:" in alert.reason


@pytest.mark.django_db(transaction=True)
def test_a_blocked_transfer_called_outside_any_transaction_leaves_its_alert(make_account, make_customer):
    """A command or a task calls the service with no transaction open: the alert is written as
    soon as the movement's own transaction has rolled back."""
    from apps.common.errors import BlockedByScreening

    Rule.objects.update(status="retired")
    activate("hrc", "high_risk_country", {"countries": ["IR"]}, "block")
    source = make_account(balance="100")
    foreign = make_customer()
    foreign.country = "IR"
    foreign.save(update_fields=["country"])
    target = make_account(customer=foreign)
    with pytest.raises(BlockedByScreening):
        transfer_create(
            actor=api_actor(source.customer),
            from_account=source.public_id,
            to_account=target.public_id,
            money=Money(Decimal(10), "CNY"),
        )
    assert Alert.objects.filter(kind="transfer", outcome="block").count() == 1
    source.refresh_from_db()
    assert source.balance == Decimal(100)
