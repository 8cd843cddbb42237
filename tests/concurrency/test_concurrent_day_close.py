"""Two closes of the same business date at once, on PostgreSQL with real threads: each step
locks the date's BusinessDay row and checks its run record, so every step runs once and the
interest is posted once."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings

from apps.accounts.models import Product
from apps.accounts.services import account_open
from apps.common.money import Money
from apps.common.principals import SYSTEM_ACTOR
from apps.eod.models import BalanceSnapshot, BusinessDay, DayState, InterestAccrual, StepRun
from apps.eod.services import business_day_close
from apps.transactions.models import EntryKind, JournalEntry
from apps.transactions.services import deposit_create
from tests.concurrency import run_in_threads

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_two_concurrent_closes_of_one_date_run_each_step_once(make_customer):
    zone = ZoneInfo(settings.TIME_ZONE)
    day = dt.date(2027, 1, 31)
    Product.objects.filter(code="SAVINGS-CNY").update(interest_rate=Decimal("3.65"))
    accounts = []
    for _ in range(5):
        account = account_open(actor=SYSTEM_ACTOR, customer=make_customer(), currency="CNY", product_code="SAVINGS-CNY")
        deposit_create(
            actor=SYSTEM_ACTOR, account=account.public_id, money=Money(Decimal("10000.00"), "CNY"),
            booked_at=dt.datetime(2027, 1, 31, 9, tzinfo=zone),
        )  # fmt: skip
        accounts.append(account)
    now = dt.datetime(2027, 2, 1, 0, 30, tzinfo=zone)

    results = run_in_threads(
        [lambda: business_day_close(actor=SYSTEM_ACTOR, date=day, now=now) for _ in range(2)], timeout=60
    )

    assert {result.state for result in results} == {DayState.CLOSED}
    for step in results[0].steps:
        statuses = sorted(result.steps[step]["status"] for result in results)
        assert statuses == ["already_done", "done"], (step, statuses)
    assert StepRun.objects.filter(business_date=day).count() == len(results[0].steps)
    assert BusinessDay.objects.get(date=day).state == DayState.CLOSED
    assert BalanceSnapshot.objects.filter(date=day, account__in=accounts).count() == 5
    assert InterestAccrual.objects.count() == 5
    assert JournalEntry.objects.filter(kind=EntryKind.INTEREST).count() == 5
    for account in accounts:
        account.refresh_from_db()
        assert account.balance == Decimal("10001.00")
