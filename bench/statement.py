"""Statement generation on a large account: time and peak memory for 10,000 and 100,000 postings.

    .venv/bin/python bench/statement.py                      # 10,000 and 100,000 postings
    .venv/bin/python bench/statement.py --sizes 10000,100000,300000

1. Recreates its own database (`finsys_bench_statement` on 127.0.0.1:5432, user postgres; or
   BENCH_STATEMENT_DB / --db-name) and migrates it.
2. Opens one verified customer and one CNY account per size through the services, then adds that
   many deposits with set-based SQL (one journal entry and two postings each, running
   `balance_after` by window sum, the ledger triggers off for the bulk statement as in
   bench/prefill_history.sql), spread over the last 300 days; ANALYZE.
3. For each size and format (pdf, csv, camt053) runs `report_request` + `report_generate` (what
   the worker runs) in a fresh Python process, and reports the wall time, the process's peak
   RSS (getrusage ru_maxrss) and its growth during the generation, the rows and the file size.
   Memory that does not grow with the postings is the point (docs/reports.md, ADR 0010).

Writes bench/results/statement-<UTC timestamp>.json and .md, and statement-latest.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
FORMATS = ("pdf", "csv", "camt053")


def _env(db_url: str, media: str) -> dict[str, str]:
    env = {**os.environ, "DATABASE_URL": db_url, "MEDIA_ROOT": media, "DEBUG": "0"}
    env.pop("REDIS_URL", None)
    return env


def _setup_django() -> None:
    sys.path.insert(0, str(ROOT))
    from finsys.settings import default_module

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", default_module())
    import django

    django.setup()


def seed(sizes: list[int]) -> dict[int, str]:
    """(in a child process) One account per size with that many postings. Returns size -> public id."""
    _setup_django()
    from django.db import connection, transaction

    from apps.accounts.services import account_open
    from apps.common.principals import Actor, Channel
    from apps.customers.identity import china_resident_id_for
    from apps.customers.services import customer_create, customer_decide_kyc

    actor = Actor(label="system:bench", channel=Channel.SYSTEM)
    out: dict[int, str] = {}
    for n, size in enumerate(sizes, start=1):
        birth = dt.date(1970, 1, 1) + dt.timedelta(days=n)
        with transaction.atomic():
            customer = customer_create(
                actor=actor,
                kind="individual",
                full_name=f"Statement Bench {size}",
                country="CN",
                national_id=china_resident_id_for(birth, n),
                date_of_birth=birth,
                email=f"bench{n}@example.com",
            )
            customer = customer_decide_kyc(actor=actor, customer=customer, decision="verified")
            account = account_open(actor=actor, customer=customer, currency="CNY")
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute("SET LOCAL session_replication_role = replica")
            cur.execute(
                "SELECT id FROM accounts_account WHERE is_internal AND gl_code = 'cash_vault' AND currency = 'CNY'"
            )
            row = cur.fetchone()
            if row is None:
                raise SystemExit("no CNY cash vault account: chart_of_accounts_ensure did not run")
            vault = row[0]
            cur.execute("SELECT nextval(pg_get_serial_sequence('transactions_journalentry', 'id'))")
            base = cur.fetchone()[0]
            cur.execute("SELECT setval(pg_get_serial_sequence('transactions_journalentry', 'id'), %s)", [base + size])
            cur.execute(
                """
                CREATE TEMP TABLE bench_statement ON COMMIT DROP AS
                SELECT %(base)s + g AS entry_id,
                       ((1 + (g * 7919) %% 100000) / 100.0)::numeric(20, 4) AS amount,
                       now() - interval '300 days' + (g::float8 / %(size)s) * interval '299 days' AS at
                  FROM generate_series(1, %(size)s) AS g
                """,
                {"base": base, "size": size},
            )
            cur.execute(
                """
                INSERT INTO transactions_journalentry
                       (id, public_id, kind, amount, currency, reference, channel, created_by, reverses_id, created_at)
                SELECT entry_id, gen_random_uuid(), 'deposit', amount, 'CNY', 'bench deposit ' || entry_id,
                       'system', 'system:bench', NULL, at
                  FROM bench_statement ORDER BY entry_id
                """
            )
            cur.execute(
                """
                INSERT INTO transactions_posting (public_id, amount, currency, balance_after, created_at, account_id, entry_id)
                SELECT gen_random_uuid(), leg.amount, 'CNY',
                       acc.balance + sum(leg.amount) OVER (PARTITION BY leg.account_id ORDER BY leg.entry_id),
                       leg.at, leg.account_id, leg.entry_id
                  FROM (SELECT entry_id, %(account)s AS account_id, amount, at FROM bench_statement
                        UNION ALL
                        SELECT entry_id, %(vault)s AS account_id, -amount, at FROM bench_statement) AS leg
                  JOIN accounts_account AS acc ON acc.id = leg.account_id
                 ORDER BY leg.entry_id, leg.account_id
                """,
                {"account": account.pk, "vault": vault},
            )
            cur.execute(
                """
                UPDATE accounts_account AS a
                   SET balance = a.balance + d.delta, available = a.available + d.delta, updated_at = now()
                  FROM (SELECT %(account)s AS account_id, sum(amount) AS delta FROM bench_statement
                        UNION ALL SELECT %(vault)s, -sum(amount) FROM bench_statement) AS d
                 WHERE a.id = d.account_id
                """,
                {"account": account.pk, "vault": vault},
            )
        out[size] = str(account.public_id)
    with connection.cursor() as cur:
        cur.execute("ANALYZE")
    return out


def generate(account_public_id: str, fmt: str) -> dict[str, object]:
    """(in a child process) Generate one statement as the worker does; measure it."""
    import resource
    import time

    _setup_django()
    from django.db import connection
    from django.utils import timezone

    from apps.common.principals import Actor, Channel
    from apps.reports import services
    from apps.reports.models import ReportJob
    from apps.reports.services import report_generate, report_request

    # Generate here, as the worker would, and measure that: do not let an eager Celery (no
    # broker configured) run it inside report_request's commit.
    services.job_enqueue_after_commit = lambda *args, **kwargs: None

    connection.ensure_connection()
    actor = Actor(label="system:bench", channel=Channel.SYSTEM)
    today = timezone.now().date()
    job = report_request(
        actor=actor,
        kind="statement",
        format=fmt,
        account_public_id=account_public_id,
        start_date=today - dt.timedelta(days=365),
        end_date=today,
    )
    before = resource.getrusage(resource.RUSAGE_SELF)
    rss_before = before.ru_maxrss
    started = time.perf_counter()
    status = report_generate(job_id=job.pk)
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF)
    rss_peak = after.ru_maxrss
    # CPU time of this process: on a shared machine wall time also counts others' load.
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    job = ReportJob.objects.get(pk=job.pk)
    return {
        "format": fmt,
        "status": status,
        "rows": job.rows,
        "seconds": round(seconds, 2),
        "cpu_seconds": round(cpu, 2),
        "peak_rss_mib": round(rss_peak / 1024, 1),
        "rss_growth_mib": round((rss_peak - rss_before) / 1024, 1),
        "file_mib": round(job.size / 1024 / 1024, 2),
        "error": job.error,
    }


def child(args: list[str], env: dict[str, str]) -> object:
    result = subprocess.run(
        [sys.executable, __file__, *args], env=env, check=True, capture_output=True, text=True, cwd=ROOT
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--db-name", default=os.environ.get("BENCH_STATEMENT_DB", "finsys_bench_statement"))
    parser.add_argument("--pg", default=os.environ.get("BENCH_PG", "postgres@127.0.0.1:5432"))
    parser.add_argument("--child-seed", help=argparse.SUPPRESS)
    parser.add_argument("--child-generate", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_seed:
        print(json.dumps(seed([int(s) for s in args.child_seed.split(",")])))
        return
    if args.child_generate:
        print(json.dumps(generate(*args.child_generate)))
        return

    sizes = [int(s) for s in args.sizes.split(",")]
    db_url = f"postgres://{args.pg}/{args.db_name}"
    admin_url = f"postgres://{args.pg}/postgres"
    subprocess.run(["psql", admin_url, "-qc", f'DROP DATABASE IF EXISTS "{args.db_name}"'], check=True)
    subprocess.run(["psql", admin_url, "-qc", f'CREATE DATABASE "{args.db_name}"'], check=True)
    with tempfile.TemporaryDirectory(prefix="finsys-bench-statement-") as media:
        env = _env(db_url, media)
        subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], env=env, check=True, cwd=ROOT)
        accounts = child(["--child-seed", ",".join(map(str, sizes))], env)
        assert isinstance(accounts, dict)
        runs = []
        for size in sizes:
            for fmt in FORMATS:
                run = child(["--child-generate", accounts[str(size)], fmt], env)
                assert isinstance(run, dict)
                run["postings"] = size
                runs.append(run)
                print(json.dumps(run), flush=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
    ).stdout.strip()
    lines = [
        f"Statement generation, {stamp}, commit {commit}, `bench/statement.py --sizes {args.sizes}`, "
        f"{os.cpu_count()} CPUs (shared), PostgreSQL on loopback.",
        "",
        "| postings | format | wall s | CPU s (app) | peak RSS MiB | RSS growth MiB | file MiB | status |",
        "|---:|---|---:|---:|---:|---:|---:|---|",
    ]
    lines += [
        f"| {r['postings']:,} | {r['format']} | {r['seconds']} | {r['cpu_seconds']} | {r['peak_rss_mib']} | {r['rss_growth_mib']} "
        f"| {r['file_mib']} | {r['status']} |"
        for r in runs
    ]
    table = "\n".join(lines) + "\n"
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"statement-{stamp}.json").write_text(json.dumps({"commit": commit, "runs": runs}, indent=2) + "\n")
    (RESULTS / f"statement-{stamp}.md").write_text(table)
    (RESULTS / "statement-latest.md").write_text(table)
    print(table)


if __name__ == "__main__":
    main()
