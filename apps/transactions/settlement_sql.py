"""The settlement batch in a few set-based statements: PostgreSQL, payments in their account's
currency.

`services_payments._settle_batch` builds a model object per entry, posting, event and outbox
row; at 1,000 payments that Python work was as long as all the SQL (bench/settlement.py: about
1,400 settled payments/s against the 3,000/s of issue 9). Here the database does the same
writes from one temporary table of the batch's payments:

- lock every account of the batch (customers and clearing), then the holds, then the payments,
  ascending id, each in one statement (the global order of STACK.md pitfall 14);
- refuse a payment without an active hold before any write;
- one settlement entry per settled payment (customer -> clearing) through the ledger's
  set-based posting (`ledger_bulk.entries_post_table`: its refusals, postings with running
  `balance_after`, cached balances), once the holds are captured or released (a closed hold
  gives its amount back to `available` first); then payment statuses, one PaymentEvent and one
  `payment.status_changed` outbox event per payment, with the same values as the row-by-row path.

The ledger's guards fire as for any posting (append-only triggers, the deferred "entry balances"
constraint). Payments in another currency (FX legs through the position accounts) and other
databases keep the row-by-row path.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import connection

from apps.common.principals import Actor
from apps.transactions import ledger_bulk
from apps.transactions.models import EntryKind

TABLE = "payments_settle_batch"
ENTRIES = "payments_settle_entries"


def settle_batch_sql(
    *,
    payment_ids: list[int],
    account_ids: list[int],
    clearing: dict[str, int],
    now: dt.datetime,
    worker: Actor,
    gateway: str,
) -> list[tuple[str, dt.datetime]]:
    """Book the recorded answers of these payments (see the module docstring). The entries are
    `worker`'s, the payment events `gateway`'s. Returns (final status, created at) per payment
    booked, for the metrics."""
    clearing_rows = ", ".join(["(%s::varchar, %s::bigint)"] * len(clearing)) or "(NULL::varchar, NULL::bigint)"
    clearing_params: list[Any] = [value for pair in sorted(clearing.items()) for value in pair]
    clearing_sql = f"(VALUES {clearing_rows}) AS cl(currency, id)"
    ledger_bulk.accounts_lock_table("SELECT unnest(%s::bigint[])", [sorted(set(account_ids) | set(clearing.values()))])
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM (SELECT h.id FROM accounts_hold h JOIN transactions_payment p ON p.hold_id = h.id"
            " WHERE p.id = ANY(%s) ORDER BY h.id FOR UPDATE OF h) AS l",
            [payment_ids],
        )
        cursor.execute(
            "SELECT count(*) FROM (SELECT id FROM transactions_payment WHERE id = ANY(%s) ORDER BY id FOR UPDATE) AS l",
            [payment_ids],
        )
        cursor.execute(f"DROP TABLE IF EXISTS {TABLE}")
        cursor.execute(
            f"CREATE TEMP TABLE {TABLE} ON COMMIT DROP AS"  # noqa: S608 - our own SQL
            " SELECT p.id AS payment_id, p.public_id, p.account_id, p.hold_id, p.amount, p.currency, p.reference,"
            " p.gateway_outcome = 'settled' AS settled, p.gateway_reason, p.created_at,"
            " h.amount AS hold_amount, h.status AS hold_status, cl.id AS clearing_id"
            " FROM transactions_payment p"
            f" LEFT JOIN accounts_hold h ON h.id = p.hold_id LEFT JOIN {clearing_sql} ON cl.currency = p.currency"
            " WHERE p.id = ANY(%s) AND p.status = 'submitted' AND p.gateway_outcome <> ''",
            [*clearing_params, payment_ids],
        )
        _refuse(cursor)
        ledger_bulk.table_create(ENTRIES)
        cursor.execute(
            f"INSERT INTO {ENTRIES} (key, debit_id, credit_id, amount, currency, reference)"  # noqa: S608
            " SELECT payment_id, account_id, clearing_id, amount, currency,"
            " left(CASE WHEN reference = '' THEN 'payment ' || public_id::text ELSE reference END, 140)"
            f" FROM {TABLE} WHERE settled",
        )
        cursor.execute(
            "UPDATE accounts_hold h SET status = CASE WHEN t.settled THEN 'captured' ELSE 'released' END,"  # noqa: S608
            " captured_amount = CASE WHEN t.settled THEN h.amount ELSE 0 END, closed_at = %s, updated_at = %s"
            f" FROM {TABLE} t WHERE h.id = t.hold_id",
            [now, now],
        )
        # A closed hold gives its amount back to `available`, before the settlement entry takes
        # the payment out of `balance` and `available` alike (the overdraft check is per statement).
        cursor.execute(
            "UPDATE accounts_account a SET available = a.available + d.released, updated_at = %s"  # noqa: S608
            f" FROM (SELECT account_id, sum(hold_amount) AS released FROM {TABLE} GROUP BY account_id) AS d"
            " WHERE a.id = d.account_id",
            [now],
        )
        ledger_bulk.entries_post_table(actor=worker, kind=EntryKind.PAYMENT, reference="", table=ENTRIES, booked_at=now)
        cursor.execute(
            "UPDATE transactions_payment p SET status = CASE WHEN t.settled THEN 'settled' ELSE 'rejected' END,"  # noqa: S608
            f" settlement_entry_id = e.entry_id, next_attempt_at = NULL, updated_at = %s FROM {TABLE} t"
            f" LEFT JOIN {ENTRIES} e ON e.key = t.payment_id WHERE p.id = t.payment_id",
            [now],
        )
        cursor.execute(
            "INSERT INTO transactions_paymentevent (payment_id, from_status, to_status, cause, actor, created_at)"  # noqa: S608
            " SELECT payment_id, 'submitted', CASE WHEN settled THEN 'settled' ELSE 'rejected' END,"
            " CASE WHEN settled THEN 'gateway settled' ELSE left('gateway rejected: ' || gateway_reason, 255) END,"
            f" %s, %s FROM {TABLE} ORDER BY payment_id",
            [gateway, now],
        )
        cursor.execute(
            "INSERT INTO integrations_outboxevent"  # noqa: S608 - our own SQL
            " (public_id, kind, payload, customer_id, notify_email, notify_phone, message, created_at, relayed_at)"
            " SELECT gen_random_uuid(), 'payment.status_changed', jsonb_build_object('payment', t.public_id::text,"
            " 'status', CASE WHEN t.settled THEN 'settled' ELSE 'rejected' END,"
            " 'amount', round(t.amount, cx.exponent)::text, 'currency', t.currency, 'reference', t.reference),"
            f" a.customer_id, '', '', '', %s, NULL FROM {TABLE} t JOIN accounts_account a ON a.id = t.account_id"
            f" JOIN {ledger_bulk.exponents_sql()} ON cx.currency = t.currency ORDER BY t.payment_id",
            [now],
        )
        cursor.execute(
            f"SELECT CASE WHEN settled THEN 'settled' ELSE 'rejected' END, created_at FROM {TABLE} ORDER BY payment_id"  # noqa: S608
        )
        return [(str(status), created_at) for status, created_at in cursor.fetchall()]


def _refuse(cursor: Any) -> None:
    """A payment of the batch without its active hold (the row-by-row path refuses it too);
    the ledger's own refusals come with the posting."""
    cursor.execute(f"SELECT payment_id FROM {TABLE} WHERE hold_status IS DISTINCT FROM 'active' LIMIT 1")  # noqa: S608
    row = cursor.fetchone()
    if row is not None:  # pragma: no cover - a payment's hold is closed only by the settlement
        raise AssertionError(f"payment {row[0]} has no active hold")
