"""Django's PostgreSQL backend, with fewer round trips: a connection health check that needs
none, BEGIN sent with a transaction's first statement and statements queued for COMMIT
(finsys/postgresql/connection.py).

With persistent connections (`CONN_MAX_AGE`) and `CONN_HEALTH_CHECKS`, Django checks a reused
connection at the start of every request with `SELECT 1`: a round trip on every API call, one
in six of a transfer's (bench/README.md). A connection the server ended (a restart, an
administrator's `pg_terminate_backend`, an idle timeout) has something waiting on its socket: the
server's FATAL message and the end of the stream. So: nothing to read on an idle connection in a
good state means it is usable; anything to read (or a bad state) and the check falls back to
Django's `SELECT 1`. A peer that vanished without a word is caught by neither check: the request
fails (503 service_unavailable) and Django drops the connection at its end.
"""

from __future__ import annotations

import select
from collections.abc import Sequence
from typing import Any

import psycopg
from django.db.backends import utils
from django.db.backends.postgresql import base
from psycopg import pq

from finsys.postgresql.connection import Connection, Cursor, RowCallback


class _Driver:
    """psycopg as Django's backend uses it, connecting with our Connection class."""

    def __getattr__(self, name: str) -> Any:
        return getattr(psycopg, name)

    @staticmethod
    def connect(*args: Any, **kwargs: Any) -> Connection:
        return Connection.connect(*args, **kwargs)


class _CloseWrapsErrors:
    """Django closes a cursor outside its error wrapping: a server-side (named) cursor of an
    `iterator()` query whose connection was cut raised psycopg's own OperationalError, a 500
    instead of the API's 503 for a lost database (finsys/urls.py handler500)."""

    cursor: Any
    db: Any

    def close(self) -> None:
        with self.db.wrap_database_errors:
            self.cursor.close()


class CursorWrapper(_CloseWrapsErrors, utils.CursorWrapper):
    pass


class CursorDebugWrapper(_CloseWrapsErrors, base.CursorDebugWrapper):
    pass


class DatabaseWrapper(base.DatabaseWrapper):
    Database = _Driver()  # type: ignore[assignment]

    def make_cursor(self, cursor: Any) -> CursorWrapper:
        return CursorWrapper(cursor, self)

    def make_debug_cursor(self, cursor: Any) -> CursorDebugWrapper:
        return CursorDebugWrapper(cursor, self)

    def get_connection_params(self) -> dict[str, Any]:
        params = super().get_connection_params()
        if params.get("cursor_factory") is base.Cursor:  # client-side binding, Django's default
            params["cursor_factory"] = Cursor
        return params

    def execute_at_commit(self, sql: str, params: Sequence[Any], on_row: RowCallback | None = None) -> None:
        """Run a statement as part of the current transaction, sent with its COMMIT (or in front
        of the next statement): one round trip less. `on_row` gets its first row (None: no row)
        once it ran. Its error is the commit's. Outside a transaction it runs at once."""
        if self.get_autocommit():
            with self.cursor() as cursor:
                cursor.execute(sql, params)
                if on_row is not None:
                    on_row(cursor.fetchone() if cursor.description else None)
            return
        self.ensure_connection()
        with self.connection.cursor() as cursor:
            statement = cursor.mogrify(sql, params)
        self.connection.execute_at_commit(statement.encode(self.connection.info.encoding), on_row)

    def is_usable(self) -> bool:
        conn = self.connection
        if conn is None or conn.closed or conn.broken:
            return False
        pgconn = conn.pgconn
        idle = pgconn.transaction_status == pq.TransactionStatus.IDLE
        if pgconn.status == pq.ConnStatus.OK and idle:
            waiting = select.poll()  # poll, not select: no FD_SETSIZE limit on the descriptor
            waiting.register(pgconn.socket, select.POLLIN | select.POLLERR | select.POLLHUP)
            if not waiting.poll(0):
                return True
        return bool(super().is_usable())
