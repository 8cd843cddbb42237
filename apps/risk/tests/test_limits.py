"""Limits per channel, currency, customer tier and product: per transaction, daily and monthly,
summed across all of a customer's accounts; refusals say which limit and what is left."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal
from typing import Any
from unittest import mock

import pytest
from django.db import connection, transaction

from apps.common.errors import LimitExceeded
from apps.common.money import Money
from apps.common.principals import SYSTEM_ACTOR
from apps.risk.models import LimitRule, LimitUsage, RiskProfile, Tier
from apps.risk.tests.conftest import api_actor
from apps.transactions.models import JournalEntry
from apps.transactions.services import transfer_create, withdrawal_create

pytestmark = pytest.mark.usefixtures("no_rules")


def entries() -> int:
    return JournalEntry.objects.count()


def usage() -> list[tuple[Any, ...]]:
    return sorted(LimitUsage.objects.values_list("period", "used"))


def test_exactly_the_per_transaction_limit_passes(make_account, send):
    source = make_account(balance="60000")
    target = make_account()
    send(source, target, "50000.00")
    source.refresh_from_db()
    assert source.balance == Decimal("10000")


def test_one_cent_over_the_per_transaction_limit_is_refused_with_what_is_left(make_account, send):
    source = make_account(balance="60000")
    target = make_account()
    before = entries(), usage()
    with pytest.raises(LimitExceeded) as refused:
        send(source, target, "50000.01")
    assert refused.value.extra == {
        "limit": "per_transaction",
        "channel": "api",
        "currency": "CNY",
        "limit_amount": "50000.00",
        "remaining": "50000.00",
    }
    assert "per-transaction" in str(refused.value.message)
    assert (entries(), usage()) == before


def test_daily_limit_counts_across_all_of_a_customers_accounts(make_customer, make_account, send):
    customer = make_customer()
    first = make_account(customer=customer, balance="200000")
    second = make_account(customer=customer, balance="200000")
    target = make_account()
    for _ in range(3):
        send(first, target, "50000")
    send(second, target, "50000")  # exactly 200,000 today: passes
    before = entries()
    with pytest.raises(LimitExceeded) as refused:
        send(second, target, "0.01")
    assert refused.value.extra["limit"] == "daily"
    assert refused.value.extra["remaining"] == "0.00"
    assert entries() == before


def test_daily_refusal_says_how_much_is_left(make_account, send):
    source = make_account(balance="300000")
    target = make_account()
    for _ in range(4):
        send(source, target, "40000")
    with pytest.raises(LimitExceeded) as refused:
        send(source, target, "40000.01")
    assert refused.value.extra["limit"] == "daily"
    assert refused.value.extra["limit_amount"] == "200000.00"
    assert refused.value.extra["remaining"] == "40000.00"
    assert "40000.00 CNY is left" in str(refused.value.message)
    send(source, target, "40000.00")  # what is left still passes


def test_a_new_day_starts_a_new_daily_window_but_the_month_counts_on(make_account, send):
    LimitRule.objects.filter(channel="api", currency="CNY").update(monthly=Decimal("250000"))
    source = make_account(balance="400000")
    target = make_account()
    day1 = dt.date(2026, 3, 10)
    with mock.patch("apps.risk.services.timezone.localdate", return_value=day1):
        for _ in range(4):
            send(source, target, "50000")
    with mock.patch("apps.risk.services.timezone.localdate", return_value=day1 + dt.timedelta(days=1)):
        send(source, target, "50000")  # a fresh day: 50,000 of 200,000; month at 250,000 exactly
        with pytest.raises(LimitExceeded) as refused:
            send(source, target, "0.01")
    assert refused.value.extra["limit"] == "monthly"
    assert refused.value.extra["remaining"] == "0.00"
    with mock.patch("apps.risk.services.timezone.localdate", return_value=dt.date(2026, 4, 1)):
        send(source, target, "50000")  # a new month


def test_withdrawals_count_against_the_same_limits(make_account, send):
    source = make_account(balance="300000")
    target = make_account()
    send(source, target, "50000")
    send(source, target, "50000")
    send(source, target, "50000")
    actor = api_actor(source.customer)
    withdrawal_create(actor=actor, account=source.public_id, money=Money(Decimal("50000"), "CNY"))
    with pytest.raises(LimitExceeded), transaction.atomic():
        withdrawal_create(actor=actor, account=source.public_id, money=Money(Decimal("1"), "CNY"))


def test_limits_are_per_currency(make_customer, make_account, send):
    customer = make_customer()
    usd = make_account(customer=customer, currency="USD", balance="20000")
    usd_target = make_account(currency="USD")
    send(usd, usd_target, "7000.00")
    with pytest.raises(LimitExceeded) as refused:
        send(usd, usd_target, "7000.01")
    assert refused.value.extra["currency"] == "USD"


def test_system_channel_is_unlimited_and_spends_no_query_on_risk(make_account, django_assert_max_num_queries):
    source = make_account(balance="2000000")
    target = make_account()
    transfer_create(
        actor=SYSTEM_ACTOR,
        from_account=source.public_id,
        to_account=target.public_id,
        money=Money(Decimal("1000000"), "CNY"),
    )
    assert not LimitUsage.objects.exists()
    with mock.patch("apps.risk.services.movement_check", side_effect=AssertionError("consulted")):
        transfer_create(
            actor=SYSTEM_ACTOR,
            from_account=source.public_id,
            to_account=target.public_id,
            money=Money(Decimal("1"), "CNY"),
        )


def test_a_more_specific_tier_limit_applies_over_the_channel_default(make_customer, make_account, send):
    customer = make_customer()
    RiskProfile.objects.create(customer=customer, tier=Tier.PREMIUM)
    LimitRule.objects.create(channel="api", tier=Tier.PREMIUM, currency="CNY", per_transaction=Decimal("80000"))
    source = make_account(customer=customer, balance="200000")
    target = make_account()
    send(source, target, "80000")
    with pytest.raises(LimitExceeded):
        send(source, target, "80000.01")


def test_a_product_limit_applies_to_accounts_of_that_product(make_account, send):
    source = make_account(balance="10000")
    target = make_account()
    LimitRule.objects.create(channel="api", product=source.product.code, currency="CNY", per_transaction=Decimal("100"))
    send(source, target, "100")
    with pytest.raises(LimitExceeded):
        send(source, target, "100.01")


def test_a_limit_valid_from_the_future_is_not_in_force(make_account, send):
    from django.utils import timezone

    LimitRule.objects.create(
        channel="api", currency="CNY", per_transaction=Decimal("10"), valid_from=timezone.now() + dt.timedelta(days=1)
    )
    send(make_account(balance="100"), make_account(), "50")


def test_limit_refusal_through_the_api_is_a_422_problem_with_what_is_left(make_customer, make_account, make_api):
    customer = make_customer()
    source = make_account(customer=customer, balance="60000")
    target = make_account()
    caller = make_api(customer=customer, scopes=["payments:write", "accounts:read"])
    body = {
        "from_account": str(source.public_id),
        "to_account": str(target.public_id),
        "amount": "50000.01",
        "currency": "CNY",
    }
    before = entries()
    response = caller.post("/api/v1/transfers/", body)
    assert response.status_code == 422
    problem = response.json()
    assert problem["code"] == "limit_exceeded"
    assert problem["limit"] == "per_transaction"
    assert problem["remaining"] == "50000.00"
    assert "50000.00 CNY" in problem["detail"]
    assert entries() == before
    assert caller.post("/api/v1/transfers/", {**body, "amount": "50000.00"}).status_code == 201


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_transfers_cannot_exceed_the_daily_limit_together(make_customer, make_account):
    """Two accounts of one customer, 150,000 each at once against 200,000 a day: one passes."""
    from apps.risk.models import Rule, RuleStatus

    # Transactional tests flush the tables (and the shipped rows) between tests: set what is proven.
    Rule.objects.update(status=RuleStatus.RETIRED)
    LimitRule.objects.all().delete()
    LimitRule.objects.create(channel="api", currency="CNY", per_transaction=Decimal("150000"), daily=Decimal("200000"))
    customer = make_customer()
    accounts = [make_account(customer=customer, balance="150000") for _ in range(2)]
    target = make_account()
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def run(source: Any) -> None:
        try:
            barrier.wait()
            transfer_create(
                actor=api_actor(customer),
                from_account=source.public_id,
                to_account=target.public_id,
                money=Money(Decimal("150000"), "CNY"),
            )
            outcomes.append("posted")
        except LimitExceeded:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(a,)) for a in accounts]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["posted", "refused"]
    assert LimitUsage.objects.get(customer=customer, period="day").used == Decimal("150000")
