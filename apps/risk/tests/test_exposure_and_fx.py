"""Credit exposure per customer, product and currency (overdrawn plus approved unused limit), and
the bank's net open FX position per currency taken from the ledger, against limits whose raise is
maker-checked; a position over its limit raises one alert."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db.models import Sum
from django.utils import timezone

from apps.accounts.models import Account, GlCode
from apps.common.errors import PermissionDenied, ValidationFailed
from apps.common.money import Money
from apps.common.principals import SYSTEM_ACTOR, Actor, Channel
from apps.compliance.models import Approval
from apps.compliance.services import approval_approve, fx_rate_request
from apps.risk import selectors
from apps.risk.models import Alert, AlertCategory, AlertStatus, FxPositionLimit
from apps.risk.services import alert_close
from apps.risk.services_credit import facility_request
from apps.risk.services_market import fx_limit_set, fx_positions_check
from apps.transactions.models import Posting
from apps.transactions.services import transfer_create
from apps.treasury.selectors import fx_net_positions
from apps.treasury.services import fx_transfer_create

MAKER = Actor(label="user:risk-maker", channel=Channel.BRANCH)
CHECKER = Actor(label="user:risk-checker", channel=Channel.BRANCH)


def grant(account: Account, limit: str) -> None:
    facility = facility_request(
        actor=MAKER, account=account, limit=Money(Decimal(limit), account.currency), rate=Decimal(9)
    )
    approval_approve(actor=CHECKER, approval=facility.approval)


def test_exposure_per_customer_product_and_currency(make_customer, make_account):
    alice, bob = make_customer(name="Alice"), make_customer(name="Bob")
    a_cny, b_cny = make_account(customer=alice), make_account(customer=bob, balance="50")
    a_usd = make_account(customer=alice, currency="USD")
    sink, sink_usd = make_account(), make_account(currency="USD")
    grant(a_cny, "1000")
    grant(b_cny, "500")
    grant(a_usd, "200")
    transfer_create(
        actor=SYSTEM_ACTOR,
        from_account=a_cny.public_id,
        to_account=sink.public_id,
        money=Money(Decimal("300.25"), "CNY"),
    )
    transfer_create(
        actor=SYSTEM_ACTOR, from_account=b_cny.public_id, to_account=sink.public_id, money=Money(Decimal(20), "CNY")
    )
    transfer_create(
        actor=SYSTEM_ACTOR,
        from_account=a_usd.public_id,
        to_account=sink_usd.public_id,
        money=Money(Decimal(200), "USD"),
    )

    by_customer = {(e.key[0], e.currency): e for e in selectors.exposures(by="customer")}
    alice_cny = by_customer[(alice.pk, "CNY")]
    assert (alice_cny.limit, alice_cny.drawn, alice_cny.unused, alice_cny.total) == (
        Decimal(1000), Decimal("300.25"), Decimal("699.75"), Decimal(1000),
    )  # fmt: skip
    bob_cny = by_customer[(bob.pk, "CNY")]  # in credit: nothing drawn, the whole limit unused
    assert (bob_cny.drawn, bob_cny.unused, bob_cny.total) == (Decimal(0), Decimal(500), Decimal(500))
    alice_usd = by_customer[(alice.pk, "USD")]  # fully drawn
    assert (alice_usd.drawn, alice_usd.unused) == (Decimal(200), Decimal(0))
    assert by_customer[(alice.pk, "CNY")].key[1] == "Alice"

    by_currency = {e.currency: e for e in selectors.exposures(by="currency")}
    assert (by_currency["CNY"].accounts, by_currency["CNY"].drawn, by_currency["CNY"].unused) == (
        2, Decimal("300.25"), Decimal("1199.75"),
    )  # fmt: skip
    assert by_currency["USD"].total == Decimal(200)
    by_product = {(e.key[0], e.currency): e for e in selectors.exposures(by="product")}
    assert by_product[("CURRENT-CNY", "CNY")].total == Decimal(1500)
    with pytest.raises(ValueError):
        selectors.exposures(by="branch")


@pytest.fixture
def fx_deals(make_customer, make_account):
    approval = fx_rate_request(actor=MAKER, base="USD", quote="CNY", mid=Decimal("7.2"))
    approval_approve(actor=CHECKER, approval=approval)
    customer = make_customer()
    cny, usd = make_account(customer=customer, balance="100000"), make_account(customer=customer, currency="USD")
    fx_transfer_create(
        actor=SYSTEM_ACTOR, from_account=cny.public_id, to_account=usd.public_id, money=Money(Decimal(72000), "CNY")
    )
    return cny, usd


def test_fx_positions_come_from_the_ledger(fx_deals):
    positions = {p.currency: p for p in selectors.fx_positions()}
    for currency in ("CNY", "USD"):
        account = Account.objects.get(is_internal=True, gl_code=GlCode.FX_POSITION, currency=currency)
        ledger = Posting.objects.filter(account=account).aggregate(total=Sum("amount"))["total"]
        assert positions[currency].position == Decimal(ledger).quantize(Decimal("0.01"))
        assert positions[currency].position == fx_net_positions()[currency]
    assert positions["CNY"].position == Decimal(72000)  # the bank bought CNY: long
    assert positions["USD"].position < 0  # and sold USD: short
    before = {p.currency: p.position for p in selectors.fx_positions(at=timezone.now() - dt.timedelta(days=1))}
    assert before == {}  # a day ago there was no position


def test_an_fx_position_over_its_limit_raises_one_alert(fx_deals):
    usd_short = -{p.currency: p for p in selectors.fx_positions()}["USD"].position
    assert fx_positions_check() == []  # no limits: nothing to breach
    row = fx_limit_set(actor=MAKER, currency="USD", limit=usd_short)  # the first limit applies at once
    assert isinstance(row, FxPositionLimit)
    assert fx_positions_check() == []  # exactly at the limit is within it
    fx_limit_set(actor=MAKER, currency="USD", limit=usd_short - Decimal("0.01"))
    (alert,) = fx_positions_check()
    assert (alert.category, alert.kind, alert.currency, alert.customer_id) == (
        AlertCategory.FX_POSITION,
        "fx_position",
        "USD",
        None,
    )
    assert alert.amount == usd_short
    assert "short" in alert.reason
    assert fx_positions_check() == []  # still breached, the open alert stands for it
    alert_close(actor=CHECKER, alert=alert, disposition="true_positive")
    assert len(fx_positions_check()) == 1  # breached again after the alert was closed
    assert Alert.objects.filter(category=AlertCategory.FX_POSITION).exclude(status=AlertStatus.CLOSED).count() == 1


def test_raising_an_fx_limit_waits_for_a_second_person(db):
    fx_limit_set(actor=MAKER, currency="EUR", limit=Decimal(1000))
    approval = fx_limit_set(actor=MAKER, currency="EUR", limit=Decimal(5000), reason="more business")
    assert isinstance(approval, Approval)
    assert selectors.fx_limits_in_force()["EUR"] == Decimal(1000)
    with pytest.raises(PermissionDenied):
        approval_approve(actor=MAKER, approval=approval)
    approval_approve(actor=CHECKER, approval=approval)
    assert selectors.fx_limits_in_force()["EUR"] == Decimal(5000)
    assert FxPositionLimit.objects.filter(currency="EUR").first().approved_by == "user:risk-checker"
    lowered = fx_limit_set(actor=MAKER, currency="EUR", limit=Decimal(10))
    assert isinstance(lowered, FxPositionLimit)  # lowering reduces risk: at once, reviewed after
    assert Approval.objects.filter(action="risk.fx_limit_review").count() == 2
    for bad in ({"currency": "XXX", "limit": Decimal(1)}, {"currency": "EUR", "limit": Decimal(-1)}):
        with pytest.raises(ValidationFailed):
            fx_limit_set(actor=MAKER, **bad)
