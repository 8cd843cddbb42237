"""What the reliability tests share: the load clients (client.py processes), their logs, and a
reader that watches the bank's total balance while faults are injected."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg

from tests.processes import PYTHON, ROOT, Processes, process_env, unique_queue

CLIENT = ROOT / "tests" / "reliability" / "client.py"
READER = "reliability-reader"
REDIS_SERVER_MISSING = "needs redis-server on PATH: the test runs (and may kill) a Redis of its own"


def server_env(database_url: str, redis_url: str, **extra: str) -> dict[str, str]:
    """The environment of a test's gunicorn (and worker) as operators run it: production-like
    (DEBUG off), 2 workers x 4 threads, its own Celery queue; `extra` on top."""
    return process_env(
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        CELERY_QUEUE=unique_queue(),
        DEBUG="0",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        GUNICORN_WORKERS="2",
        GUNICORN_THREADS="4",
        **extra,
    )


class Reader(threading.Thread):
    """Reads SUM(balance) over every account, one statement at a time, on its own connection
    (reconnecting when a fault cuts it): a transfer half applied would show as a changed sum."""

    def __init__(self, dsn: str) -> None:
        super().__init__(daemon=True)
        self.dsn = dsn
        self.sums: list[Decimal] = []
        self.errors = 0
        self.halt = threading.Event()

    def run(self) -> None:
        conn: psycopg.Connection[Any] | None = None
        while not self.halt.is_set():
            try:
                if conn is None or conn.closed:
                    conn = psycopg.connect(self.dsn, autocommit=True, application_name=READER, connect_timeout=2)
                row = conn.execute("SELECT coalesce(sum(balance), 0) FROM accounts_account").fetchone()
                self.sums.append(Decimal(row[0]) if row else Decimal(0))
            except psycopg.Error:
                self.errors += 1
                conn = None
            time.sleep(0.05)
        if conn is not None:
            conn.close()

    def stop(self) -> None:
        self.halt.set()
        self.join(timeout=10)


def start_clients(
    processes: Processes,
    base: str,
    token: str,
    accounts: list[str],
    *,
    count: int,
    seconds: float,
    logs: Path,
    payment_share: float | None = None,
) -> list[subprocess.Popen[bytes]]:
    """`count` client.py processes sending for `seconds`, each logging to logs/client-N.jsonl."""
    command = [PYTHON, str(CLIENT), base, token, json.dumps(accounts)]
    share = [] if payment_share is None else [str(payment_share)]
    return [
        processes.add(
            subprocess.Popen(
                [*command, str(seed), str(seconds), str(logs / f"client-{seed}.jsonl"), *share],
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
        )
        for seed in range(count)
    ]


def client_logs(logs: Path) -> list[dict[str, Any]]:
    """Every request the clients logged (one JSON record per request, once it was definitive)."""
    records = []
    for path in sorted(logs.glob("client-*.jsonl")):
        records += [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return records
