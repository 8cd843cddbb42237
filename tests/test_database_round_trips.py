"""The PostgreSQL backend's round trips (finsys/postgresql/connection.py): BEGIN travels with a
transaction's first statement, statements queued for COMMIT travel with it, and neither changes
what a transaction means: all or nothing, in the order the statements were given."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db import IntegrityError, ProgrammingError

from tests.postgres_connections import admin_connection, last_query_of

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


@pytest.fixture
def notes(own_connection: Any) -> Any:
    """A connection outside the test's transaction (autocommit, as between requests), with a
    temporary table that goes with it."""
    with own_connection.cursor() as cursor:
        cursor.execute("CREATE TEMPORARY TABLE notes (id integer PRIMARY KEY, text text NOT NULL)")
    return own_connection


@contextmanager
def transaction_on(wrapper: Any) -> Iterator[None]:
    """What transaction.atomic does, for a connection that is not connections[alias]."""
    wrapper.set_autocommit(False)
    try:
        yield
    except BaseException:
        wrapper.rollback()
        raise
    else:
        wrapper.commit()
    finally:
        wrapper.set_autocommit(True)


def note_texts(wrapper: Any) -> list[str]:
    with wrapper.cursor() as cursor:
        cursor.execute("SELECT text FROM notes ORDER BY id")
        return [row[0] for row in cursor.fetchall()]


def test_the_first_statement_of_a_transaction_carries_begin_and_answers_with_its_own_result(notes: Any) -> None:
    pid = notes.connection.info.backend_pid
    with admin_connection() as admin, transaction_on(notes):
        with notes.cursor() as cursor:
            cursor.execute("SELECT %s::int + 1", [41])
            assert cursor.fetchone() == (42,)
            assert cursor.rowcount == 1
        assert last_query_of(admin, pid) == "BEGIN;\nSELECT 41::int + 1"
        assert notes.connection.info.transaction_status.name == "INTRANS"
        with notes.cursor() as cursor:
            cursor.execute("UPDATE notes SET text = text")  # inside the transaction now: sent alone
            assert cursor.rowcount == 0
        assert last_query_of(admin, pid) == "UPDATE notes SET text = text"


def insert_two_then_fail(wrapper: Any) -> None:
    with transaction_on(wrapper):
        with wrapper.cursor() as cursor:
            cursor.execute("INSERT INTO notes VALUES (1, 'first')")
            cursor.execute("INSERT INTO notes VALUES (2, 'second')")
        raise ZeroDivisionError  # the transaction fails after both statements


def test_a_transaction_begun_with_its_first_statement_still_rolls_back_whole(notes: Any) -> None:
    with pytest.raises(ZeroDivisionError):
        insert_two_then_fail(notes)
    assert note_texts(notes) == []
    with transaction_on(notes), notes.cursor() as cursor:
        cursor.execute("INSERT INTO notes VALUES (1, 'kept')")
    assert note_texts(notes) == ["kept"]


def test_a_statement_queued_for_commit_travels_with_commit(notes: Any) -> None:
    pid = notes.connection.info.backend_pid
    with admin_connection() as admin:
        with transaction_on(notes):
            with notes.cursor() as cursor:
                cursor.execute("INSERT INTO notes VALUES (1, 'movement')")
            notes.execute_at_commit("INSERT INTO notes VALUES (%s, %s)", [2, "its record"])
            assert admin.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s AND query LIKE %s",
                                 [pid, "%its record%"]).fetchone() == (0,)  # fmt: skip
        assert last_query_of(admin, pid) == "INSERT INTO notes VALUES (2, 'its record');\nCOMMIT"
    assert note_texts(notes) == ["movement", "its record"]
    assert notes.connection.info.transaction_status.name == "IDLE"


def test_a_queued_statement_alone_makes_one_message_with_begin_and_commit(notes: Any) -> None:
    pid = notes.connection.info.backend_pid
    with admin_connection() as admin:
        with transaction_on(notes):
            notes.execute_at_commit("INSERT INTO notes VALUES (%s, %s)", [1, "only this"])
        assert last_query_of(admin, pid) == "BEGIN;\nINSERT INTO notes VALUES (1, 'only this');\nCOMMIT"
    assert note_texts(notes) == ["only this"]


def test_a_queued_statement_that_fails_fails_the_commit_and_the_whole_transaction(notes: Any) -> None:
    with transaction_on(notes), notes.cursor() as cursor:
        cursor.execute("INSERT INTO notes VALUES (1, 'already there')")

    def movement_then_duplicate_record() -> None:
        with transaction_on(notes):
            with notes.cursor() as cursor:
                cursor.execute("INSERT INTO notes VALUES (2, 'movement')")
            notes.execute_at_commit("INSERT INTO notes VALUES (%s, %s)", [1, "duplicate key"])

    with pytest.raises(IntegrityError):
        movement_then_duplicate_record()
    assert note_texts(notes) == ["already there"]
    assert notes.connection.at_commit == []
    with transaction_on(notes), notes.cursor() as cursor:  # the connection goes on
        cursor.execute("INSERT INTO notes VALUES (2, 'next')")
    assert note_texts(notes) == ["already there", "next"]


def test_a_rolled_back_transaction_drops_its_queued_statements(notes: Any) -> None:

    def queue_then_fail() -> None:
        with transaction_on(notes):
            notes.execute_at_commit("INSERT INTO notes VALUES (%s, %s)", [1, "never"])
            raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        queue_then_fail()
    assert notes.connection.at_commit == []
    assert note_texts(notes) == []


def test_a_statement_after_a_queued_one_runs_after_it_and_keeps_its_percent_signs(notes: Any) -> None:
    """Order is kept: a later statement sees the queued one's row. The queued text is already
    bound: its % stays a % when the later statement's own parameters are bound."""
    with transaction_on(notes):
        notes.execute_at_commit("INSERT INTO notes VALUES (%s, %s)", [1, "100% and %s and %%"])
        with notes.cursor() as cursor:
            cursor.execute("SELECT text FROM notes WHERE id = %s", [1])
            assert cursor.fetchone() == ("100% and %s and %%",)
        assert notes.connection.at_commit == []
    assert note_texts(notes) == ["100% and %s and %%"]


def test_queued_statements_run_first_for_executemany_and_savepoints(notes: Any) -> None:
    with transaction_on(notes):
        notes.execute_at_commit("INSERT INTO notes VALUES (%s, %s)", [1, "queued"])
        with notes.cursor() as cursor:
            cursor.executemany("INSERT INTO notes VALUES (%s, %s)", [(2, "many a"), (3, "many b")])
        notes.execute_at_commit("INSERT INTO notes VALUES (%s, %s)", [4, "queued before a savepoint"])
        savepoint = notes.savepoint()
        notes.execute_at_commit("INSERT INTO notes VALUES (%s, %s)", [5, "queued inside the savepoint"])
        notes.savepoint_rollback(savepoint)
    assert note_texts(notes) == ["queued", "many a", "many b", "queued before a savepoint"]


def test_outside_a_transaction_a_queued_statement_runs_at_once(notes: Any) -> None:
    notes.execute_at_commit("INSERT INTO notes VALUES (%s, %s)", [1, "now"])
    assert notes.connection.at_commit == []
    assert note_texts(notes) == ["now"]


def test_queued_statements_survive_a_statement_refused_before_it_was_sent(notes: Any) -> None:
    """Parameters that do not fit are refused by the driver before anything is sent: the queued
    statements ride with the next statement or COMMIT instead of vanishing."""
    with transaction_on(notes):
        notes.execute_at_commit("INSERT INTO notes VALUES (%s, %s)", [1, "queued"])
        with notes.cursor() as cursor, pytest.raises(ProgrammingError):
            cursor.execute("SELECT %s, %s", [1])
        assert len(notes.connection.at_commit) == 1
    assert note_texts(notes) == ["queued"]
