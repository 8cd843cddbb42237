"""psycopg's connection and cursor, sending fewer round trips per transaction.

A transfer was BEGIN, lock, write, idempotency record, COMMIT: five round trips, two of which
carry nothing but a transaction boundary. Here:

- **BEGIN travels with the transaction's first statement.** psycopg sends BEGIN alone before the
  first statement of a transaction; `Cursor.execute` sends `BEGIN; <statement>` in one message
  instead (the simple query protocol takes several statements; client-side binding, as Django's
  default cursor does) and moves past BEGIN's result, so the caller sees its statement's.
- **Statements queued with `Connection.execute_at_commit` travel with COMMIT** (or, when
  something else runs first, in front of that statement, so the order of statements is kept).
  For statements that must be part of the transaction but whose result the caller can wait for:
  the idempotency record written last (apps.common.idempotency), the ledger write of a transfer
  whose answer is already composed (apps.transactions.services). A statement's first row, when
  asked for, is handed to a callback once it ran. Its error is the commit's error (or the later
  statement's): on failure the server skips the rest of the message, COMMIT included, and the
  transaction rolls back as any failed commit does.

Every other way a statement can start (executemany, COPY, server-side cursors, pipelines) keeps
psycopg's own behaviour: BEGIN sent alone, and any queued statements sent first, on their own.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import psycopg
from django.db.backends.postgresql.base import Cursor as DjangoCursor
from psycopg import adapt, pq
from psycopg.abc import PQGen, QueryNoTemplate

_SEPARATOR = b";\n"
# A statement that failed in the server leaves the transaction INERROR (or the connection gone):
# still IDLE or INTRANS after an error, the message was never sent.
_NOT_SENT = (pq.TransactionStatus.IDLE, pq.TransactionStatus.INTRANS)

RowCallback = Callable[[Sequence[Any] | None], None]


@dataclass(frozen=True)
class Queued:
    statement: bytes  # parameters already bound
    on_row: RowCallback | None = None  # given the statement's first row (None: no row)


class Connection(psycopg.Connection[Any]):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.at_commit: list[Queued] = []
        self._begin_sent_by_cursor = False

    def execute_at_commit(self, statement: bytes, on_row: RowCallback | None = None) -> None:
        """Queue one statement (no parameters left to bind) to be sent with COMMIT."""
        self.at_commit.append(Queued(statement, on_row))

    def take_at_commit(self) -> list[Queued]:
        queued, self.at_commit = self.at_commit, []
        return queued

    def begin_needed(self) -> bool:
        """The next statement starts a transaction (psycopg would send BEGIN alone first)."""
        return (
            not self.autocommit and not self._pipeline and self.pgconn.transaction_status == pq.TransactionStatus.IDLE
        )

    def begin_statement(self) -> bytes:
        return self._get_tx_start_command()  # BEGIN with the connection's isolation level, if any

    def _start_query(self) -> PQGen[None]:
        """psycopg's hook before every statement: BEGIN, unless the cursor sends it itself; then
        any queued statements, on their own, for the ways of executing that do not take them."""
        if not self._begin_sent_by_cursor:
            yield from super()._start_query()
            for queued in self.take_at_commit():
                result = yield from self._exec_command(queued.statement)
                if queued.on_row is not None and result is not None:
                    rows = adapt.Transformer(self)
                    rows.set_pgresult(result)
                    queued.on_row(rows.load_row(0, tuple) if result.ntuples else None)

    def commit(self) -> None:
        queued = self.take_at_commit()
        if queued and not self.closed:
            try:
                with self.cursor() as cursor:  # BEGIN too, when nothing else ran: one message in all
                    assert isinstance(cursor, Cursor)  # the connection's cursor_factory (base.py)
                    cursor.execute(_SEPARATOR.join([*(q.statement for q in queued), b"COMMIT"]))
                    cursor.hand_rows(queued)
            except psycopg.Error:
                # a queued statement failed and the server skipped COMMIT: end the transaction,
                # as a failed COMMIT does
                if not self.closed and self.pgconn.transaction_status == pq.TransactionStatus.INERROR:
                    super().rollback()
                raise
        super().commit()  # the transaction is over when the server has committed: nothing to send

    def rollback(self) -> None:
        self.at_commit.clear()
        super().rollback()


if TYPE_CHECKING:  # django-stubs does not describe Django's psycopg 3 cursor
    _ClientCursor = psycopg.ClientCursor[Any]
else:
    _ClientCursor = DjangoCursor


class Cursor(_ClientCursor):
    """Django's client-side-binding cursor, sending BEGIN and queued statements in front of a
    statement, in the same message, and answering with that statement's result."""

    def execute(self, query: QueryNoTemplate, params: Any = None, **kwargs: Any) -> Any:  # type: ignore[override]
        conn = self.connection
        if not isinstance(conn, Connection) or not isinstance(query, str | bytes) or kwargs:
            return super().execute(query, params, **kwargs)
        begin = [conn.begin_statement()] if conn.begin_needed() else []
        queued = conn.take_at_commit()
        if not begin and not queued:
            return super().execute(query, params)
        joined = _SEPARATOR.join([*begin, *(q.statement for q in queued)]) + _SEPARATOR
        if params is not None:  # the statement's placeholders get bound: keep the prefix's % literal
            joined = joined.replace(b"%", b"%%")
        statement = query if isinstance(query, bytes) else query.encode(conn.info.encoding)
        conn._begin_sent_by_cursor = True
        try:
            super().execute(joined + statement, params)
        except BaseException:
            if conn.pgconn.transaction_status in _NOT_SENT:
                # refused before it left (e.g. parameters that do not fit the statement): the
                # queued statements were not run and must not be lost if the caller goes on
                conn.at_commit[:0] = queued
            raise
        finally:
            conn._begin_sent_by_cursor = False
        if begin:
            self.nextset()  # past BEGIN's result
        if queued:
            self.hand_rows(queued)
            self.nextset()  # to the caller's statement's result
        return self

    def hand_rows(self, queued: list[Queued]) -> None:
        """From the first queued statement's result on: each one's first row to its callback;
        stops on the last one's result."""
        for number, item in enumerate(queued):
            if item.on_row is not None:
                item.on_row(self.fetchone() if self.pgresult is not None and self.pgresult.ntuples else None)
            if number < len(queued) - 1:
                self.nextset()
