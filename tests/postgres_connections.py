"""An administrator's connection to the test database, for tests of the PostgreSQL backend
(finsys/postgresql) that watch what another connection sent (the fixture `own_connection`)."""

from __future__ import annotations

from typing import Any

import psycopg
from django.db import connections


def admin_connection() -> psycopg.Connection[Any]:
    settings = connections["default"].settings_dict
    return psycopg.connect(
        host=settings["HOST"] or "127.0.0.1",
        port=settings["PORT"] or 5432,
        user=settings["USER"],
        password=settings["PASSWORD"] or None,
        dbname=settings["NAME"],
        autocommit=True,
    )


def last_query_of(admin: psycopg.Connection[Any], pid: int) -> str:
    row = admin.execute("SELECT query FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone()
    return str(row[0]) if row else ""
