"""The settlement batch in a few set-based statements: PostgreSQL, payments in their account's
currency.

`services_payments._settle_batch` builds a model object per entry, posting, event and outbox
row; at 1,000 payments that Python work was as long as all the SQL (bench/settlement.py: about
1,400 settled payments/s against the 3,000/s of issue 9). Here the database does the same
writes from one temporary table of the batch's payments:

- lock every account of the batch (customers and clearing), then the holds, then the payments,
  ascending id, each in one statement (the global order of STACK.md pitfall 14);
- refuse what `entries_post_batch` refuses (an account in another currency, amounts that are not
  whole minor units, a balance beyond MAX_BALANCE) and a payment without an active hold, before
  any write;
- one settlement entry per settled payment (customer -> clearing, the customer's posting first,
  `balance_after` running per account in payment order), holds captured or released, cached
  balances, payment statuses, one PaymentEvent and one `payment.status_changed` outbox event per
  payment, with the same values as the row-by-row path.

The ledger's guards fire as for any posting (append-only triggers, the deferred "entry balances"
constraint). Payments in another currency (FX legs through the position accounts) and other
databases keep the row-by-row path.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import connection
from django.utils.translation import gettext as _

from apps.common.errors import LimitExceeded
from apps.transactions.ledger_bulk import exponents_sql
from apps.transactions.services import MAX_BALANCE, UnbalancedEntry

TABLE = "payments_settle_batch"


def settle_batch_sql(
    *,
    payment_ids: list[int],
    account_ids: list[int],
    clearing: dict[str, int],
    now: dt.datetime,
    actors: tuple[str, str],
) -> list[tuple[str, dt.datetime]]:
    """Book the recorded answers of these payments (see the module docstring). `actors` are the
    labels of the worker (entries) and of the gateway (events). Returns (final status, created
    at) per payment booked, for the metrics."""
    worker, gateway = actors
    clearing_rows = ", ".join(["(%s::varchar, %s::bigint)"] * len(clearing)) or "(NULL::varchar, NULL::bigint)"
    clearing_params: list[Any] = [value for pair in sorted(clearing.items()) for value in pair]
    clearing_sql = f"(VALUES {clearing_rows}) AS cl(currency, id)"
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM (SELECT id FROM accounts_account WHERE id = ANY(%s) ORDER BY id FOR UPDATE) AS l",
            [sorted(set(account_ids) | set(clearing.values()))],
        )
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
            " h.amount AS hold_amount, h.status AS hold_status, cl.id AS clearing_id, NULL::bigint AS entry_id"
            " FROM transactions_payment p"
            f" LEFT JOIN accounts_hold h ON h.id = p.hold_id LEFT JOIN {clearing_sql} ON cl.currency = p.currency"
            " WHERE p.id = ANY(%s) AND p.status = 'submitted' AND p.gateway_outcome <> ''",
            [*clearing_params, payment_ids],
        )
        _refuse(cursor)
        cursor.execute(
            f"WITH rows AS (SELECT payment_id, gen_random_uuid() AS entry_public_id, amount, currency,"  # noqa: S608
            " left(CASE WHEN reference = '' THEN 'payment ' || public_id::text ELSE reference END, 140) AS reference"
            f" FROM {TABLE} WHERE settled),"
            " inserted AS (INSERT INTO transactions_journalentry"
            " (public_id, kind, amount, currency, reference, channel, created_by, reverses_id, created_at)"
            " SELECT entry_public_id, 'payment', amount, currency, reference, 'system', %s, NULL, %s"
            " FROM rows ORDER BY payment_id RETURNING id, public_id)"
            f" UPDATE {TABLE} t SET entry_id = inserted.id FROM rows JOIN inserted ON inserted.public_id ="
            " rows.entry_public_id WHERE t.payment_id = rows.payment_id",
            [worker, now],
        )
        legs = (
            f"SELECT entry_id, 0 AS leg, account_id, -amount AS amount FROM {TABLE} WHERE settled"  # noqa: S608
            f" UNION ALL SELECT entry_id, 1, clearing_id, amount FROM {TABLE} WHERE settled"
        )
        cursor.execute(
            "INSERT INTO transactions_posting"  # noqa: S608 - our own SQL
            " (public_id, entry_id, account_id, amount, currency, balance_after, created_at)"
            " SELECT gen_random_uuid(), l.entry_id, l.account_id, l.amount, a.currency,"
            " a.balance + sum(l.amount) OVER (PARTITION BY l.account_id ORDER BY l.entry_id, l.leg), %s"
            f" FROM ({legs}) AS l JOIN accounts_account a ON a.id = l.account_id ORDER BY l.entry_id, l.leg",
            [now],
        )
        cursor.execute(
            "UPDATE accounts_hold h SET status = CASE WHEN t.settled THEN 'captured' ELSE 'released' END,"  # noqa: S608
            " captured_amount = CASE WHEN t.settled THEN h.amount ELSE 0 END, closed_at = %s, updated_at = %s"
            f" FROM {TABLE} t WHERE h.id = t.hold_id",
            [now, now],
        )
        # A closed hold gives its amount back to `available`; the settlement entry then takes the
        # payment out of `balance` and `available` alike.
        cursor.execute(
            "UPDATE accounts_account a SET balance = a.balance + d.posted,"  # noqa: S608
            " available = a.available + d.posted + d.released, updated_at = %s"
            f" FROM (SELECT account_id, sum(amount) AS posted, sum(released) AS released FROM ("
            f" SELECT account_id, CASE WHEN settled THEN -amount ELSE 0 END AS amount, hold_amount AS released FROM {TABLE}"
            f" UNION ALL SELECT clearing_id, amount, 0 FROM {TABLE} WHERE settled) AS m GROUP BY account_id) AS d"
            " WHERE a.id = d.account_id",
            [now],
        )
        cursor.execute(
            "UPDATE transactions_payment p SET status = CASE WHEN t.settled THEN 'settled' ELSE 'rejected' END,"  # noqa: S608
            f" settlement_entry_id = t.entry_id, next_attempt_at = NULL, updated_at = %s FROM {TABLE} t"
            " WHERE p.id = t.payment_id",
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
            f" JOIN {exponents_sql()} ON cx.currency = t.currency ORDER BY t.payment_id",
            [now],
        )
        cursor.execute(
            f"SELECT CASE WHEN settled THEN 'settled' ELSE 'rejected' END, created_at FROM {TABLE} ORDER BY payment_id"  # noqa: S608
        )
        return [(str(status), created_at) for status, created_at in cursor.fetchall()]


def _refuse(cursor: Any) -> None:
    """What the row-by-row path refuses, over the whole batch, before any write."""
    cursor.execute(f"SELECT payment_id FROM {TABLE} WHERE hold_status IS DISTINCT FROM 'active' LIMIT 1")  # noqa: S608
    row = cursor.fetchone()
    if row is not None:  # pragma: no cover - a payment's hold is closed only by the settlement
        raise AssertionError(f"payment {row[0]} has no active hold")
    cursor.execute(
        f"SELECT t.payment_id, t.amount <> round(t.amount, cx.exponent) FROM {TABLE} t"  # noqa: S608
        " JOIN accounts_account a ON a.id = t.account_id LEFT JOIN accounts_account c ON c.id = t.clearing_id"
        f" LEFT JOIN {exponents_sql()} ON cx.currency = t.currency"
        " WHERE t.settled AND (cx.exponent IS NULL OR t.amount <> round(t.amount, cx.exponent)"
        " OR a.currency <> t.currency OR c.currency IS DISTINCT FROM t.currency) LIMIT 1"
    )
    row = cursor.fetchone()
    if row is not None:
        if row[1]:
            raise UnbalancedEntry("postings carry whole minor units only")
        raise UnbalancedEntry(f"entry does not balance: payment {row[0]}")
    cursor.execute(
        "SELECT a.public_id FROM accounts_account a JOIN (SELECT account_id, sum(amount) AS delta FROM ("  # noqa: S608
        f" SELECT account_id, -amount AS amount FROM {TABLE} WHERE settled"
        f" UNION ALL SELECT clearing_id, amount FROM {TABLE} WHERE settled) AS l GROUP BY account_id) AS d"
        " ON d.account_id = a.id WHERE abs(a.balance + d.delta) > %s LIMIT 1",
        [Decimal(MAX_BALANCE)],
    )
    row = cursor.fetchone()
    if row is not None:
        raise LimitExceeded(
            _("The account would exceed the largest balance the ledger holds."), extra={"account": str(row[0])}
        )
