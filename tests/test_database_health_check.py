"""The PostgreSQL backend's health check (finsys/postgresql): no round trip for a connection in
good order, and a connection the server ended is found out before a request uses it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from django.db import connections

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


@pytest.fixture
def own_connection() -> Iterator[Any]:
    """A second connection to the test database, outside the test's transaction (autocommit),
    as a web worker holds one between requests."""
    wrapper = connections.create_connection("default")
    wrapper.ensure_connection()
    yield wrapper
    wrapper.close()


def _admin() -> psycopg.Connection[Any]:
    settings = connections["default"].settings_dict
    return psycopg.connect(
        host=settings["HOST"] or "127.0.0.1",
        port=settings["PORT"] or 5432,
        user=settings["USER"],
        password=settings["PASSWORD"] or None,
        dbname=settings["NAME"],
        autocommit=True,
    )


def _last_query_of(admin: psycopg.Connection[Any], pid: int) -> str:
    row = admin.execute("SELECT query FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone()
    return str(row[0]) if row else ""


def test_a_connection_in_good_order_is_usable_without_a_query(own_connection: Any) -> None:
    with own_connection.cursor() as cursor:
        cursor.execute("SELECT 'marker-of-this-test'")
    pid = own_connection.connection.info.backend_pid
    with _admin() as admin:
        assert own_connection.is_usable()
        assert _last_query_of(admin, pid) == "SELECT 'marker-of-this-test'"  # no SELECT 1 was sent


def test_a_connection_the_server_ended_is_not_usable_and_is_replaced_before_use(own_connection: Any) -> None:
    pid = own_connection.connection.info.backend_pid
    with _admin() as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])
        deadline = time.monotonic() + 5
        while _last_query_of(admin, pid) and time.monotonic() < deadline:
            time.sleep(0.05)  # until the backend is gone
    assert not own_connection.is_usable()
    # What Django does at the start of a request with CONN_HEALTH_CHECKS: drop it, reconnect.
    own_connection.health_check_done = False
    own_connection.close_if_health_check_failed()
    with own_connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone()[0] != pid


def test_a_connection_inside_a_transaction_is_asked_with_a_query(own_connection: Any) -> None:
    """Mid-transaction the socket says nothing about the transaction's state: Django's own check."""
    own_connection.set_autocommit(False)
    with own_connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    pid = own_connection.connection.info.backend_pid
    with _admin() as admin:
        assert own_connection.is_usable()
        assert _last_query_of(admin, pid) == "SELECT 1"
    own_connection.rollback()
    own_connection.set_autocommit(True)
