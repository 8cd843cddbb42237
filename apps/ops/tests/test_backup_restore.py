"""backup FILE / restore FILE (API.md): a real backup restored into a fresh database passes
check_ledger and verify_audit; damaged files and wrong keys change nothing."""

from __future__ import annotations

import base64
import io
import json
import os
import re
import secrets
import sqlite3
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import override_settings

from apps.accounts.models import Account
from apps.audit.models import AuditEvent
from apps.common.money import Money
from apps.common.principals import SYSTEM_ACTOR
from apps.customers.models import Customer
from apps.ops.services.backup_crypto import encrypt_stream, parse_backup_keys
from apps.transactions.models import JournalEntry, Posting
from apps.transactions.services import transfer_create, withdrawal_create

ROOT = Path(__file__).resolve().parents[3]
on_postgres = pytest.mark.postgres


def _small_bank(make_account: Any) -> None:
    a = make_account(balance="1000.00")
    b = make_account(balance="250.50")
    make_account(currency="USD", balance="99.99")
    transfer_create(
        actor=SYSTEM_ACTOR, from_account=a.public_id, to_account=b.public_id, money=Money(Decimal("120.25"), "CNY")
    )
    withdrawal_create(actor=SYSTEM_ACTOR, account=b.public_id, money=Money(Decimal("10.00"), "CNY"))


def _state_here() -> dict[str, Any]:
    return {
        "customers": Customer.objects.count(),
        "accounts": sorted(
            (str(a), str(b), str(c)) for a, b, c in Account.objects.values_list("number", "balance", "available")
        ),
        "entries": JournalEntry.objects.count(),
        "postings": Posting.objects.count(),
    }


_STATE_SQL = {
    "customers": "SELECT count(*) FROM customers_customer",
    "accounts": "SELECT number, balance, available FROM accounts_account",
    "entries": "SELECT count(*) FROM transactions_journalentry",
    "postings": "SELECT count(*) FROM transactions_posting",
}


def _state_from(cursor: Any) -> dict[str, Any]:
    state: dict[str, Any] = {}
    for name, sql in _STATE_SQL.items():
        cursor.execute(sql)
        rows = cursor.fetchall()
        if name == "accounts":
            state[name] = sorted((str(n), str(Decimal(str(b))), str(Decimal(str(v)))) for n, b, v in rows)
        else:
            state[name] = rows[0][0]
    return state


def _normalise(state: dict[str, Any]) -> dict[str, Any]:
    """Decimal text differs between engines (100.0000 vs 100): compare values."""
    return {
        **state,
        "accounts": sorted((n, Decimal(b).normalize(), Decimal(v).normalize()) for n, b, v in state["accounts"]),
    }


def _manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )


def _subprocess_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "FINSYS_ENV", "DJANGO_ALLOW_ASYNC_UNSAFE"}}
    env["DJANGO_SETTINGS_MODULE"] = "finsys.settings.test"
    env["BACKUP_ENCRYPTION_KEY"] = settings.BACKUP_ENCRYPTION_KEY
    env["AUDIT_SIGNING_KEY"] = settings.AUDIT_SIGNING_KEY
    env.update(extra)
    return env


_STEPS_SCRIPT = """
import io, json, sys
import django
django.setup()
from django.core.management import CommandError, call_command
results = []
for args in json.loads(sys.argv[1]):
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command(*args, stdout=out, stderr=err)
        results.append([args[0], 0, out.getvalue()])
    except CommandError as exc:
        results.append([args[0], 1, str(exc)])
print(json.dumps(results))
"""


def _commands_in_one_process(steps: list[list[str]], env: dict[str, str]) -> list[tuple[str, int, str]]:
    """Several management commands in one fresh process (a Django start costs seconds here)."""
    done = subprocess.run(
        [sys.executable, "-c", _STEPS_SCRIPT, json.dumps(steps)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return [tuple(row) for row in json.loads(done.stdout.strip().splitlines()[-1])]


def _restore_and_prove(backup: Path, env: dict[str, str], *, entries: int = 5) -> None:
    """Restore into the empty target, prove it (check_ledger, verify_audit), refuse a second restore."""
    (restore, ledger, audit, again) = _commands_in_one_process(
        [["restore", str(backup)], ["check_ledger"], ["verify_audit"], ["restore", str(backup)]], env
    )
    assert restore[1] == 0, restore
    assert "restored" in restore[2]
    assert ledger[1] == 0, ledger
    assert f"ledger ok: {entries} entries balance" in ledger[2], ledger
    assert audit[1] == 0, audit
    assert "audit verified" in audit[2], audit
    assert again[1] == 1
    assert "target database is not empty" in again[2]


def _tamper(path: Path, tmp_path: Path) -> Path:
    damaged = tmp_path / "damaged.fbk"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x40
    damaged.write_bytes(bytes(data))
    return damaged


def _admin_url(database: str) -> str:
    s = connection.settings_dict
    password = f":{s['PASSWORD']}" if s.get("PASSWORD") else ""
    return f"postgres://{s['USER']}{password}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{database}"


@pytest.fixture
def fresh_pg_database():
    name = f"{connection.settings_dict['NAME']}_restore"
    with psycopg.connect(_admin_url("postgres"), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    yield _admin_url(name)
    with psycopg.connect(_admin_url("postgres"), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@on_postgres
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_postgres_backup_restores_into_a_fresh_database_that_passes_check_ledger(
    make_account, tmp_path, fresh_pg_database, capsys
):
    _small_bank(make_account)
    before = _state_here()
    audit_before = AuditEvent.objects.count()
    backup = tmp_path / "bank.fbk"

    call_command("backup", str(backup))

    assert f"backup written: {backup} (postgresql" in capsys.readouterr().out
    assert oct(backup.stat().st_mode & 0o777) == "0o600"
    assert b"PGDMP" not in backup.read_bytes()  # no plaintext dump inside
    assert AuditEvent.objects.filter(action="ops.backup", object_id="bank.fbk").count() == 1
    env = _subprocess_env(DATABASE_URL=fresh_pg_database)

    # A damaged file is refused before anything is written: the empty target stays empty.
    # (Truncation and wrong keys take the same path: test_backup_format and the in-process tests.)
    refused = _manage("restore", str(_tamper(backup, tmp_path)), env=env)
    assert refused.returncode != 0
    assert "damaged or was altered" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    with psycopg.connect(fresh_pg_database) as restored:
        assert restored.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone() == (0,)

    _restore_and_prove(backup, env)

    with psycopg.connect(fresh_pg_database) as restored, restored.cursor() as cursor:
        assert _normalise(_state_from(cursor)) == _normalise(before)
        cursor.execute("SELECT count(*) FROM audit_auditevent")
        # The backup's own event comes after the dump; verify_audit's run is the one event more.
        assert cursor.fetchone() == (audit_before + 1,)
        cursor.execute("SELECT action FROM audit_auditevent ORDER BY id DESC LIMIT 1")
        assert cursor.fetchone() == ("audit.verify",)
        cursor.execute("SELECT tgname FROM pg_trigger WHERE tgname = 'posting_append_only'")
        assert cursor.fetchone() is not None  # the ledger guards came back too


@pytest.mark.slow
def test_sqlite_backup_restores_into_a_new_file_that_passes_check_ledger(tmp_path):
    """The development set-up's backup (SQLite's online backup API), whatever database the suite
    runs on: a small demo bank in its own SQLite file, backed up, restored into a new file."""
    source, backup, target = tmp_path / "bank.sqlite3", tmp_path / "bank.fbk", tmp_path / "restored.sqlite3"
    made = _commands_in_one_process(
        [
            ["migrate", "--noinput", "--verbosity", "0"],
            ["seed_demo", "--customers", "4", "--transactions", "20", "--seed", "7"],
            ["check_ledger"],
            ["backup", str(backup)],
        ],
        _subprocess_env(SQLITE_PATH=str(source)),
    )
    assert [step[1] for step in made] == [0, 0, 0, 0], made
    entries = int(re.search(r"ledger ok: (\d+) entries", made[2][2]).group(1))

    _restore_and_prove(backup, _subprocess_env(SQLITE_PATH=str(target)), entries=entries)
    with sqlite3.connect(source) as original, sqlite3.connect(target) as restored:
        assert _state_from(restored.cursor()) == _state_from(original.cursor())


@pytest.mark.django_db
def test_restore_refuses_damage_before_touching_the_database(make_account, tmp_path):
    """In-process, against the live test database: the file check comes first and nothing changes."""
    make_account(balance="10.00")
    before = _state_here()
    sealed = io.BytesIO()
    key = parse_backup_keys(settings.BACKUP_ENCRYPTION_KEY)[0]
    encrypt_stream(io.BytesIO(secrets.token_bytes(5000)), sealed, key=key, metadata={"engine": connection.vendor})
    good = tmp_path / "good.fbk"
    good.write_bytes(sealed.getvalue())
    out = io.StringIO()
    call_command("restore", "--verify-only", str(good), stdout=out)
    assert f"backup ok: {good} ({connection.vendor}" in out.getvalue()
    damaged = tmp_path / "damaged.fbk"
    damaged.write_bytes(sealed.getvalue()[:-1] + b"\x00")
    with pytest.raises(CommandError, match="restore refused: backup file is damaged or was altered"):
        call_command("restore", str(damaged))
    truncated = tmp_path / "truncated.fbk"
    truncated.write_bytes(sealed.getvalue()[:-100])
    with pytest.raises(CommandError, match="restore refused: backup file is truncated"):
        call_command("restore", str(truncated))
    other_key = base64.b64encode(secrets.token_bytes(32)).decode()
    with override_settings(BACKUP_ENCRYPTION_KEY=other_key), pytest.raises(CommandError, match="encrypted with key id"):
        call_command("restore", str(damaged))
    with pytest.raises(CommandError, match="restore refused: not a finsys backup"):
        call_command("restore", str(Path(__file__)))
    with pytest.raises(CommandError, match="cannot read"):
        call_command("restore", str(tmp_path / "missing.fbk"))
    assert _state_here() == before


@pytest.mark.django_db
def test_backup_refuses_an_existing_file_and_a_missing_key(make_account, tmp_path, settings):
    existing = tmp_path / "exists.fbk"
    existing.write_bytes(b"keep me")
    with pytest.raises(CommandError, match="already exists"):
        call_command("backup", str(existing))
    assert existing.read_bytes() == b"keep me"
    settings.BACKUP_ENCRYPTION_KEY = ""
    with pytest.raises(CommandError, match="BACKUP_ENCRYPTION_KEY is not set"):
        call_command("backup", str(tmp_path / "new.fbk"))
    assert list(tmp_path.iterdir()) == [existing]
    assert not AuditEvent.objects.filter(action="ops.backup").exists()
