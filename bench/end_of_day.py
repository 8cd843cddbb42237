"""End-of-day benchmark: close a month-end business date over N accounts (issue 9: 100,000 in
under 60 s).

    .venv/bin/python bench/end_of_day.py --accounts 100000

Drops and recreates its own database (`finsys_eod_bench` on 127.0.0.1:5432, user postgres;
`--db-name`, `BENCH_PGHOST`, ...), migrates it, then seeds set-based: one verified customer
(through the services), N customer accounts (half savings at 2 %, half current with a monthly
fee of 5.00 CNY), and one opening deposit entry per account (vault -> account) ten days before
the close, with SQL (`generate_series`; the row triggers are off for those bulk statements,
hence the superuser), then VACUUM ANALYZE (STACK.md pitfall 13). It then closes the last day of
the previous month - the heaviest close: snapshots, accrual, capitalisation, fees, dormancy,
ledger check - times each step, closes the same date again (must be a no-op) and prints a
Markdown table. Exit status 2 when the close fails or the re-run changes anything, 1 with
`--strict` when the total is 60 s or more.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_SECONDS = 60.0


def _recreate_database(args: argparse.Namespace) -> str:
    import psycopg

    admin = f"host={args.pg_host} port={args.pg_port} user={args.pg_user} dbname=postgres"
    if args.pg_password:
        admin += f" password={args.pg_password}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{args.db_name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{args.db_name}"')
    auth = f"{args.pg_user}:{args.pg_password}@" if args.pg_password else f"{args.pg_user}@"
    return f"postgres://{auth}{args.pg_host}:{args.pg_port}/{args.db_name}"


SEED_SQL = """
SET session_replication_role = replica;
INSERT INTO accounts_account (public_id, number, customer_id, product_id, currency, status, is_internal, gl_code,
    balance, available, overdraft_limit, status_reason, frozen_by_bank, opened_at, created_at, updated_at)
SELECT gen_random_uuid(), '77' || lpad(g::text, 14, '0'), %(customer)s,
    CASE WHEN g %% 2 = 0 THEN %(savings)s ELSE %(current)s END, 'CNY', 'active', false, '',
    0, 0, 0, '', false, %(at)s, %(at)s, %(at)s
FROM generate_series(1, %(n)s) AS g;
CREATE TEMP TABLE bench_new AS
    SELECT id AS account_id, row_number() OVER (ORDER BY id) AS n,
        (1000 + (id %% 9000))::numeric(20, 4) AS amount
    FROM accounts_account WHERE number LIKE '77%%';
INSERT INTO transactions_journalentry (public_id, kind, amount, currency, reference, channel, created_by, created_at)
SELECT gen_random_uuid(), 'deposit', amount, 'CNY', 'bench-' || account_id, 'system', 'system:bench', %(at)s
FROM bench_new ORDER BY n;
CREATE TEMP TABLE bench_entries AS
    SELECT e.id AS entry_id, b.account_id, b.amount, b.n
    FROM transactions_journalentry e JOIN bench_new b ON e.reference = 'bench-' || b.account_id;
INSERT INTO transactions_posting (public_id, entry_id, account_id, amount, currency, balance_after, created_at)
SELECT gen_random_uuid(), entry_id, account_id, amount, 'CNY', amount, %(at)s FROM bench_entries
UNION ALL
SELECT gen_random_uuid(), entry_id, %(vault)s, -amount, 'CNY',
    (SELECT balance FROM accounts_account WHERE id = %(vault)s) - sum(amount) OVER (ORDER BY n), %(at)s
FROM bench_entries;
UPDATE accounts_account a SET balance = b.amount, available = b.amount FROM bench_new b WHERE a.id = b.account_id;
UPDATE accounts_account SET balance = balance - (SELECT sum(amount) FROM bench_new),
    available = available - (SELECT sum(amount) FROM bench_new) WHERE id = %(vault)s;
SET session_replication_role = origin;
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--db-name", default=os.environ.get("BENCH_DB", "finsys_eod_bench"))
    parser.add_argument("--pg-host", default=os.environ.get("BENCH_PGHOST", "127.0.0.1"))
    parser.add_argument("--pg-port", default=os.environ.get("BENCH_PGPORT", "5432"))
    parser.add_argument("--pg-user", default=os.environ.get("BENCH_PGUSER", "postgres"))
    parser.add_argument("--pg-password", default=os.environ.get("BENCH_PGPASSWORD", ""))
    parser.add_argument("--strict", action="store_true", help="exit 1 when the close takes 60 s or more")
    args = parser.parse_args()

    os.environ["DATABASE_URL"] = _recreate_database(args)
    os.environ.pop("REDIS_URL", None)  # Celery eager: the close runs in this process
    sys.path.insert(0, str(ROOT))
    from finsys.settings import default_module

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", default_module())
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)

    from apps.accounts.models import Account, GlCode, Product
    from apps.common.principals import Actor, Channel
    from apps.customers.identity import china_resident_id_for
    from apps.customers.services import customer_create, customer_decide_kyc
    from apps.eod.models import DayState
    from apps.eod.services import business_date_of, business_day_close, day_end
    from apps.transactions.models import JournalEntry

    actor = Actor(label="system:bench", channel=Channel.SYSTEM)
    today = business_date_of(django.utils.timezone.now())
    month_end = today.replace(day=1) - dt.timedelta(days=1)
    seeded_at = day_end(month_end) - dt.timedelta(days=10)

    started = time.perf_counter()
    customer = customer_create(
        actor=actor, kind="individual", full_name="Bench Customer", country="CN",
        national_id=china_resident_id_for(dt.date(1980, 1, 1), 1), date_of_birth=dt.date(1980, 1, 1),
    )  # fmt: skip
    customer_decide_kyc(actor=actor, customer=customer, decision="verified")
    Product.objects.filter(code="SAVINGS-CNY").update(interest_rate=2)
    Product.objects.filter(code="CURRENT-CNY").update(monthly_fee=5)
    params = {
        "customer": customer.pk,
        "savings": Product.objects.get(code="SAVINGS-CNY").pk,
        "current": Product.objects.get(code="CURRENT-CNY").pk,
        "vault": Account.objects.get(is_internal=True, gl_code=GlCode.CASH_VAULT, currency="CNY").pk,
        "at": seeded_at,
        "n": args.accounts,
    }
    with connection.cursor() as cursor:
        for statement in filter(str.strip, SEED_SQL.split(";\n")):
            cursor.execute(statement, params)
    connection.set_autocommit(True)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    seed_seconds = time.perf_counter() - started
    print(f"seeded {args.accounts:,} accounts in {seed_seconds:.1f} s; closing {month_end}", flush=True)

    started = time.perf_counter()
    result = business_day_close(actor=actor, date=month_end)
    total = time.perf_counter() - started
    entries = JournalEntry.objects.count()
    again_started = time.perf_counter()
    again = business_day_close(actor=actor, date=month_end)
    again_seconds = time.perf_counter() - again_started

    print()
    print("| accounts | date | step | outcome |")
    print("|---:|---|---|---|")
    for step, outcome in result.steps.items():
        print(f"| {args.accounts:,} | {month_end} | {step} | {outcome} |")
    print()
    verdict = "met" if total < TARGET_SECONDS else "NOT met"
    print(f"**close: {total:.1f} s** (target < {TARGET_SECONDS:.0f} s: {verdict}); re-run: {again_seconds:.2f} s")
    if result.state != DayState.CLOSED or again.state != DayState.CLOSED or JournalEntry.objects.count() != entries:
        print(f"close failed or the re-run changed the ledger: {result.error or again.error}")
        return 2
    return 1 if args.strict and total >= TARGET_SECONDS else 0


if __name__ == "__main__":
    raise SystemExit(main())
