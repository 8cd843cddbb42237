"""The PostgreSQL backend's health check (finsys/postgresql): no round trip for a connection in
good order, and a connection the server ended is found out before a request uses it."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.db import OperationalError

from tests.postgres_connections import admin_connection, last_query_of

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def test_a_connection_in_good_order_is_usable_without_a_query(own_connection: Any) -> None:
    with own_connection.cursor() as cursor:
        cursor.execute("SELECT 'marker-of-this-test'")
    pid = own_connection.connection.info.backend_pid
    with admin_connection() as admin:
        assert own_connection.is_usable()
        assert last_query_of(admin, pid) == "SELECT 'marker-of-this-test'"  # no SELECT 1 was sent


def test_a_connection_the_server_ended_is_not_usable_and_is_replaced_before_use(own_connection: Any) -> None:
    pid = own_connection.connection.info.backend_pid
    with admin_connection() as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])
        deadline = time.monotonic() + 5
        while last_query_of(admin, pid) and time.monotonic() < deadline:
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
    with admin_connection() as admin:
        assert own_connection.is_usable()
        assert last_query_of(admin, pid) == "SELECT 1"
    own_connection.rollback()
    own_connection.set_autocommit(True)


def test_a_server_side_cursor_closed_on_a_lost_connection_fails_as_a_lost_database(own_connection: Any) -> None:
    """`iterator()` queries read through a named cursor, which Django closes outside its error
    wrapping: a cut connection must still be Django's OperationalError (the API's 503)."""
    own_connection.set_autocommit(False)
    cursor = own_connection.chunked_cursor()
    cursor.execute("SELECT generate_series(1, 10)")
    assert cursor.fetchmany(2) == [(1,), (2,)]
    pid = own_connection.connection.info.backend_pid
    with admin_connection() as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])
        deadline = time.monotonic() + 5
        while last_query_of(admin, pid) and time.monotonic() < deadline:
            time.sleep(0.05)
    with pytest.raises(OperationalError):
        cursor.close()
