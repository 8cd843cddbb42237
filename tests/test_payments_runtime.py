"""Payments as they run in production: gunicorn, a real Celery worker and beat on Redis,
PostgreSQL. A payment goes from received to settled; a worker killed with SIGKILL in the middle
of settlement leaves every payment settled or rejected exactly once after a restart; with Redis
stopped the API still accepts payments, and the outbox delivers them when Redis is back."""

from __future__ import annotations

import signal
import time
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings

from apps.accounts.models import Account, Hold, HoldStatus
from apps.common.principals import SYSTEM_ACTOR
from apps.integrations.models import SimulatedGatewayPayment
from apps.integrations.services import webhook_endpoint_create
from apps.integrations.signing import SIGNATURE_HEADER, signature_valid
from apps.transactions.ledger_check import ledger_check
from apps.transactions.models import EntryKind, JournalEntry, Payment, PaymentStatus
from tests.processes import (
    Processes,
    Receiver,
    RedisServer,
    api_token,
    http_call,
    process_env,
    start_beat,
    start_gunicorn,
    start_worker,
    unique_queue,
    wait_until,
)
from tests.processes import test_database_url as database_url

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

FINAL = {PaymentStatus.SETTLED, PaymentStatus.REJECTED}


def _env(redis_url: str, **extra: str) -> dict[str, str]:
    settings_for_test = {
        "DATABASE_URL": database_url(),
        "REDIS_URL": redis_url,
        "CELERY_QUEUE": unique_queue(),
        "FINSYS_GATEWAY_SIM_LATENCY_MS": "50",
        "FINSYS_PAYMENT_RETRY_SECONDS": "1",
        "FINSYS_PAYMENT_SWEEP_SECONDS": "1",
        "FINSYS_OUTBOX_RELAY_SECONDS": "1",
        "FINSYS_WEBHOOK_BACKOFF_SECONDS": "1",
        "GUNICORN_WORKERS": "1",
        "GUNICORN_THREADS": "2",
    }
    return process_env(**{**settings_for_test, **extra})


@pytest.fixture
def bank() -> Iterator[Processes]:
    processes = Processes()
    yield processes
    processes.stop()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


_token = api_token


def _pay(base: str, token: str, account: Account, amount: str, account_number: str = "6222020200112233") -> Any:
    document = {
        "from_account": str(account.public_id),
        "amount": amount,
        "currency": account.currency,
        "beneficiary": {"name": "Li Wei", "account_number": account_number, "bank_code": "ICBKCNBJ", "country": "CN"},
        "reference": "runtime",
    }
    started = time.monotonic()
    status, payment = http_call(f"{base}/api/v1/payments/", document, token=token, key=str(uuid.uuid4()))
    assert status == 202, payment
    # Generous for a loaded CI machine; a request waiting on broker retries would take minutes.
    assert time.monotonic() - started < 20, "accepting a payment must not wait for the broker"
    assert payment["status"] == "held"
    return payment


_wait = wait_until


def _statuses() -> list[str]:
    return list(Payment.objects.order_by("id").values_list("status", flat=True))


def _booked_exactly_once(accounts: dict[int, Decimal]) -> None:
    """Every payment is final and booked once: one settlement entry per settled payment, none
    for rejected ones, one gateway record per payment, no hold left open, balances add up."""
    payments = list(Payment.objects.all())
    assert {p.status for p in payments} <= FINAL, _statuses()
    settled = [p for p in payments if p.status == PaymentStatus.SETTLED]
    assert JournalEntry.objects.filter(kind=EntryKind.PAYMENT).count() == len(settled)
    assert all(p.settlement_entry_id for p in settled)
    assert not any(p.settlement_entry_id for p in payments if p.status == PaymentStatus.REJECTED)
    assert SimulatedGatewayPayment.objects.count() <= len(payments)
    assert not Hold.objects.filter(status=HoldStatus.ACTIVE).exists()
    for pk, opening in accounts.items():
        account = Account.objects.get(pk=pk)
        paid = sum((p.amount for p in settled if p.account_id == pk), Decimal(0))
        assert account.balance == account.available == opening - paid
    report = ledger_check()
    assert report.ok, report


def test_a_payment_goes_from_received_to_settled_through_a_real_worker(bank, make_account, receiver):
    env = _env(settings.REDIS_URL)
    account = make_account(balance="1000.00")
    _endpoint, secret = webhook_endpoint_create(actor=SYSTEM_ACTOR, url=receiver.url, event_kinds=[])
    server, base = start_gunicorn(env)
    bank.add(server)
    bank.add(start_worker(env, env["CELERY_QUEUE"]))
    bank.add(start_beat(env))
    token = _token(base)
    payment = _pay(base, token, account, "250.00")
    rejected = _pay(base, token, account, "10.00", account_number="0009999")
    _wait(lambda: set(_statuses()) <= FINAL, 40, "both payments to be final")
    _, read = http_call(f"{base}/api/v1/payments/{payment['id']}/", token=token)
    assert read["status"] == "settled"
    assert [h["status"] for h in read["history"]] == ["received", "screened", "held", "submitted", "settled"]
    assert http_call(f"{base}/api/v1/payments/{rejected['id']}/", token=token)[1]["status"] == "rejected"
    _booked_exactly_once({account.pk: Decimal("1000.00")})
    # The outbox told the integrator, signed: held, submitted and settled for each.
    _wait(lambda: len(receiver.received) >= 6, 20, "six webhook deliveries")
    for headers, raw in receiver.received:
        assert signature_valid(secret, raw, headers[SIGNATURE_HEADER])
    delivered = [b for _h, b in receiver.received]
    assert any(payment["id"].encode() in b and b'"settled"' in b for b in delivered)
    assert any(rejected["id"].encode() in b and b'"rejected"' in b for b in delivered)


def test_a_worker_killed_in_the_middle_of_settlement_leaves_every_payment_booked_once(bank, make_account):
    # The gateway takes 1.5 s: the worker is killed while it waits inside the gateway call.
    env = _env(settings.REDIS_URL, FINSYS_GATEWAY_SIM_LATENCY_MS="1500", CELERY_VISIBILITY_TIMEOUT="3")
    first = make_account(balance="1000.00")
    second = make_account(balance="500.00")
    server, base = start_gunicorn(env)
    bank.add(server)
    token = _token(base)
    worker = bank.add(start_worker(env, env["CELERY_QUEUE"]))
    payments = [
        _pay(base, token, first, "100.00"),
        _pay(base, token, second, "50.00"),
        _pay(base, token, first, "30.00", account_number="0001111"),  # the gateway rejects it
        _pay(base, token, second, "20.00"),
    ]
    _wait(lambda: PaymentStatus.SUBMITTED in _statuses(), 30, "the worker to submit a payment")
    time.sleep(0.3)  # inside the gateway's 1.5 s
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=10)
    assert not set(_statuses()) <= FINAL, "the kill came too late to prove anything"
    bank.add(start_worker(env, env["CELERY_QUEUE"]))
    bank.add(start_beat(env))
    _wait(lambda: set(_statuses()) <= FINAL, 60, "every payment to be final after the restart")
    assert len(payments) == Payment.objects.count() == 4
    assert Payment.objects.get(public_id=payments[2]["id"]).status == PaymentStatus.REJECTED
    _booked_exactly_once({first.pk: Decimal("1000.00"), second.pk: Decimal("500.00")})


def test_with_redis_stopped_payments_are_accepted_and_delivered_when_it_returns(bank, make_account, receiver):
    redis = RedisServer(bank)
    env = _env(redis.url)
    account = make_account(balance="1000.00")
    _endpoint, secret = webhook_endpoint_create(
        actor=SYSTEM_ACTOR, url=receiver.url, event_kinds=["payment.status_changed"]
    )
    redis.start()
    server, base = start_gunicorn(env)
    bank.add(server)
    token = _token(base)
    bank.add(start_worker(env, env["CELERY_QUEUE"]))
    bank.add(start_beat(env))
    redis.kill()
    payments = [_pay(base, token, account, "100.00"), _pay(base, token, account, "200.00")]
    time.sleep(1)
    assert _statuses() == ["held", "held"]  # nothing can run without the broker
    assert receiver.received == []
    redis.start()
    _wait(lambda: set(_statuses()) <= FINAL, 60, "the payments to settle once Redis is back")
    _booked_exactly_once({account.pk: Decimal("1000.00")})
    for payment in payments:
        _wait(
            lambda p=payment: any(p["id"].encode() in b and b'"settled"' in b for _h, b in receiver.received),
            30,
            f"the settled webhook of {payment['id']}",
        )
    assert all(signature_valid(secret, raw, headers[SIGNATURE_HEADER]) for headers, raw in receiver.received)
