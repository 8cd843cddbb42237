"""A Jepsen-style bank test: the real stack under concurrent load while faults are injected.

gunicorn (2 workers x 4 threads) and a Celery worker + beat run as operators run them, on the
test's PostgreSQL database and on a redis-server of the test's own (a free port; the shared
Redis is never touched). Four client processes (tests/reliability/client.py) send transfers
between eight accounts and payments out of them for LOAD_SECONDS, each with an Idempotency-Key,
retrying every non-definitive answer with the same key. A reader in this process reads the sum
of every cached balance in the bank, one statement (one snapshot) at a time, throughout.
Meanwhile, on a fixed schedule:

- the Celery worker is killed with SIGKILL while payments are at the gateway (twice), and
  restarted;
- one gunicorn worker is killed with SIGKILL (the master forks a new one);
- Redis (the broker and cache) is killed with SIGKILL, and started again 3 s later;
- every PostgreSQL backend of the test database but the test's own is terminated
  (`pg_terminate_backend`), twice;
- the whole web server (master and workers) is killed with SIGKILL and started again on the
  same port.

Then the checker proves, from the clients' logs and the database: every client request got a
definitive answer; every acknowledged transfer (201) is in the ledger exactly once with its
amount and accounts, and nothing else is (no transfer applied twice, none applied without an
acknowledgement); replays gave the same transaction; every accepted payment (202) ended settled
or rejected, booked once; each account's balance equals its opening balance plus what the
acknowledged requests moved (no money created or lost); every reader snapshot summed to zero;
check_ledger passes; the audit chains seal and verify. Its numbers go to the run's reliability report
(tests/reliability/report.py); docs/reliability.md has the results.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import signal
import time
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from apps.accounts.models import Account, Hold, HoldStatus
from apps.audit.selectors import audit_chains_verify
from apps.audit.services import chains_seal
from apps.transactions.ledger_check import ledger_check
from apps.transactions.models import EntryKind, JournalEntry, Payment, PaymentStatus, Posting
from tests.processes import (
    Processes,
    RedisServer,
    api_token,
    children,
    start_beat,
    start_gunicorn,
    start_worker,
    stop,
    wait_until,
)
from tests.processes import test_database_url as database_url
from tests.reliability.report import Section
from tests.reliability.support import READER, Reader, client_logs, server_env, start_clients

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ACCOUNTS = 8
OPENING = Decimal("1000.00")
CLIENTS = 4
LOAD_SECONDS = 24.0


def _terminate_backends() -> int:
    """Terminate every backend of the test database except this test's and the reader's."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid() AND application_name <> %s",
            [READER],
        )
        return int(cursor.fetchone()[0])


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # it may have gone already
        os.kill(pid, signal.SIGKILL)


class Stack:
    """The web server, worker and beat of the test, on its own Redis; faults go through here."""

    def __init__(self, processes: Processes, redis: RedisServer, tmp: Path) -> None:
        self.processes = processes
        self.redis = redis
        self.logs = tmp
        self.env = server_env(
            database_url(),
            self.redis.url,
            CELERY_VISIBILITY_TIMEOUT="3",
            FINSYS_GATEWAY_SIM_LATENCY_MS="150",
            FINSYS_PAYMENT_RETRY_SECONDS="1",
            FINSYS_PAYMENT_SWEEP_SECONDS="1",
            FINSYS_OUTBOX_RELAY_SECONDS="1",
        )
        self.web, self.base = start_gunicorn(self.env, log=tmp / "web.log")
        processes.add(self.web)
        self.port = int(self.base.rsplit(":", 1)[1])
        self.worker = processes.add(start_worker(self.env, self.env["CELERY_QUEUE"], tmp / "worker.log"))
        self.beat = processes.add(start_beat(self.env, tmp / "beat.log"))
        self.faults: list[str] = []
        self.restarts: list[str] = []

    def supervise(self) -> None:
        """What `restart: unless-stopped` does in docker-compose.yml: a worker or beat that
        exited on its own (not killed by a fault) is started again, and the test says so."""
        if self.worker.poll() is not None:
            self.restarts.append(f"worker exited with {self.worker.returncode}")
            self.worker = self.processes.add(start_worker(self.env, self.env["CELERY_QUEUE"], self.logs / "worker.log"))
        if self.beat.poll() is not None:
            self.restarts.append(f"beat exited with {self.beat.returncode}")
            self.beat = self.processes.add(start_beat(self.env, self.logs / "beat.log"))

    def note(self, fault: str) -> None:
        self.faults.append(f"{time.strftime('%H:%M:%S', time.gmtime())} {fault}")

    def kill_worker_mid_settlement(self) -> None:
        # Wait (briefly) until a payment is at the gateway, so the kill lands mid-settlement.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not Payment.objects.filter(status=PaymentStatus.SUBMITTED).exists():
            time.sleep(0.1)
        in_flight = Payment.objects.filter(status=PaymentStatus.SUBMITTED).count()
        self.worker.send_signal(signal.SIGKILL)
        self.worker.wait(timeout=10)
        self.note(f"SIGKILL Celery worker ({in_flight} payment(s) at the gateway)")
        time.sleep(1)
        self.worker = self.processes.add(start_worker(self.env, self.env["CELERY_QUEUE"], self.logs / "worker.log"))

    def kill_web_worker(self) -> None:
        workers = children(self.web.pid)
        if workers:
            _kill(workers[0])
        self.note(f"SIGKILL one gunicorn worker (pid {workers[0] if workers else '-'})")

    def kill_web_server(self) -> None:
        workers = children(self.web.pid)
        for pid in [self.web.pid, *workers]:
            _kill(pid)
        self.web.wait(timeout=10)
        down = time.monotonic()
        self.web, _base = start_gunicorn(self.env, port=self.port, log=self.logs / "web.log")
        self.processes.add(self.web)
        self.note(
            f"SIGKILL gunicorn master and {len(workers)} worker(s); answering again on the same port"
            f" after {time.monotonic() - down:.1f} s"
        )

    def restart_redis(self) -> None:
        self.redis.kill()
        self.note("SIGKILL Redis (broker and cache) for 3 s")
        time.sleep(3)
        self.redis.start()

    def terminate_backends(self) -> None:
        self.note(f"pg_terminate_backend on {_terminate_backends()} backend(s) of the test database")


def test_the_bank_keeps_every_invariant_through_crashes_broker_loss_and_cut_connections(
    processes: Processes,
    own_redis: RedisServer,
    make_account: Callable[..., Account],
    tmp_path: Path,
    reliability: Callable[[str], Section],
) -> None:
    section = reliability("bank under faults")
    began = time.monotonic()
    accounts = [make_account(balance=OPENING) for _ in range(ACCOUNTS)]
    public = {str(a.public_id): a.pk for a in accounts}
    payments_before = Payment.objects.count()
    stack = Stack(processes, own_redis, tmp_path)
    token = api_token(stack.base, name="reliability")
    reader = Reader(database_url())
    reader.start()

    clients = start_clients(
        processes, stack.base, token, list(public), count=CLIENTS, seconds=LOAD_SECONDS, logs=tmp_path
    )
    started = time.monotonic()
    setup_seconds = started - began
    schedule: list[tuple[float, Callable[[], None]]] = [
        (3, stack.kill_worker_mid_settlement),
        (6, stack.kill_web_worker),
        (8, stack.restart_redis),
        (12, stack.terminate_backends),
        (14, stack.kill_web_server),
        (19, stack.terminate_backends),
        (21, stack.kill_worker_mid_settlement),
    ]
    try:
        for at, fault in schedule:
            while time.monotonic() - started < at:
                stack.supervise()
                time.sleep(0.25)
            fault()
        while any(client.poll() is None for client in clients):
            stack.supervise()
            time.sleep(0.25)
        assert all(client.returncode == 0 for client in clients), [c.stderr.read() for c in clients if c.stderr]

        def final() -> bool:
            stack.supervise()
            return not Payment.objects.exclude(status__in=[PaymentStatus.SETTLED, PaymentStatus.REJECTED]).exists()

        try:
            wait_until(final, 120, "every payment to be settled or rejected")
        except AssertionError:
            statuses = Counter(Payment.objects.values_list("status", flat=True))
            logs = {name: (tmp_path / name).read_text(errors="replace")[-3000:] for name in ("worker.log", "beat.log")}
            raise AssertionError(
                f"payments {dict(statuses)}; faults {stack.faults}; restarts {stack.restarts}; logs {logs}"
            ) from None
        drained = time.monotonic()
    finally:
        reader.stop()

    records = client_logs(tmp_path)
    transfers = [r for r in records if r["op"] == "transfer"]
    acknowledged = {r["key"]: r for r in transfers if r["status"] == 201}
    entries = list(JournalEntry.objects.filter(kind=EntryKind.TRANSFER, reference__in=[r["key"] for r in transfers]))
    accepted = {r["id"] for r in records if r["op"] == "payment" and r["status"] == 202}
    payments = list(Payment.objects.filter(public_id__in=accepted))
    booked = {e.reference for e in entries}
    section.seconds = time.monotonic() - began
    section.requests = len(records)
    section.faults = list(stack.faults)
    section.lost = sum(1 for key in acknowledged if key not in booked) + len(accepted) - len(payments)
    section.details.update(
        statuses=dict(Counter(r["status"] for r in records)),
        retried_errors=dict(Counter(e for r in records for e in r["errors"])),
        restarted_after_exiting_on_their_own=stack.restarts,
        reader_snapshots=len(reader.sums),
        reader_reconnects=reader.errors,
        setup_seconds=round(setup_seconds, 1),
        load_and_faults_seconds=round(drained - started, 1),
    )
    print(json.dumps(section.details, indent=2))

    with section.check("every request got a definitive answer, faults were met and retried, replays identical"):
        assert not [r for r in records if r["gave_up"]]
        assert len(stack.faults) == len(schedule)
        assert len(acknowledged) > 20, section.details
        assert sum(1 for r in records if r["errors"]) > 0, "no request met a fault: the faults proved nothing"
        assert all(r["replay"]["same"] for r in records if "replay" in r)
    with section.check(
        "no fault produced a bare 500 (a 503 with a code, or a cut connection); refusals only insufficient_funds"
    ):
        web_log = (tmp_path / "web.log").read_text(errors="replace")
        errors = [e for r in records for e in r["errors"] if e.startswith("500")]
        assert not errors, web_log[web_log.find("Traceback") :][:6000]
        refused = [r for r in records if r["status"] not in {201, 202}]
        assert {r.get("code") for r in refused} <= {"insufficient_funds"}, refused[:5]

    with section.check("exactly the acknowledged transfers are in the ledger, once each, as acknowledged"):
        assert len(entries) == len(booked), "a transfer applied twice"
        assert booked == set(acknowledged), "a transfer lost, or applied unacknowledged"
        for entry in entries:
            sent = acknowledged[entry.reference]
            assert str(entry.public_id) == sent["id"]
            legs = set(Posting.objects.filter(entry=entry).values_list("account_id", "amount"))
            amount = Decimal(sent["amount"])
            assert legs == {(public[sent["from"]], -amount), (public[sent["to"]], amount)}

    settled = [p for p in payments if p.status == PaymentStatus.SETTLED]
    with section.check("every accepted payment is final and booked once; no hold left active"):
        assert len(payments) == len(accepted) == Payment.objects.count() - payments_before
        assert all(p.settlement_entry_id for p in settled)
        assert JournalEntry.objects.filter(kind=EntryKind.PAYMENT).count() == len(settled)
        assert not Hold.objects.filter(status=HoldStatus.ACTIVE).exists()

    with section.check("each balance is its opening plus what was acknowledged (no money created or lost)"):
        expected = dict.fromkeys(public.values(), OPENING)
        for sent in acknowledged.values():
            expected[public[sent["from"]]] -= Decimal(sent["amount"])
            expected[public[sent["to"]]] += Decimal(sent["amount"])
        for payment in settled:
            expected[payment.account_id] -= payment.amount
        assert {a.pk: a.balance for a in Account.objects.filter(pk__in=expected)} == expected

    with section.check("every reader snapshot of the bank's total summed to zero"):
        assert reader.sums, "the reader never read"
        assert set(reader.sums) == {Decimal(0)}
    with section.check("ledger_check passes"):
        assert ledger_check().ok
    with section.check("the audit chains seal and verify"):
        chains_seal(full=True)
        grace = dt.timedelta(seconds=settings.AUDIT_SEAL_GRACE_SECONDS)
        verification = audit_chains_verify(grace=grace, now=timezone.now())
        assert verification.ok, verification.first_problem
    section.seconds = time.monotonic() - began
    stop(stack.web)
