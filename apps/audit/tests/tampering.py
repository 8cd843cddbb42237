"""Tampering with the database the way an intruder with SQL access would: raw statements with
the append-only triggers switched off (PostgreSQL: session_replication_role = replica, local to
the test's transaction; SQLite has no such triggers)."""

from __future__ import annotations

from typing import Any

from django.db import connection


def raw(sql: str, params: list[Any] | None = None) -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(sql, params or [])
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = origin")
