"""Cross-currency payments: a payment in another currency than its account's is converted at
the treasury rate in force when it is accepted (less the spread, the account's side rounded UP
to the cent), held in the account's currency, settled through the FX position accounts in one
entry balanced per currency, released when rejected, and returned in full in the account's
currency. No rate for the pair: 422 currency_mismatch saying why, and nothing changes."""

from __future__ import annotations

from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.test import override_settings

from apps.accounts.models import Account, GlCode, Hold, HoldStatus
from apps.common.errors import CurrencyMismatchError, InsufficientFunds
from apps.common.money import Money
from apps.common.principals import SYSTEM_ACTOR, Actor, Channel
from apps.compliance.services import approval_approve, fx_rate_request
from apps.integrations.gateway import GatewayOutcome
from apps.integrations.models import OutboxEvent
from apps.transactions.models import EntryKind, Payment, PaymentEvent, PaymentStatus, Posting
from apps.transactions.services_payments import (
    Beneficiary,
    payment_create,
    payment_gateway_report,
    payment_submit,
)
from apps.treasury.models import FxRate
from tests.support import assert_problem, ledger_state

MAKER = Actor(label="user:treasurer", channel=Channel.BRANCH)
CHECKER = Actor(label="user:checker", channel=Channel.BRANCH)
BENEFICIARY = Beneficiary(name="John Smith", account_number="021000021123", bank_code="CHASUS33", country="US")
REJECTING = Beneficiary(name="John Smith", account_number="0004444", bank_code="CHASUS33", country="US")
SETTINGS: dict[str, Any] = {
    "FINSYS_FX_SPREAD_BPS": 50,
    "FINSYS_FX_SPREAD_BPS_BY_CHANNEL": {},
    "FINSYS_GATEWAY_SIM_LATENCY_MS": 0,
    "FINSYS_GATEWAY_SIM_TIMEOUT_RATE": 0.0,
    "FINSYS_GATEWAY_SIM_REJECT_RATE": 0.0,
}


@pytest.fixture(autouse=True)
def _fx_settings() -> Any:
    with override_settings(**SETTINGS):
        yield


def _rate(mid: str = "7.2", base: str = "USD", quote: str = "CNY") -> FxRate:
    approval = fx_rate_request(actor=MAKER, base=base, quote=quote, mid=Decimal(mid))
    decided = approval_approve(actor=CHECKER, approval=approval)
    return FxRate.objects.get(public_id=decided.result["rate"])


def _gl(code: str, currency: str) -> Account:
    return Account.objects.get(is_internal=True, gl_code=code, currency=currency)


def _balances(account: Account) -> tuple[Decimal, ...]:
    account.refresh_from_db()
    return (
        account.balance,
        account.available,
        _gl(GlCode.FX_POSITION, "CNY").balance,
        _gl(GlCode.FX_POSITION, "USD").balance,
        _gl(GlCode.CLEARING, "USD").balance,
        _gl(GlCode.CLEARING, "CNY").balance,
    )


def _pay(account: Account, amount: str = "100.00", currency: str = "USD", **kw: Any) -> Payment:
    return payment_create(
        actor=kw.pop("actor", SYSTEM_ACTOR),
        from_account=account.public_id,
        money=Money(Decimal(amount), currency),
        beneficiary=kw.pop("beneficiary", BENEFICIARY),
        reference="invoice 7",
    )


def _ledger_ok() -> None:
    out = StringIO()
    call_command("check_ledger", stdout=out)
    assert "ledger ok" in out.getvalue()


def test_a_usd_payment_from_a_cny_account_holds_settles_and_returns_to_the_cent(make_account):
    rate = _rate("7.2")
    account = make_account(currency="CNY", balance="1000.00")
    start = _balances(account)
    payment = _pay(account, "100.00")
    # 1 CNY = 1/7.2 = 0.1388888889 USD, less 0.5 % = 0.1381944444 (rounded down);
    # 100.00 / 0.1381944444 = 723.6180... CNY, rounded UP to 723.62 (723.62 x rate >= 100.00).
    assert payment.status == PaymentStatus.HELD
    assert (payment.amount, payment.currency) == (Decimal("100.00"), "USD")
    assert (payment.fx_debit_amount, payment.fx_debit_currency) == (Decimal("723.62"), "CNY")
    assert (payment.fx_mid_rate, payment.fx_customer_rate, payment.fx_spread_bps) == (
        Decimal("0.1388888889"),
        Decimal("0.1381944444"),
        50,
    )
    assert payment.fx_rate == rate.public_id
    assert payment.fx_debit_amount * payment.fx_customer_rate >= payment.amount
    assert (payment.fx_debit_amount - Decimal("0.01")) * payment.fx_customer_rate < payment.amount
    assert payment.hold is not None
    assert (payment.hold.amount, payment.hold.currency) == (Decimal("723.62"), "CNY")
    assert _balances(account)[:2] == (Decimal("1000.00"), Decimal("276.38"))

    assert payment_submit(payment_id=payment.pk).status == PaymentStatus.SETTLED
    payment.refresh_from_db()
    entry = payment.settlement_entry
    assert entry is not None
    assert (entry.kind, entry.amount, entry.currency) == (EntryKind.PAYMENT, Decimal("100.00"), "USD")
    legs = sorted((p.account_id, p.amount, p.currency) for p in Posting.objects.filter(entry=entry))
    assert legs == sorted(
        [
            (account.pk, Decimal("-723.62"), "CNY"),
            (_gl(GlCode.FX_POSITION, "CNY").pk, Decimal("723.62"), "CNY"),
            (_gl(GlCode.FX_POSITION, "USD").pk, Decimal("-100.00"), "USD"),
            (_gl(GlCode.CLEARING, "USD").pk, Decimal("100.00"), "USD"),
        ]
    )
    settled = _balances(account)
    assert settled == (
        Decimal("276.38"),
        Decimal("276.38"),
        start[2] + Decimal("723.62"),
        start[3] - Decimal("100.00"),
        start[4] + Decimal("100.00"),
        start[5],
    )
    assert Hold.objects.get(pk=payment.hold_id).status == HoldStatus.CAPTURED
    _ledger_ok()

    # The beneficiary bank sends it back: exactly 723.62 CNY returns, whatever the rate is now.
    _rate("7.5")
    assert payment_gateway_report(public_id=payment.public_id, outcome=GatewayOutcome.RETURNED) == "returned"
    assert payment_gateway_report(public_id=payment.public_id, outcome=GatewayOutcome.RETURNED) == "returned"
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.RETURNED
    returned = sorted((p.account_id, p.amount) for p in Posting.objects.filter(entry=payment.return_entry))
    assert returned == sorted((pk, -amount) for pk, amount, _c in legs)
    assert _balances(account) == start
    assert Payment.objects.get(pk=payment.pk).return_entry.kind == EntryKind.PAYMENT_RETURN  # type: ignore[union-attr]
    _ledger_ok()


def test_the_rate_is_fixed_when_the_payment_is_accepted(make_account):
    _rate("7.2")
    account = make_account(currency="CNY", balance="1000.00")
    payment = _pay(account, "100.00")
    _rate("8.0")  # a new rate after acceptance changes neither the hold nor the settlement
    payment_submit(payment_id=payment.pk)
    account.refresh_from_db()
    assert account.balance == Decimal("276.38")
    # ...while a new payment uses the new rate: 1/8 x 0.995 = 0.124375; 10.00 / 0.124375 = 80.402 -> 80.41
    assert _pay(account, "10.00").fx_debit_amount == Decimal("80.41")


def test_a_rejected_cross_currency_payment_releases_the_hold_in_the_account_currency(make_account):
    _rate("7.2")
    account = make_account(currency="CNY", balance="1000.00")
    start = _balances(account)
    payment = _pay(account, "100.00", beneficiary=REJECTING)
    assert _balances(account)[1] == Decimal("276.38")
    assert payment_submit(payment_id=payment.pk).status == PaymentStatus.REJECTED
    assert _balances(account) == start
    assert Hold.objects.get(pk=payment.hold_id).status == HoldStatus.RELEASED
    _ledger_ok()


def test_a_payment_from_a_usd_account_in_cny_uses_the_stored_pair_directly(make_account):
    _rate("7.2")  # stored USD/CNY: USD -> CNY is the mid as stored, less the spread
    account = make_account(currency="USD", balance="100.00")
    payment = _pay(account, "716.40", currency="CNY")
    # 7.2 x 0.995 = 7.164; 716.40 / 7.164 = 100.00 exactly
    assert (payment.fx_debit_amount, payment.fx_customer_rate) == (Decimal("100.00"), Decimal("7.164"))
    with pytest.raises(InsufficientFunds):
        _pay(account, "0.01", currency="CNY")  # nothing left available


def test_without_a_rate_for_the_pair_the_payment_is_refused_and_nothing_changes(make_account):
    _rate("7.2")  # USD/CNY only
    account = make_account(currency="CNY", balance="1000.00")
    before = (ledger_state(), Payment.objects.count(), PaymentEvent.objects.count(), Hold.objects.count())
    outbox = OutboxEvent.objects.count()
    with pytest.raises(CurrencyMismatchError) as refused:
        _pay(account, "100.00", currency="EUR")
    assert refused.value.extra["reason"] == "fx_rate_unavailable"
    assert "no exchange rate" in str(refused.value.message)
    with pytest.raises(InsufficientFunds):
        _pay(account, "138.20")  # 138.20 USD needs 1000.05 CNY: the account's side is checked
    assert (ledger_state(), Payment.objects.count(), PaymentEvent.objects.count(), Hold.objects.count()) == before
    assert OutboxEvent.objects.count() == outbox


def test_the_api_shows_both_amounts_and_the_rate_and_refuses_a_missing_rate_with_422(api, make_account):
    rate = _rate("7.2")
    account = make_account(currency="CNY", balance="1000.00")
    document = {
        "from_account": str(account.public_id),
        "amount": "100.00",
        "currency": "USD",
        "beneficiary": {
            "name": "John Smith",
            "account_number": "021000021123",
            "bank_code": "CHASUS33",
            "country": "US",
        },
        "reference": "invoice 7",
    }
    response = api.post("/api/v1/payments/", document)
    assert response.status_code == 202, response.content
    created = response.json()
    assert (created["status"], created["amount"], created["currency"]) == ("held", "100.00", "USD")
    assert created["fx"] == {
        "account_amount": "723.62",
        "account_currency": "CNY",
        "mid_rate": "0.1388888889",
        "customer_rate": "0.1381944444",
        "spread_bps": 50,
        "rate": str(rate.public_id),
    }
    payment_submit(payment_id=Payment.objects.get(public_id=created["id"]).pk)
    read = api.get(f"/api/v1/payments/{created['id']}/").json()
    assert read["status"] == "settled"
    assert read["fx"]["account_amount"] == "723.62"
    assert api.get(f"/api/v1/accounts/{account.public_id}/").json()["balance"] == "276.38"
    same_currency = api.post("/api/v1/payments/", {**document, "currency": "CNY"}).json()
    assert same_currency["fx"] is None

    before = (ledger_state(), Payment.objects.count(), Hold.objects.count())
    refused = api.post("/api/v1/payments/", {**document, "currency": "EUR"})
    assert_problem(refused, 422, "currency_mismatch")
    assert refused.json()["reason"] == "fx_rate_unavailable"
    assert (ledger_state(), Payment.objects.count(), Hold.objects.count()) == before
