"""holds_release_expired: active holds past their expiry give their funds back, once."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from apps.accounts.models import Account, Hold, HoldStatus
from apps.accounts.services import hold_create, hold_release, holds_release_expired
from apps.audit.models import AuditEvent
from apps.common.money import Money
from apps.common.principals import SYSTEM_ACTOR
from apps.transactions.services import hold_capture

HOUR = dt.timedelta(hours=1)


def _hold(account: Account, amount: str, expires_at: dt.datetime | None) -> Hold:
    return hold_create(
        actor=SYSTEM_ACTOR, account=account, amount=Money(Decimal(amount), account.currency), expires_at=expires_at
    )


def _state(account: Account) -> tuple[Any, ...]:
    account.refresh_from_db()
    holds = list(account.holds.order_by("id").values_list("id", "status", "closed_at", "updated_at"))
    return account.balance, account.available, account.updated_at, holds


def _audited_expiries() -> list[int]:
    """The number of holds each audited expiry batch says it released, oldest first."""
    return [event.detail["count"] for event in AuditEvent.objects.filter(action="hold.expire_batch").order_by("id")]


def _check_ledger_passes() -> None:
    out = StringIO()
    call_command("check_ledger", stdout=out)
    assert "ledger ok" in out.getvalue()


def test_release_expired_frees_only_active_holds_past_their_expiry_and_restores_available(make_account):
    start = timezone.now()
    account = make_account(balance="1000.00")
    expired = _hold(account, "100.00", start + HOUR)
    expires_exactly_now = _hold(account, "20.00", start + 2 * HOUR)
    later = _hold(account, "30.00", start + 3 * HOUR)
    open_ended = _hold(account, "40.00", None)
    released = _hold(account, "50.00", start + HOUR)
    hold_release(actor=SYSTEM_ACTOR, hold=released)
    captured = _hold(account, "60.00", start + HOUR)
    hold_capture(actor=SYSTEM_ACTOR, hold=captured)
    account.refresh_from_db()
    assert (account.balance, account.available) == (Decimal("940.00"), Decimal("750.00"))

    count = holds_release_expired(now=start + 2 * HOUR)

    assert count == 2
    statuses = {hold.pk: hold.status for hold in Hold.objects.filter(account=account)}
    assert statuses == {
        expired.pk: HoldStatus.EXPIRED,
        expires_exactly_now.pk: HoldStatus.EXPIRED,
        later.pk: HoldStatus.ACTIVE,
        open_ended.pk: HoldStatus.ACTIVE,
        released.pk: HoldStatus.RELEASED,
        captured.pk: HoldStatus.CAPTURED,
    }
    expired.refresh_from_db()
    assert expired.closed_at is not None
    assert expired.captured_amount == 0
    account.refresh_from_db()
    assert account.balance == Decimal("940.00")  # an expiry moves no money
    assert account.available == Decimal("870.00")  # 940 - the 30 and 40 still held
    _check_ledger_passes()


def test_release_expired_run_twice_changes_nothing_the_second_time(make_account):
    start = timezone.now()
    accounts = [make_account(balance="100.00") for _ in range(2)]
    for account in accounts:
        _hold(account, "10.00", start + HOUR)
        _hold(account, "15.00", start + 5 * HOUR)
    assert holds_release_expired(now=start + 2 * HOUR) == 2
    after_first = [_state(account) for account in accounts]

    assert holds_release_expired(now=start + 2 * HOUR) == 0

    assert [_state(account) for account in accounts] == after_first
    assert _audited_expiries() == [2]  # the idle second run audits no empty batch
    assert [account.available for account in accounts] == [Decimal("85.00")] * 2


def test_release_expired_works_through_more_holds_than_one_batch(make_account):
    start = timezone.now()
    accounts = [make_account(balance="100.00") for _ in range(3)]
    for account in accounts:
        for _ in range(4):
            _hold(account, "5.00", start + HOUR)

    assert holds_release_expired(now=start + 2 * HOUR, batch_size=5) == 12

    assert _audited_expiries() == [5, 5, 2]  # each batch audited with the holds it released

    assert not Hold.objects.filter(status=HoldStatus.ACTIVE).exists()
    for account in accounts:
        account.refresh_from_db()
        assert account.available == account.balance == Decimal("100.00")
    _check_ledger_passes()


def _race_two_expiry_runs(now: dt.datetime, batch_sizes: tuple[int, int]) -> list[int]:
    barrier = threading.Barrier(2)
    counts: list[int] = []
    errors: list[BaseException] = []

    def run(batch_size: int) -> None:
        try:
            barrier.wait(timeout=30)
            counts.append(holds_release_expired(now=now, batch_size=batch_size))
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(size,), daemon=True) for size in batch_sizes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(thread.is_alive() for thread in threads), "an expiry run is stuck (deadlock?)"
    assert errors == []
    return counts


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_expiry_runs_do_not_deadlock_and_release_each_hold_once(make_account):
    accounts = [make_account(balance="1000.00") for _ in range(8)]
    not_due = _hold(accounts[0], "1.00", timezone.now() + 100 * HOUR)
    # Several races with different batch sizes, so the two runs overlap on some accounts and
    # holds but not all, and a lucky interleaving cannot hide a lost update.
    races = ((7, 11), (5, 3), (13, 4), (2, 9), (6, 6), (10, 1))
    for batch_sizes in races:
        start = timezone.now()
        for round_ in range(8):
            for account in accounts:
                _hold(account, f"{round_ + 1}.00", start + HOUR)
        due = Hold.objects.filter(status=HoldStatus.ACTIVE, expires_at__lte=start + HOUR).count()
        assert due == 64

        counts = _race_two_expiry_runs(start + 2 * HOUR, batch_sizes)

        assert sum(counts) == due  # each hold released by exactly one of the runs
        assert list(Hold.objects.filter(status=HoldStatus.ACTIVE)) == [not_due]
        for account in accounts:
            account.refresh_from_db()
            assert account.balance == Decimal("1000.00")
            assert account.available == (Decimal("999.00") if account == accounts[0] else Decimal("1000.00"))
    assert Hold.objects.filter(status=HoldStatus.EXPIRED).count() == len(races) * 64
    assert sum(_audited_expiries()) == len(races) * 64
    _check_ledger_passes()
