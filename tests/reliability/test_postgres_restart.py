"""PostgreSQL restarted under load (issue 9): the API answers 503 with a code while the database
is down, recovers by itself when it is back, and no write is left half done.

The shared server on 5432 must not be restarted, so the test makes a cluster of its own
(tests/reliability/private_postgres.py), fills it from the pytest test database with
`pg_dump | psql` (six funded accounts and an API client made here first; far cheaper than
migrating), and runs gunicorn (2 workers x 4 threads, persistent connections as in production)
on it, with a redis-server of its own. Four client processes (client.py) send transfers with an
Idempotency-Key for LOAD_SECONDS, retrying every non-definitive answer with the same key. During
the load:

- the cluster is crashed (`pg_ctl stop -m immediate`: no checkpoint, every connection cut) and
  kept down for DOWN_SECONDS, while the test itself asks the API and must get
  `503 service_unavailable` with Retry-After, then started again (crash recovery replays WAL);
- later it is restarted with `pg_ctl restart -m fast` (open transactions aborted).

Then the checker proves: the gunicorn master and workers that served before the faults still
serve (nobody restarted them); every client request got a definitive answer; no fault produced
a bare 500; every acknowledged transfer (201) is exactly one journal entry with its amount and
accounts, nothing unacknowledged was written, replays gave the same transaction; no idempotency
record without its answer; every balance is its opening plus the acknowledged transfers, the
total never moved in any reader snapshot; `manage.py check_ledger` passes on the private
database. The cluster is stopped and deleted at the end, also on failure.
"""

from __future__ import annotations

import json
import subprocess
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest

from apps.accounts.models import Account
from apps.common.models import IdempotencyRecord
from apps.transactions.models import EntryKind
from tests.processes import (
    PYTHON,
    ROOT,
    Processes,
    RedisServer,
    api_client_issue,
    api_token_for,
    children,
    process_env,
    start_gunicorn,
    wait_until,
)
from tests.processes import test_database_url as database_url
from tests.reliability.private_postgres import PrivateCluster, unavailable_reason
from tests.reliability.report import Section
from tests.reliability.support import Reader, client_logs, server_env, start_clients

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ACCOUNTS = 6
OPENING = Decimal("1000.00")
CLIENTS = 4
LOAD_SECONDS = 10.0
DOWN_SECONDS = 2.0
DATABASE = "finsys"


@pytest.fixture
def cluster() -> Iterator[PrivateCluster]:
    reason = unavailable_reason()
    if reason:
        print(f"\nskipping the PostgreSQL restart test: {reason}")
        pytest.skip(reason)
    private = PrivateCluster()
    try:
        private.start()
        yield private
    finally:
        private.destroy()


class Faults:
    """The faults of the run, and what the API answered while the database was down."""

    def __init__(self, cluster: PrivateCluster, base: str, token: str, account: str) -> None:
        self.cluster = cluster
        self.probe = f"{base}/api/v1/accounts/{account}/"
        self.token = token
        self.injected: list[str] = []
        self.answers_while_down: list[tuple[int, Any, str | None]] = []
        self.recovery_seconds: list[float] = []

    def ask(self) -> tuple[int, Any, str | None]:
        """GET one account (a read that needs the database): status, JSON body, Retry-After."""
        request = urllib.request.Request(self.probe, headers={"Authorization": f"Bearer {self.token}"})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read()), response.headers.get("Retry-After")
        except urllib.error.HTTPError as error:
            raw = error.read()
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw[:200].decode(errors="replace")
            return error.code, body, error.headers.get("Retry-After")
        except OSError as exc:  # a cut connection is recorded, not raised
            return 0, type(exc).__name__, None

    def recovered(self) -> None:
        """Wait until the API answers from the database again, and note how long that took."""
        back = time.monotonic()
        wait_until(lambda: self.ask()[0] == 200, 30, "the API to answer again after the restart")
        self.recovery_seconds.append(round(time.monotonic() - back, 2))

    def crash(self) -> None:
        self.cluster.stop("immediate")
        down = time.monotonic()
        while time.monotonic() - down < DOWN_SECONDS:
            self.answers_while_down.append(self.ask())
            time.sleep(0.3)
        self.cluster.start()
        self.injected.append(f"pg_ctl stop -m immediate (a crash), down {time.monotonic() - down:.1f} s, then start")
        self.recovered()

    def fast_restart(self) -> None:
        began = time.monotonic()
        self.cluster.restart("fast")
        self.injected.append(f"pg_ctl restart -m fast ({time.monotonic() - began:.1f} s)")
        self.recovered()


def _query(url: str, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(sql, params).fetchall()


def test_postgres_restarted_under_load_answers_503_then_recovers_with_no_partial_write(
    processes: Processes,
    own_redis: RedisServer,
    cluster: PrivateCluster,
    make_account: Callable[..., Account],
    tmp_path: Path,
    reliability: Callable[[str], Section],
) -> None:
    section = reliability("PostgreSQL restart")
    began = time.monotonic()
    with section.timed():
        accounts = [make_account(balance=OPENING) for _ in range(ACCOUNTS)]
        public = {str(a.public_id): a.pk for a in accounts}
        issued = api_client_issue(name="pg-restart")
        filling = time.monotonic()
        cluster.fill_from(database_url(), DATABASE)
        section.details["fill_seconds"] = round(time.monotonic() - filling, 1)
        private = cluster.url(DATABASE)
        env = server_env(private, own_redis.url)
        web, base = start_gunicorn(env, log=tmp_path / "web.log")
        processes.add(web)
        token = api_token_for(base, issued)
        serving = (web.pid, sorted(children(web.pid)))
        total_before = _query(private, "SELECT sum(balance) FROM accounts_account")[0][0]
        faults = Faults(cluster, base, token, next(iter(public)))
        section.details["setup_seconds"] = round(time.monotonic() - began, 1)

        reader = Reader(private)
        reader.start()
        clients = start_clients(
            processes, base, token, list(public), count=CLIENTS, seconds=LOAD_SECONDS, logs=tmp_path, payment_share=0
        )
        started = time.monotonic()
        try:
            for at, fault in [(2.0, faults.crash), (LOAD_SECONDS - 3, faults.fast_restart)]:
                while time.monotonic() - started < at:
                    time.sleep(0.1)
                fault()
            for client in clients:
                client.wait(timeout=180)
        finally:
            reader.stop()
        section.details["load_seconds"] = round(time.monotonic() - started, 1)
        section.faults = faults.injected

        records = client_logs(tmp_path)
        section.requests = len(records)
        acknowledged = {r["key"]: r for r in records if r["status"] == 201}
        keys = [r["key"] for r in records]
        entries = _query(
            private,
            "SELECT reference, public_id::text, id FROM transactions_journalentry WHERE kind = %s AND reference = ANY(%s)",
            [EntryKind.TRANSFER.value, keys],
        )
        applied = Counter(reference for reference, _id, _pk in entries)
        section.lost = sum(1 for key in acknowledged if not applied[key])
        section.details.update(
            statuses=dict(Counter(r["status"] for r in records)),
            retried_errors=dict(Counter(e for r in records for e in r["errors"])),
            api_while_down=dict(Counter(str(status) for status, _body, _retry in faults.answers_while_down)),
            recovery_seconds=faults.recovery_seconds,
            reader_snapshots=len(reader.sums),
            reader_reconnects=reader.errors,
            applied_twice=sum(1 for n in applied.values() if n > 1),
        )
        print(json.dumps(section.details, indent=2))
        web_log = (tmp_path / "web.log").read_text(errors="replace")

        with section.check("while PostgreSQL was down the API answered 503 service_unavailable with Retry-After"):
            assert faults.answers_while_down
            assert {status for status, _body, _retry in faults.answers_while_down} == {503}, faults.answers_while_down
            assert {body["code"] for _status, body, _retry in faults.answers_while_down} == {"service_unavailable"}
            assert {retry for _status, _body, retry in faults.answers_while_down} == {"1"}
        with section.check("the API recovered by itself: the same gunicorn master and workers serve"):
            assert web.poll() is None
            assert (web.pid, sorted(children(web.pid))) == serving
            assert all(seconds < 10 for seconds in faults.recovery_seconds), faults.recovery_seconds
        with section.check("every client request got a definitive answer; faults were met and retried"):
            assert all(client.returncode == 0 for client in clients), [c.stderr.read() for c in clients if c.stderr]
            assert not [r for r in records if r["gave_up"]]
            assert len(acknowledged) > 20, section.details
            assert any("503:service_unavailable" in r["errors"] for r in records), section.details
            assert all(r["replay"]["same"] for r in records if "replay" in r)
        with section.check("no fault produced a bare 500; the only refusals are insufficient_funds"):
            bare = [e for r in records for e in r["errors"] if e.startswith("500")]
            assert not bare, web_log[web_log.find("Traceback") :][:6000]
            refused = [r for r in records if r["status"] != 201]
            assert {r.get("code") for r in refused} <= {"insufficient_funds"}, refused[:5]
        with section.check("every acknowledged transfer is exactly one journal entry, as acknowledged; nothing else"):
            assert set(applied) == set(acknowledged), "a transfer lost, or written without an acknowledgement"
            assert set(applied.values()) <= {1}, "a transfer applied twice"
            legs: dict[int, set[tuple[str, Decimal]]] = {}
            for entry_id, account, amount in _query(
                private,
                "SELECT p.entry_id, a.public_id::text, p.amount FROM transactions_posting p"
                " JOIN accounts_account a ON a.id = p.account_id WHERE p.entry_id = ANY(%s)",
                [[pk for _ref, _id, pk in entries]],
            ):
                legs.setdefault(entry_id, set()).add((account, Decimal(amount)))
            for reference, public_id, pk in entries:
                sent = acknowledged[reference]
                assert public_id == sent["id"]
                amount = Decimal(sent["amount"])
                assert legs[pk] == {(sent["from"], -amount), (sent["to"], amount)}
        with section.check("no idempotency record was left without its answer"):
            table = IdempotencyRecord._meta.db_table
            assert _query(private, f"SELECT count(*) FROM {table} WHERE status_code IS NULL")[0][0] == 0  # noqa: S608
        with section.check("each balance is its opening plus the acknowledged transfers; the total never moved"):
            expected = dict.fromkeys(public, OPENING)
            for sent in acknowledged.values():
                expected[sent["from"]] -= Decimal(sent["amount"])
                expected[sent["to"]] += Decimal(sent["amount"])
            balances = _query(
                private,
                "SELECT public_id::text, balance FROM accounts_account WHERE public_id::text = ANY(%s)",
                [list(public)],
            )
            assert {account: Decimal(balance) for account, balance in balances} == expected
            assert reader.sums, "the reader never read"
            assert set(reader.sums) == {total_before}
        with section.check("manage.py check_ledger passes on the restarted database"):
            ledger = subprocess.run(
                [PYTHON, "manage.py", "check_ledger"],
                cwd=ROOT,
                env=process_env(DATABASE_URL=private, REDIS_URL=own_redis.url),
                capture_output=True,
                text=True,
                check=False,
            )
            assert ledger.returncode == 0, ledger.stdout + ledger.stderr
            assert "ledger ok" in ledger.stdout
