"""Encrypted backup of the whole bank, and its restore into an empty database.

PostgreSQL: `pg_dump --format=custom` streamed through the encryption (backup_crypto) into the
file; restore authenticates the whole file first, then streams the plaintext into
`pg_restore --single-transaction --exit-on-error`, so a refused or failed restore leaves the
target as it was. SQLite (development): the online backup API into a private temporary file,
then encrypted; restore writes the database file. Connection parameters come from settings and
reach pg_dump/pg_restore through the PG* environment variables, never the command line.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone

from apps.audit.services import audit_record
from apps.ops.services.backup_crypto import (
    BackupFormatError,
    decrypt_chunks,
    encrypt_stream,
    key_for,
    parse_backup_keys,
    read_header,
    verify_stream,
)

ENGINES = ("postgresql", "sqlite")


class BackupError(Exception):
    """A backup or restore could not be done; the message says why in one line."""


@dataclass(frozen=True)
class BackupResult:
    path: Path
    engine: str
    plaintext_bytes: int
    file_bytes: int
    key_id: str


@dataclass(frozen=True)
class RestoreResult:
    engine: str
    plaintext_bytes: int
    created_at: str


def _one_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "no message"


def _pg_env(settings_dict: dict[str, Any]) -> dict[str, str]:
    env = dict(os.environ)
    for name, value in (
        ("PGHOST", settings_dict.get("HOST")),
        ("PGPORT", settings_dict.get("PORT")),
        ("PGUSER", settings_dict.get("USER")),
        ("PGPASSWORD", settings_dict.get("PASSWORD")),
        ("PGDATABASE", settings_dict.get("NAME")),
    ):
        if value:
            env[name] = str(value)
    options = settings_dict.get("OPTIONS") or {}
    for option in ("sslmode", "sslrootcert", "sslcert", "sslkey"):
        if options.get(option):
            env[f"PG{option.upper()}"] = str(options[option])
    return env


def _pg_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} is not on the PATH: install the PostgreSQL client (Debian: postgresql-client)")
    return path


def _pg_tool_major(path: str) -> int:
    out = subprocess.run(  # noqa: S603 - a fixed argument list, no shell
        [path, "--version"], capture_output=True, text=True, check=False, timeout=30
    ).stdout
    match = re.search(r"(\d+)(?:\.\d+)?", out)
    if not match:
        raise BackupError(f"cannot read the version of {path}: {out.strip()!r}")
    return int(match.group(1))


def _engine(alias: str) -> str:
    vendor = connections[alias].vendor
    if vendor not in ENGINES:
        raise BackupError(f"backups support PostgreSQL and SQLite, not {vendor}")
    return vendor


def _keys() -> list[Any]:
    return parse_backup_keys(settings.BACKUP_ENCRYPTION_KEY)


def _migration_heads(alias: str) -> dict[str, str]:
    heads: dict[str, str] = {}
    for app, name in MigrationRecorder(connections[alias]).applied_migrations():
        if name > heads.get(app, ""):
            heads[app] = name
    return dict(sorted(heads.items()))


@contextmanager
def _private_output(path: Path) -> Iterator[IO[bytes]]:
    """A new file readable by its owner only, written under a temporary name, renamed when complete."""
    if path.exists():
        raise BackupError(f"{path} already exists: choose a new file name")
    if not path.parent.is_dir():
        raise BackupError(f"directory {path.parent} does not exist")
    tmp = path.with_name(f".{path.name}.{os.getpid()}.partial")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    completed = False
    try:
        with os.fdopen(fd, "wb") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
        completed = True
    finally:
        if not completed:
            tmp.unlink(missing_ok=True)


def backup_create(*, path: Path, actor: str, alias: str = DEFAULT_DB_ALIAS) -> BackupResult:
    """Write an encrypted backup of the whole database to `path` (a new file)."""
    engine = _engine(alias)
    key = _keys()[0]
    connection = connections[alias]
    metadata: dict[str, Any] = {
        "engine": engine,
        "created_at": timezone.now().isoformat(),
        "migrations": _migration_heads(alias),
    }
    with _private_output(path) as out:
        if engine == "postgresql":
            pg_dump = _pg_tool("pg_dump")
            server_major = connection.pg_version // 10000  # type: ignore[attr-defined]
            if _pg_tool_major(pg_dump) < server_major:
                raise BackupError(
                    f"pg_dump {_pg_tool_major(pg_dump)} is older than the PostgreSQL {server_major} server: "
                    "install a matching postgresql-client"
                )
            metadata["format"] = "pg_dump-custom"
            metadata["server_major"] = server_major
            size = _pg_dump_encrypted(pg_dump, connection.settings_dict, out, key, metadata)
        else:
            metadata["format"] = "sqlite"
            size = _sqlite_dump_encrypted(connection, out, key, metadata)
    audit_record(
        actor=actor,
        action="ops.backup",
        object_type="backup",
        object_id=path.name,
        detail={"engine": engine, "bytes": path.stat().st_size, "key_id": key.key_id_hex},
    )
    return BackupResult(
        path=path, engine=engine, plaintext_bytes=size, file_bytes=path.stat().st_size, key_id=key.key_id_hex
    )


def _pg_dump_encrypted(
    pg_dump: str, settings_dict: dict[str, Any], out: IO[bytes], key: Any, metadata: dict[str, Any]
) -> int:
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(  # noqa: S603 - fixed argument list, no shell
            [pg_dump, "--format=custom", "--no-password"],
            stdout=subprocess.PIPE,
            stderr=errors,
            env=_pg_env(settings_dict),
        )
        assert process.stdout is not None
        try:
            size = encrypt_stream(process.stdout, out, key=key, metadata=metadata)
        finally:
            process.stdout.close()
            returncode = process.wait()
        if returncode != 0:
            errors.seek(0)
            raise BackupError(f"pg_dump failed: {_one_line(errors.read().decode(errors='replace'))}")
    return size


def _sqlite_dump_encrypted(connection: Any, out: IO[bytes], key: Any, metadata: dict[str, Any]) -> int:
    connection.ensure_connection()
    with tempfile.TemporaryDirectory(prefix="finsys-backup-") as workdir:  # mode 0700
        snapshot = Path(workdir) / "snapshot.sqlite3"
        target = sqlite3.connect(snapshot)
        try:
            connection.connection.backup(target)
        finally:
            target.close()
        with snapshot.open("rb") as source:
            return encrypt_stream(source, out, key=key, metadata=metadata)


def backup_verify(*, path: Path) -> RestoreResult:
    """Authenticate a backup file end to end; raises BackupFormatError / BackupKeyError."""
    with _open_backup(path) as stream:
        header, size = verify_stream(stream, _keys())
    return RestoreResult(
        engine=str(header.metadata.get("engine")),
        plaintext_bytes=size,
        created_at=str(header.metadata.get("created_at")),
    )


@contextmanager
def _open_backup(path: Path) -> Iterator[IO[bytes]]:
    try:
        stream = path.open("rb")
    except OSError as exc:
        raise BackupError(f"cannot read {path}: {exc.strerror}") from exc
    with stream:
        yield stream


def _existing_tables(alias: str) -> list[str]:
    connection = connections[alias]
    with connection.cursor() as cursor:
        return sorted(connection.introspection.table_names(cursor))


def backup_restore(*, path: Path, alias: str = DEFAULT_DB_ALIAS) -> RestoreResult:
    """Restore the backup at `path` into the (empty) configured database.

    The whole file is authenticated before anything is written; a target that already holds
    tables is refused. Nothing changes when this raises before the restore step, and the
    PostgreSQL restore itself is one transaction.
    """
    engine = _engine(alias)
    checked = backup_verify(path=path)
    if checked.engine != engine:
        raise BackupError(f"backup holds a {checked.engine} database; the target database is {engine}")
    connection = connections[alias]
    if engine == "sqlite" and _sqlite_target(connection) is None:
        raise BackupError("restore needs a SQLite database file (SQLITE_PATH), not an in-memory database")
    tables = _existing_tables(alias)
    if tables:
        raise BackupError(
            f"target database is not empty ({len(tables)} tables, e.g. {tables[0]}): restore only into a new, empty database"
        )
    keys = _keys()
    with _open_backup(path) as stream:
        header = read_header(stream)
        key = key_for(header, keys)
        chunks = decrypt_chunks(stream, header, key)
        restore = _pg_restore if engine == "postgresql" else _sqlite_restore
        size = restore(chunks, connection)
    connection.close()
    return RestoreResult(engine=engine, plaintext_bytes=size, created_at=checked.created_at)


def _pg_restore(chunks: Iterator[bytes], connection: Any) -> int:
    pg_restore = _pg_tool("pg_restore")
    settings_dict = connection.settings_dict
    connection.close()
    size = 0
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(  # noqa: S603 - fixed argument list, no shell
            [
                pg_restore,
                "--single-transaction",
                "--exit-on-error",
                "--no-owner",
                "--no-privileges",
                "--no-password",
                f"--dbname={settings_dict['NAME']}",
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=errors,
            env=_pg_env(settings_dict),
        )
        assert process.stdin is not None
        try:
            for chunk in chunks:
                process.stdin.write(chunk)
                size += len(chunk)
            process.stdin.close()
        except BackupFormatError:
            process.kill()  # the file changed under us: the single transaction is rolled back
            process.wait()
            raise
        except BrokenPipeError:
            pass  # pg_restore stopped reading: its exit code and message say why
        returncode = process.wait()
        if returncode != 0:
            errors.seek(0)
            raise BackupError(f"pg_restore failed: {_one_line(errors.read().decode(errors='replace'))}")
    return size


def _sqlite_target(connection: Any) -> Path | None:
    name = str(connection.settings_dict.get("NAME") or "")
    if not name or name == ":memory:" or name.startswith("file:") or "mode=memory" in name:
        return None
    return Path(name)


def _sqlite_restore(chunks: Iterator[bytes], connection: Any) -> int:
    target = _sqlite_target(connection)
    assert target is not None
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
    tmp = Path(tmp_name)
    size = 0
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in chunks:
                out.write(chunk)
                size += len(chunk)
            out.flush()
            os.fsync(out.fileno())
        check = sqlite3.connect(tmp)
        try:
            result = check.execute("PRAGMA integrity_check").fetchone()
        except sqlite3.DatabaseError as exc:
            raise BackupError(f"restored file is not a SQLite database: {exc}") from exc
        finally:
            check.close()
        if not result or result[0] != "ok":
            raise BackupError(f"restored SQLite database fails its integrity check: {result}")
        connection.close()
        for suffix in ("-wal", "-shm", "-journal"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return size
