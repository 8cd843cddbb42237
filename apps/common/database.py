"""Statements that may travel with the transaction's COMMIT (ADR 0016)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.db import connection


def execute_at_commit(
    sql: str, params: Sequence[Any], on_row: Callable[[Sequence[Any] | None], None] | None = None
) -> None:
    """Run a statement as part of the current transaction. On our PostgreSQL engine it is sent
    with the next statement or with COMMIT, one round trip less (finsys/postgresql), and its
    error is the commit's; elsewhere (SQLite) it runs at once. `on_row` gets its first row."""
    queue = getattr(connection, "execute_at_commit", None)
    if queue is not None:
        queue(sql, params, on_row)
        return
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        if on_row is not None:
            on_row(cursor.fetchone() if cursor.description else None)
