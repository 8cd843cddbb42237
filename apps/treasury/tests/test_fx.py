"""FX: rates under maker-checker, cross-currency transfers that balance per currency through
the FX position accounts, bank-favourable rounding, refusals that change nothing, the API."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone

from apps.accounts.models import Account, GlCode
from apps.accounts.services import account_freeze
from apps.common.errors import (
    AccountNotActive,
    CurrencyMismatchError,
    FxRateUnavailable,
    InsufficientFunds,
    PermissionDenied,
    SameAccount,
    ValidationFailed,
)
from apps.common.money import Money
from apps.common.principals import SYSTEM_ACTOR, Actor, Channel
from apps.compliance.services import approval_approve, fx_rate_request
from apps.transactions.models import Posting
from apps.treasury.models import FxDeal, FxRate
from apps.treasury.selectors import fx_net_positions, fx_quote
from apps.treasury.services import fx_convert, fx_transfer_create
from tests.support import ledger_state

MAKER = Actor(label="user:treasurer", channel=Channel.BRANCH)
CHECKER = Actor(label="user:checker", channel=Channel.BRANCH)


def _rate(base: str = "USD", quote: str = "CNY", mid: str = "7.2", **kw) -> FxRate:
    approval = fx_rate_request(actor=MAKER, base=base, quote=quote, mid=Decimal(mid), **kw)
    approval_approve(actor=CHECKER, approval=approval)
    return FxRate.objects.get(public_id=approval.__class__.objects.get(pk=approval.pk).result["rate"])


def _position(currency: str) -> Account:
    return Account.objects.get(is_internal=True, gl_code=GlCode.FX_POSITION, currency=currency)


def test_a_rate_is_in_force_only_once_someone_else_approved_it(db):
    approval = fx_rate_request(actor=MAKER, base="USD", quote="CNY", mid=Decimal("7.2"))
    assert not FxRate.objects.exists()
    with pytest.raises(FxRateUnavailable):
        fx_quote(sell="USD", buy="CNY", channel="api")
    with pytest.raises(PermissionDenied):
        approval_approve(actor=MAKER, approval=approval)
    assert not FxRate.objects.exists()
    approval_approve(actor=CHECKER, approval=approval)
    rate = FxRate.objects.get()
    assert (rate.set_by, rate.approved_by, rate.approval) == ("user:treasurer", "user:checker", approval.public_id)


def test_a_new_rate_closes_the_open_one_and_is_used(db):
    old = _rate(mid="7.0")
    new = _rate(mid="7.3")
    old.refresh_from_db()
    assert old.valid_to == new.valid_from
    assert fx_quote(sell="USD", buy="CNY", channel="api").mid == Decimal("7.3")


def test_a_bad_rate_request_is_refused_and_asks_nothing(db):
    from apps.compliance.models import Approval

    for kwargs in (
        {"base": "USD", "quote": "USD", "mid": Decimal(1)},
        {"base": "USD", "quote": "CNY", "mid": Decimal(0)},
        {"base": "USD", "quote": "CNY", "mid": Decimal("7.12345678901")},
        {"base": "USD", "quote": "CNY", "mid": Decimal(7), "valid_to": timezone.now() - dt.timedelta(hours=1)},
    ):
        with pytest.raises(ValidationFailed):
            fx_rate_request(actor=MAKER, **kwargs)
    assert not Approval.objects.exists()


def test_the_spread_goes_against_the_customer_both_ways(db):
    _rate(mid="8")
    with override_settings(FINSYS_FX_SPREAD_BPS=100, FINSYS_FX_SPREAD_BPS_BY_CHANNEL={"portal": 50}):
        assert fx_quote(sell="USD", buy="CNY", channel="api").customer_rate == Decimal("7.92")
        assert fx_quote(sell="CNY", buy="USD", channel="api").customer_rate == Decimal("0.12375")
        assert fx_quote(sell="USD", buy="CNY", channel="portal").customer_rate == Decimal("7.96")


def test_conversion_rounds_down_to_the_minor_unit():
    assert fx_convert(Decimal("100.00"), rate=Decimal("0.1387999999"), currency="USD") == Decimal("13.87")
    assert fx_convert(Decimal("1000.00"), rate=Decimal("15.6789"), currency="JPY") == Decimal("15678")


def test_a_cross_currency_transfer_is_one_entry_balanced_per_currency(make_account, make_customer):
    _rate(mid="7.2")
    customer = make_customer()
    cny = make_account(customer=customer, currency="CNY", balance="1000.00")
    usd = make_account(customer=customer, currency="USD")
    with override_settings(FINSYS_FX_SPREAD_BPS=50):
        entry = fx_transfer_create(
            actor=SYSTEM_ACTOR,
            from_account=cny.public_id,
            to_account=usd.public_id,
            money=Money(Decimal("720.00"), "CNY"),
        )
    # 1 CNY = 1/7.2 = 0.1388888889 USD; less 0.5 % = 0.1381944444; x 720 = 99.499999968 -> 99.49
    deal = FxDeal.objects.get(entry=entry)
    assert (deal.mid_rate, deal.customer_rate, deal.spread_bps) == (
        Decimal("0.1388888889"),
        Decimal("0.1381944444"),
        50,
    )
    assert (deal.sell_amount, deal.buy_amount) == (Decimal("720.00"), Decimal("99.49"))
    legs = sorted((p.account_id, p.amount, p.currency) for p in Posting.objects.filter(entry=entry))
    assert legs == sorted(
        [
            (cny.pk, Decimal("-720.00"), "CNY"), (_position("CNY").pk, Decimal("720.00"), "CNY"),
            (_position("USD").pk, Decimal("-99.49"), "USD"), (usd.pk, Decimal("99.49"), "USD"),
        ]
    )  # fmt: skip
    assert fx_net_positions()["CNY"] == Decimal("720.00")
    assert fx_net_positions()["USD"] == Decimal("-99.49")
    out = StringIO()
    call_command("check_ledger", stdout=out)
    assert "ledger ok" in out.getvalue()


def test_a_conversion_between_currencies_of_different_minor_units_posts_whole_units(make_account, make_customer):
    _rate(base="USD", quote="JPY", mid="150")
    customer = make_customer()
    jpy = make_account(customer=customer, currency="JPY", balance="10000")
    usd = make_account(customer=customer, currency="USD")
    with override_settings(FINSYS_FX_SPREAD_BPS=0):
        entry = fx_transfer_create(
            actor=SYSTEM_ACTOR, from_account=jpy.public_id, to_account=usd.public_id, money=Money(Decimal(2081), "JPY")
        )
    # 1 JPY = 0.0066666667 USD; x 2081 = 13.8733333... -> 13.87
    assert FxDeal.objects.get(entry=entry).buy_amount == Decimal("13.87")
    usd.refresh_from_db()
    assert usd.balance == Decimal("13.87")


def test_refused_fx_transfers_change_nothing(make_account, make_customer):
    customer = make_customer()
    cny = make_account(customer=customer, currency="CNY", balance="100.00")
    usd = make_account(customer=customer, currency="USD")
    other_cny = make_account(customer=customer, currency="CNY")
    before = ledger_state()

    def attempt(to: Account = usd, amount: str = "10.00", currency: str = "CNY", source: Account = cny) -> None:
        fx_transfer_create(
            actor=SYSTEM_ACTOR, from_account=source.public_id, to_account=to.public_id,
            money=Money(Decimal(amount), currency),
        )  # fmt: skip

    with pytest.raises(FxRateUnavailable):
        attempt()  # no rate yet
    _rate(mid="7.2", valid_to=timezone.now() + dt.timedelta(seconds=30))
    with pytest.raises(InsufficientFunds):
        attempt(amount="100.01")
    with pytest.raises(SameAccount):
        attempt(to=cny)
    with pytest.raises(CurrencyMismatchError):
        attempt(currency="USD")
    with pytest.raises(ValidationFailed):
        attempt(to=other_cny)  # same currency: a plain transfer
    with pytest.raises(ValidationFailed):
        attempt(amount="0.01")  # 0.0013 USD rounds down to nothing
    account_freeze(actor=SYSTEM_ACTOR, account=usd, reason="test")
    with pytest.raises(AccountNotActive):
        attempt()
    assert ledger_state()[:2] == before[:2]
    assert not FxDeal.objects.exists()
    with override_settings(USE_TZ=True):
        later = timezone.now() + dt.timedelta(minutes=1)
        with pytest.raises(FxRateUnavailable):  # the rate expired
            fx_quote(sell="CNY", buy="USD", channel="api", at=later)


def test_fx_api_quotes_rates_and_converts_idempotently(api, make_account, make_customer):
    customer = make_customer()
    cny = make_account(customer=customer, currency="CNY", balance="1000.00")
    usd = make_account(customer=customer, currency="USD")
    body = {"from_account": str(cny.public_id), "to_account": str(usd.public_id), "amount": "72.00", "currency": "CNY"}
    refused = api.post("/api/v1/fx-transfers/", body)
    assert refused.status_code == 422
    assert refused.json()["code"] == "fx_rate_unavailable"
    asked = api.post("/api/v1/fx/rates/", {"base": "USD", "quote": "CNY", "mid": "7.2"}, key=None)
    assert asked.status_code == 202, asked.content
    from apps.compliance.models import Approval

    approval_approve(actor=CHECKER, approval=Approval.objects.get(public_id=asked.json()["approval"]))
    rates = api.get("/api/v1/fx/rates/").json()["results"]
    assert [(r["base"], r["quote"], r["mid"]) for r in rates] == [("USD", "CNY", "7.2")]
    # a plain transfer still refuses a currency mismatch exactly as API.md says
    plain = api.post("/api/v1/transfers/", body)
    assert plain.status_code == 422
    assert plain.json()["code"] == "currency_mismatch"
    first = api.post("/api/v1/fx-transfers/", body, key="fx-1")
    assert first.status_code == 201, first.content
    assert first.json()["fx"]["buy_amount"] == "9.94"  # 72 x 0.1381944444 = 9.9499..., rounded down
    again = api.post("/api/v1/fx-transfers/", body, key="fx-1")
    assert again.json() == first.json()
    assert FxDeal.objects.count() == 1


def test_a_customer_bound_client_may_not_ask_for_a_rate(make_api, make_customer):
    from apps.compliance.models import Approval

    bound = make_api(customer=make_customer())
    refused = bound.post("/api/v1/fx/rates/", {"base": "USD", "quote": "CNY", "mid": "7.2"}, key=None)
    assert refused.status_code == 403
    assert not Approval.objects.exists()
