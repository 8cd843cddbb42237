"""End-of-day close with fixed dates: interest over month and leap-year boundaries, rounding,
fees, dormancy, re-runs, emergency controls and the ledger check."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import transaction
from django.utils.timezone import now as django_now

from apps.accounts.models import Account, AccountStatus, Product
from apps.accounts.services import account_freeze, account_open
from apps.common.controls import controls_forget
from apps.common.errors import AccountNotActive, PermissionDenied, ReadOnlyMode, ValidationFailed
from apps.common.money import Money
from apps.common.principals import SYSTEM_ACTOR, Actor, Channel
from apps.compliance.services import account_reactivate_request, approval_approve, emergency_control_activate
from apps.customers.models import Customer
from apps.eod.models import (
    BalanceSnapshot,
    BusinessDay,
    DayState,
    FeeCharge,
    FeeOutcome,
    InterestAccrual,
    InterestCapitalisation,
    StepRun,
)
from apps.eod.services import business_day_close, months_before
from apps.integrations.models import OutboxEvent
from apps.transactions.models import EntryKind, JournalEntry, Posting
from apps.transactions.services import deposit_create, transfer_create

NOW = dt.datetime(2029, 6, 1, 12, 0, tzinfo=dt.UTC)  # every closed date below is in the past
ALICE = Actor(label="user:alice", channel=Channel.BRANCH)
BOB = Actor(label="user:bob", channel=Channel.BRANCH)


def at(day: dt.date, hour: int = 12) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=ZoneInfo(settings.TIME_ZONE))


def after(day: dt.date) -> dt.datetime:
    """Half past midnight after `day`: when the scheduled close runs."""
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0, 30), tzinfo=ZoneInfo(settings.TIME_ZONE))


def close(day: dt.date) -> dict[str, dict[str, object]]:
    result = business_day_close(actor=SYSTEM_ACTOR, date=day, now=after(day))
    assert result.state == DayState.CLOSED, result.error
    return result.steps


def close_range(first: dt.date, last: dt.date) -> None:
    day = first
    while day <= last:
        close(day)
        day += dt.timedelta(days=1)


@pytest.fixture
def savings(make_customer: Callable[..., Customer]) -> Callable[..., Account]:
    """A CNY savings account at `rate` % a year, funded with `balance` on `funded`."""

    def make(*, rate: str, balance: str, funded: dt.date) -> Account:
        Product.objects.filter(code="SAVINGS-CNY").update(interest_rate=Decimal(rate))
        account = account_open(actor=SYSTEM_ACTOR, customer=make_customer(), currency="CNY", product_code="SAVINGS-CNY")
        deposit_create(
            actor=SYSTEM_ACTOR, account=account.public_id, money=Money(Decimal(balance), "CNY"), booked_at=at(funded, 9)
        )
        return account

    return make


def accruals(account: Account) -> dict[dt.date, Decimal]:
    return dict(InterestAccrual.objects.filter(account=account).values_list("date", "amount"))


def balance(account: Account) -> Decimal:
    account.refresh_from_db()
    return account.balance


def test_accrual_is_balance_times_rate_over_365_and_capitalised_on_jan_31(savings: Callable[..., Account]) -> None:
    account = savings(rate="3.65", balance="10000.00", funded=dt.date(2027, 1, 30))

    close(dt.date(2027, 1, 30))
    steps = close(dt.date(2027, 1, 31))
    close(dt.date(2027, 2, 1))

    # 10000.00 x 3.65 % / 365 = 1.00 a day; January (30th and 31st) capitalised on the 31st,
    # and February 1st accrues on the balance with that interest in it.
    assert accruals(account) == {
        dt.date(2027, 1, 30): Decimal("1.0000000000"),
        dt.date(2027, 1, 31): Decimal("1.0000000000"),
        dt.date(2027, 2, 1): Decimal("1.0002000000"),
    }
    assert steps["interest_capitalisation"]["entries"] == 1
    capitalisation = InterestCapitalisation.objects.get(account=account)
    assert (capitalisation.month_end, capitalisation.accrued, capitalisation.posted) == (
        dt.date(2027, 1, 31),
        Decimal("2.0000000000"),
        Decimal("2.0000"),
    )
    assert capitalisation.entry is not None
    assert capitalisation.entry.kind == EntryKind.INTEREST
    assert balance(account) == Decimal("10002.00")
    assert BalanceSnapshot.objects.get(account=account, date=dt.date(2027, 1, 31)).balance == Decimal("10000.00")
    assert BalanceSnapshot.objects.get(account=account, date=dt.date(2027, 2, 1)).balance == Decimal("10002.00")


@pytest.mark.parametrize(
    ("year", "month_end", "days"),
    [
        (2028, dt.date(2028, 2, 29), [dt.date(2028, 2, 28), dt.date(2028, 2, 29)]),  # leap year
        (2027, dt.date(2027, 2, 28), [dt.date(2027, 2, 28)]),
    ],
)
def test_february_month_end_in_leap_and_common_years_still_accrues_a_365th_a_day(
    savings: Callable[..., Account], year: int, month_end: dt.date, days: list[dt.date]
) -> None:
    account = savings(rate="3.65", balance="10000.00", funded=dt.date(year, 2, 28))

    close_range(dt.date(year, 2, 28), dt.date(year, 3, 1))

    # Actual/365 fixed: February 29th accrues like any day (1/365 of the rate), so a leap year
    # pays 366/365 of the nominal rate. Capitalised on February's last day, not before.
    february = {day: Decimal("1.0000000000") for day in days}
    assert {k: v for k, v in accruals(account).items() if k.month == 2} == february
    capitalisation = InterestCapitalisation.objects.get(account=account)
    assert capitalisation.month_end == month_end
    assert capitalisation.posted == Decimal(len(days))
    assert accruals(account)[dt.date(year, 3, 1)] == (Decimal("10000.00") + len(days)) * Decimal("0.0365") / 365
    assert balance(account) == Decimal("10000.00") + len(days)


def test_capitalisation_rounds_half_to_even_and_forfeits_the_remainder(savings: Callable[..., Account]) -> None:
    exactly_half = savings(rate="2.5", balance="1825.00", funded=dt.date(2027, 4, 30))  # 0.125 a day
    below_a_cent = savings(rate="0.1", balance="10.00", funded=dt.date(2027, 4, 30))  # 0.0000273973...
    Product.objects.filter(code="SAVINGS-CNY").update(interest_rate=Decimal("2.5"))

    close(dt.date(2027, 4, 30))

    # both accounts share the product; the rate in force at the close applies to both
    assert accruals(exactly_half) == {dt.date(2027, 4, 30): Decimal("0.1250000000")}
    assert InterestCapitalisation.objects.get(account=exactly_half).posted == Decimal("0.12")  # half-even
    assert balance(exactly_half) == Decimal("1825.12")
    small = InterestCapitalisation.objects.get(account=below_a_cent)
    assert small.accrued == Decimal("0.0006849315")
    assert small.posted == 0
    assert small.entry is None
    assert balance(below_a_cent) == Decimal("10.00")


def test_negative_and_zero_balances_and_current_accounts_accrue_nothing(
    savings: Callable[..., Account], make_customer: Callable[..., Customer]
) -> None:
    current = account_open(actor=SYSTEM_ACTOR, customer=make_customer(), currency="CNY")
    deposit_create(actor=SYSTEM_ACTOR, account=current.public_id, money=Money(Decimal(500), "CNY"))
    empty = savings(rate="3.65", balance="1.00", funded=dt.date(2027, 5, 1))
    transfer_create(
        actor=SYSTEM_ACTOR,
        from_account=empty.public_id,
        to_account=current.public_id,
        money=Money(Decimal(1), "CNY"),
        booked_at=at(dt.date(2027, 5, 1), 10),
    )

    close(dt.date(2027, 5, 2))

    assert not InterestAccrual.objects.exists()


def test_closing_a_date_again_changes_nothing(savings: Callable[..., Account]) -> None:
    account = savings(rate="3.65", balance="10000.00", funded=dt.date(2027, 1, 31))
    close(dt.date(2027, 1, 31))
    counts = (
        JournalEntry.objects.count(),
        BalanceSnapshot.objects.count(),
        InterestAccrual.objects.count(),
        StepRun.objects.count(),
    )

    again = business_day_close(actor=SYSTEM_ACTOR, date=dt.date(2027, 1, 31), now=NOW)

    assert again.state == DayState.CLOSED
    assert {outcome["status"] for outcome in again.steps.values()} == {"already_done"}
    assert counts == (
        JournalEntry.objects.count(),
        BalanceSnapshot.objects.count(),
        InterestAccrual.objects.count(),
        StepRun.objects.count(),
    )
    assert balance(account) == Decimal("10001.00")


def test_business_days_close_in_order_and_only_in_the_past(savings: Callable[..., Account]) -> None:
    close(dt.date(2027, 3, 1))

    with pytest.raises(ValidationFailed):
        business_day_close(actor=SYSTEM_ACTOR, date=dt.date(2027, 3, 3), now=NOW)
    with pytest.raises(ValidationFailed):
        business_day_close(actor=SYSTEM_ACTOR, date=NOW.date(), now=NOW)

    assert list(BusinessDay.objects.values_list("date", flat=True)) == [dt.date(2027, 3, 1)]
    assert not StepRun.objects.filter(business_date=dt.date(2027, 3, 3)).exists()


def test_monthly_fee_takes_what_is_available_and_skips_empty_frozen_and_dormant_accounts(
    make_customer: Callable[..., Customer],
) -> None:
    Product.objects.filter(code="CURRENT-CNY").update(monthly_fee=Decimal("10.00"))

    def current(amount: str) -> Account:
        account = account_open(actor=SYSTEM_ACTOR, customer=make_customer(), currency="CNY")
        if Decimal(amount):
            deposit_create(actor=SYSTEM_ACTOR, account=account.public_id, money=Money(Decimal(amount), "CNY"))
        return account

    rich, short, empty, frozen, dormant = current("50"), current("3"), current("0"), current("50"), current("50")
    account_freeze(actor=SYSTEM_ACTOR, account=frozen, reason="test")
    Account.objects.filter(pk=dormant.pk).update(status=AccountStatus.DORMANT)

    close(dt.date(2027, 6, 29))
    assert not FeeCharge.objects.exists()  # not month end
    steps = close(dt.date(2027, 6, 30))

    outcome = {row.account_id: (row.outcome, row.due, row.charged) for row in FeeCharge.objects.all()}
    assert outcome == {
        rich.pk: (FeeOutcome.CHARGED, Decimal("10.00"), Decimal("10.00")),
        short.pk: (FeeOutcome.PARTIAL, Decimal("10.00"), Decimal("3.00")),
        empty.pk: (FeeOutcome.SKIPPED, Decimal("10.00"), Decimal("0")),
        frozen.pk: (FeeOutcome.SKIPPED, Decimal("10.00"), Decimal("0")),
        dormant.pk: (FeeOutcome.SKIPPED, Decimal("10.00"), Decimal("0")),
    }
    assert steps["monthly_fees"]["charged"] == 1
    assert steps["monthly_fees"]["partial"] == 1
    assert [balance(a) for a in (rich, short, empty, frozen, dormant)] == [Decimal(40), 0, 0, Decimal(50), Decimal(50)]
    assert JournalEntry.objects.filter(kind=EntryKind.FEE).count() == 2


@pytest.fixture
def idle_account(make_customer: Callable[..., Customer]) -> Account:
    """Opened in 2026, last moved by its customer on 2027-03-15; interest does not count."""
    account = account_open(actor=SYSTEM_ACTOR, customer=make_customer(), currency="CNY", product_code="SAVINGS-CNY")
    Account.objects.filter(pk=account.pk).update(opened_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    deposit_create(
        actor=SYSTEM_ACTOR,
        account=account.public_id,
        money=Money(Decimal(100), "CNY"),
        booked_at=at(dt.date(2027, 3, 15), 23),
    )
    return account


def test_account_becomes_dormant_exactly_twelve_months_after_its_last_customer_activity(
    idle_account: Account,
) -> None:
    Product.objects.filter(code="SAVINGS-CNY").update(interest_rate=Decimal("3.65"))  # bank postings only
    close(dt.date(2028, 3, 13))
    steps = close(dt.date(2028, 3, 14))
    assert steps["dormancy"]["dormant"] == 0
    idle_account.refresh_from_db()
    assert idle_account.status == AccountStatus.ACTIVE

    steps = close(dt.date(2028, 3, 15))

    assert steps["dormancy"]["dormant"] == 1
    idle_account.refresh_from_db()
    assert idle_account.status == AccountStatus.DORMANT


def test_twelve_months_before_feb_29_is_feb_28() -> None:
    assert months_before(dt.date(2028, 2, 29), 12) == dt.date(2027, 2, 28)
    assert months_before(dt.date(2028, 3, 31), 1) == dt.date(2028, 2, 29)
    assert months_before(dt.date(2028, 1, 15), 12) == dt.date(2027, 1, 15)


def test_dormant_account_refuses_to_send_accepts_deposits_and_sends_again_after_approved_reactivation(
    idle_account: Account, make_account: Callable[..., Account]
) -> None:
    close(dt.date(2028, 3, 15))
    other = make_account(balance="10")
    send = {"from_account": idle_account.public_id, "to_account": other.public_id, "money": Money(Decimal(1), "CNY")}

    with pytest.raises(AccountNotActive), transaction.atomic():
        transfer_create(actor=SYSTEM_ACTOR, **send)
    assert balance(idle_account) == Decimal(100)

    deposit_create(actor=SYSTEM_ACTOR, account=idle_account.public_id, money=Money(Decimal(5), "CNY"))
    transfer_create(
        actor=SYSTEM_ACTOR,
        from_account=other.public_id,
        to_account=idle_account.public_id,
        money=Money(Decimal(1), "CNY"),
    )
    idle_account.refresh_from_db()
    assert idle_account.status == AccountStatus.DORMANT  # money coming in does not wake it

    approval = account_reactivate_request(actor=ALICE, account=idle_account, reason="customer came to the branch")
    idle_account.refresh_from_db()
    assert idle_account.status == AccountStatus.DORMANT  # nothing before the second person
    with pytest.raises(PermissionDenied):
        approval_approve(actor=ALICE, approval=approval)
    approval_approve(actor=BOB, approval=approval)

    transfer_create(actor=SYSTEM_ACTOR, **send)
    idle_account.refresh_from_db()
    assert idle_account.status == AccountStatus.ACTIVE
    assert idle_account.balance == Decimal(105)


def test_dormant_account_refuses_to_send_through_the_api(
    api: object, idle_account: Account, make_account: Callable[..., Account]
) -> None:
    close(dt.date(2028, 3, 15))
    other = make_account(balance="10")

    shown = api.get(f"/api/v1/accounts/{idle_account.public_id}/")  # type: ignore[attr-defined]
    refused = api.post(  # type: ignore[attr-defined]
        "/api/v1/transfers/",
        {
            "from_account": str(idle_account.public_id),
            "to_account": str(other.public_id),
            "amount": "1.00",
            "currency": "CNY",
        },
    )
    received = api.post(  # type: ignore[attr-defined]
        "/api/v1/transfers/",
        {
            "from_account": str(other.public_id),
            "to_account": str(idle_account.public_id),
            "amount": "1.00",
            "currency": "CNY",
        },
    )

    assert shown.status_code == 200
    assert shown.json()["status"] == "dormant"
    assert refused.status_code == 422
    assert refused.json()["code"] == "account_not_active"
    assert received.status_code == 201
    assert balance(idle_account) == Decimal(101)


def test_reactivating_an_account_that_is_not_dormant_is_refused(make_account: Callable[..., Account]) -> None:
    account = make_account()
    with pytest.raises(AccountNotActive):
        account_reactivate_request(actor=ALICE, account=account)


def test_read_only_mode_refuses_the_close_cleanly_and_it_runs_later(savings: Callable[..., Account]) -> None:
    account = savings(rate="3.65", balance="100.00", funded=dt.date(2027, 7, 1))
    control = emergency_control_activate(actor=ALICE, kind="read_only", reason="incident")
    controls_forget()

    with pytest.raises(ReadOnlyMode):
        business_day_close(actor=SYSTEM_ACTOR, date=dt.date(2027, 7, 31), now=NOW)
    assert not BusinessDay.objects.exists()
    assert not StepRun.objects.exists()
    assert not BalanceSnapshot.objects.exists()

    type(control).objects.filter(pk=control.pk).update(active=False)
    controls_forget()
    close(dt.date(2027, 7, 31))
    assert balance(account) == Decimal("100.01")


def test_read_only_mode_switched_on_during_the_close_fails_the_day_and_a_rerun_resumes(
    savings: Callable[..., Account], monkeypatch: pytest.MonkeyPatch
) -> None:
    from apps.eod import services

    account = savings(rate="3.65", balance="10000.00", funded=dt.date(2027, 8, 31))
    real = services.STEPS["interest_capitalisation"]

    def refuse(**kwargs: object) -> dict[str, object]:
        raise ReadOnlyMode()

    monkeypatch.setitem(services.STEPS, "interest_capitalisation", refuse)
    failed = business_day_close(actor=SYSTEM_ACTOR, date=dt.date(2027, 8, 31), now=NOW)
    assert failed.state == DayState.FAILED
    assert "read_only" in failed.error
    assert BusinessDay.objects.get().state == DayState.FAILED
    assert balance(account) == Decimal("10000.00")
    assert set(StepRun.objects.values_list("step", flat=True)) == {"snapshot", "interest_accrual"}

    monkeypatch.setitem(services.STEPS, "interest_capitalisation", real)
    steps = close(dt.date(2027, 8, 31))

    assert steps["snapshot"]["status"] == "already_done"
    assert steps["interest_capitalisation"]["status"] == "done"
    assert InterestAccrual.objects.count() == 1
    assert balance(account) == Decimal("10001.00")


def test_failed_ledger_check_fails_the_day_and_emits_an_alert(make_account: Callable[..., Account]) -> None:
    account = make_account(balance="10")
    Account.objects.filter(pk=account.pk).update(balance=Decimal(11))  # the cache no longer matches

    result = business_day_close(actor=SYSTEM_ACTOR, date=dt.date(2026, 11, 20), now=NOW)

    assert result.state == DayState.FAILED
    assert "ledger check failed" in result.error
    assert BusinessDay.objects.get().state == DayState.FAILED
    assert not StepRun.objects.filter(step="ledger_check").exists()
    event = OutboxEvent.objects.get(kind="ops.ledger_check_failed")
    assert event.payload["balance_mismatches"] == 1
    assert event.payload["date"] == "2026-11-20"
    with pytest.raises(CommandError, match="ledger check failed"):
        call_command("close_business_day", "--date", "2026-11-20")
    assert OutboxEvent.objects.filter(kind="ops.ledger_check_failed").count() == 2


def test_command_closes_a_date_and_prints_each_step(
    make_account: Callable[..., Account], capsys: pytest.CaptureFixture[str]
) -> None:
    make_account(balance="10")

    call_command("close_business_day", "--date", "2026-11-20")

    out = capsys.readouterr().out
    assert "snapshot: done" in out
    assert "2026-11-20 closed" in out
    assert BusinessDay.objects.get().state == DayState.CLOSED
    assert Posting.objects.count() == 2


def test_beat_runs_the_close_task_daily_and_the_task_closes_yesterday(make_account: Callable[..., Account]) -> None:
    from apps.eod.services import business_date_of
    from apps.eod.tasks import close_business_day
    from finsys.celery import app

    make_account(balance="10")
    entry = app.conf.beat_schedule["close-business-day"]
    assert entry["task"] == "apps.eod.tasks.close_business_day"

    outcome = close_business_day.apply().get()
    again = close_business_day.apply().get()

    yesterday = business_date_of(django_now()) - dt.timedelta(days=1)
    assert outcome["date"] == yesterday.isoformat()
    assert outcome["state"] == DayState.CLOSED
    assert {step["status"] for step in again["steps"].values()} == {"already_done"}
    assert BusinessDay.objects.get().date == yesterday
