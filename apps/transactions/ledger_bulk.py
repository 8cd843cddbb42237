"""Set-based posting for the bank's own high-volume entries (end-of-day interest and fees,
settlement batches): PostgreSQL only.

The caller fills a temporary table with one row per entry, each a movement of `amount` from
`debit_id` to `credit_id` (two postings: the debit account's first), keyed by its own `key`,
with its own `reference` or, when that is NULL, the one given for all;
`entries_post_table` then checks every row, writes the journal entries, their postings (with
running `balance_after` per account) and the cached balances in a handful of statements, and
writes each row's new entry id back into the table. The caller must already hold the row locks
of every account concerned (`accounts_lock_table`, one global id order) and has checked the
emergency controls (as for `entries_post_batch`: a close checks read-only mode before it
starts, a settlement batch books what the gateway already did). The ledger's own
guards still apply: the append-only triggers and the deferred "entry balances" constraint fire
for these rows as for any other, and the audit chain seals the new entries like any entry (the
sealer chains rows by id, whoever inserted them).

Python builds no model object per entry: at 100,000 entries that was most of the close's time.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import connection
from django.utils.translation import gettext as _

from apps.common.errors import LimitExceeded
from apps.common.money import CURRENCY_EXPONENTS
from apps.common.principals import Actor
from apps.transactions.services import MAX_BALANCE, UnbalancedEntry

TABLE_COLUMNS = "key bigint PRIMARY KEY, debit_id bigint NOT NULL, credit_id bigint NOT NULL, amount numeric NOT NULL, currency varchar(3) NOT NULL, reference varchar(140), entry_id bigint"


def exponents_sql() -> str:
    """`(VALUES ('CNY', 2), ...) AS cx(currency, exponent)`: the minor units, for joins."""
    rows = ", ".join(f"('{code}', {exponent})" for code, exponent in sorted(CURRENCY_EXPONENTS.items()))
    return f"(VALUES {rows}) AS cx(currency, exponent)"


def half_even_sql(value: str, exponent: str) -> str:
    """SQL rounding `value` half-even to `exponent` decimal places (PostgreSQL's round() rounds
    half away from zero), exactly: NUMERIC arithmetic only."""
    scaled = f"(({value}) * power(10::numeric, {exponent}))"
    whole = f"trunc({scaled})"
    return (
        f"(({whole} + CASE WHEN abs({scaled} - {whole}) > 0.5 THEN sign({scaled})"
        f" WHEN abs({scaled} - {whole}) = 0.5 THEN sign({scaled}) * mod(abs({whole}), 2)"
        f" ELSE 0 END) / power(10::numeric, {exponent}))"
    )


def table_create(name: str) -> None:
    """A fresh temporary table `name` for `entries_post_table`, dropped at commit."""
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {name}")
        cursor.execute(f"CREATE TEMP TABLE {name} ({TABLE_COLUMNS}) ON COMMIT DROP")


def accounts_lock_table(ids_sql: str, params: list[Any] | None = None) -> int:
    """Lock FOR UPDATE every account whose id `ids_sql` selects, in ascending id order (the one
    global order every batch locks in, STACK.md pitfall 14), in one statement; how many."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM (SELECT id FROM accounts_account"  # noqa: S608 - our own SQL
            f" WHERE id IN ({ids_sql}) ORDER BY id FOR UPDATE) AS locked",
            params or [],
        )
        return int(cursor.fetchone()[0])


def _refuse(cursor: Any, table: str) -> None:
    """The checks `_post` makes per entry, over the whole table, before any write."""
    cursor.execute(
        f"SELECT t.key FROM {table} t JOIN {exponents_sql()} ON cx.currency = t.currency"  # noqa: S608
        " JOIN accounts_account d ON d.id = t.debit_id JOIN accounts_account c ON c.id = t.credit_id"
        " WHERE t.amount <= 0 OR t.amount <> round(t.amount, cx.exponent) OR t.debit_id = t.credit_id"
        " OR d.currency <> t.currency OR c.currency <> t.currency LIMIT 1"
    )
    bad = cursor.fetchone()
    cursor.execute(
        f"SELECT count(*) FROM {table} t LEFT JOIN {exponents_sql()} ON cx.currency = t.currency"  # noqa: S608
        " WHERE cx.exponent IS NULL"
    )
    if bad is not None or cursor.fetchone()[0]:
        raise UnbalancedEntry(f"entry {bad[0] if bad else '?'}: not a positive whole-minor-unit same-currency movement")
    cursor.execute(
        f"SELECT a.public_id FROM accounts_account a JOIN (SELECT account_id, sum(amount) AS delta FROM ("  # noqa: S608
        f" SELECT debit_id AS account_id, -amount AS amount FROM {table}"
        f" UNION ALL SELECT credit_id, amount FROM {table}) AS legs GROUP BY account_id) AS d ON d.account_id = a.id"
        " WHERE abs(a.balance + d.delta) > %s LIMIT 1",
        [MAX_BALANCE],
    )
    row = cursor.fetchone()
    if row is not None:
        raise LimitExceeded(
            _("The account would exceed the largest balance the ledger holds."), extra={"account": str(row[0])}
        )


def entries_post_table(*, actor: Actor, kind: str, reference: str, table: str, booked_at: dt.datetime) -> int:
    """Post one balanced entry per row of `table` (see the module docstring); returns how many.

    Entries get ids in `key` order; postings are written entry by entry, debit leg first, and
    each account's `balance_after` runs in that order from its locked balance."""
    with connection.cursor() as cursor:
        _refuse(cursor, table)
        cursor.execute(
            f"WITH rows AS (SELECT key, gen_random_uuid() AS public_id, amount, currency, reference FROM {table} ORDER BY key),"  # noqa: S608
            " inserted AS (INSERT INTO transactions_journalentry"
            " (public_id, kind, amount, currency, reference, channel, created_by, created_at)"
            " SELECT public_id, %s, amount, currency, coalesce(reference, %s), %s, %s, %s FROM rows ORDER BY key"
            " RETURNING id, public_id)"
            f" UPDATE {table} t SET entry_id = inserted.id FROM rows JOIN inserted USING (public_id)"
            " WHERE t.key = rows.key",
            [kind, reference[:140], actor.channel, actor.label, booked_at],
        )
        entries = cursor.rowcount
        legs = (
            f"SELECT t.entry_id, 0 AS leg, t.debit_id AS account_id, -t.amount AS amount, t.currency FROM {table} t"  # noqa: S608
            f" UNION ALL SELECT t.entry_id, 1, t.credit_id, t.amount, t.currency FROM {table} t"
        )
        cursor.execute(
            "INSERT INTO transactions_posting"  # noqa: S608 - our own SQL
            " (public_id, entry_id, account_id, amount, currency, balance_after, created_at)"
            " SELECT gen_random_uuid(), l.entry_id, l.account_id, l.amount, l.currency,"
            " a.balance + sum(l.amount) OVER (PARTITION BY l.account_id ORDER BY l.entry_id, l.leg), %s"
            f" FROM ({legs}) AS l JOIN accounts_account a ON a.id = l.account_id ORDER BY l.entry_id, l.leg",
            [booked_at],
        )
        cursor.execute(
            "UPDATE accounts_account a SET balance = a.balance + d.delta, available = a.available + d.delta,"  # noqa: S608
            " updated_at = %s FROM (SELECT account_id, sum(amount) AS delta FROM"
            f" ({legs}) AS l GROUP BY account_id) AS d WHERE a.id = d.account_id",
            [booked_at],
        )
    return entries
