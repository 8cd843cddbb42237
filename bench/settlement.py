"""Settlement posting in batches: payments settled per second by `payments_settle`.

    make bench-settlement                                     # 20,000 payments; batches of 1000, 500, 100
    .venv/bin/python bench/settlement.py --payments 5000 --batch-sizes 1000     # quick (~2 min)

Issue 9: "settlement posting in batches >= 3,000 transfers/s (a set-based batch of 1,000
transfers per database transaction reached about 6,400/s here)".

1. Recreates its own database (finsys_benchscale_settlement on 127.0.0.1:5432), migrates, seeds
   --accounts funded CNY accounts through the services and --prefill-entries of history with
   set-based SQL (bench/transfers.py's prepare_database), VACUUM ANALYZE.
2. Seeds --service-payments (1,000) of the --payments (20,000) through the services, in
   --seed-workers processes over disjoint accounts: `payment_create` (screened, funds held),
   then `payment_submit` against the built-in
   simulated gateway (no latency, no rejections, no callback), which records its SETTLED answer
   with `payment_record_answer`. That service books a final answer at once (it calls
   `payments_settle` for the one payment); the seeding process replaces that call with a no-op,
   so the answers stay recorded and unbooked: the backlog the sweep task settles in batches
   (the state after a broker outage, or with callbacks arriving faster than single bookings).
   No job is enqueued (the worker's part is what is measured). A payment through the services
   costs ~50-90 ms here (36 + 22 statements, risk rules, audit), so 20,000 would take 10-20
   minutes: the rest are set-based copies of the service-made ones (`clone_payments`: same
   account, amount and state, a new public id, a new active hold, copies of the events).
   check_ledger must pass on the seeded database; then VACUUM ANALYZE.
3. For each --batch-sizes value, on a copy of that database (CREATE DATABASE ... TEMPLATE, so
   every batch size settles the same payments): a fresh Python process with Django runs
   `payments_settle(batch_size=B)` — what the sweep task calls — timing the whole call and each
   batch. Then verifies: `manage.py check_ledger` passes, every payment SETTLED with its own
   settlement entry (kind payment, its amount) and one `settled` event, no active hold left.
4. bench/results/settlement-<UTC>.json and .md, and settlement-latest.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from transfers import (
    ROOT,
    VENV_BIN,
    Pg,
    add_database_arguments,
    django_env,
    ledger_size,
    log,
    machine_info,
    manage,
    prepare_database,
    save_results,
)

TARGET_PER_S = 3000.0  # settled payments per second at batch_size=1000


def _setup_django() -> None:
    sys.path.insert(0, str(ROOT))
    from finsys.settings import default_module

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", default_module())
    import django

    django.setup()


# --- child processes (Django on the bench database) -------------------------------------------


def seed_payments(accounts_file: str, count: int, rng_seed: int) -> dict[str, Any]:
    """(in a child process) `count` payments from these accounts, held, submitted and answered
    SETTLED by the simulated gateway, the answer recorded but not booked (module docstring)."""
    _setup_django()
    from decimal import Decimal

    from apps.common.money import Money
    from apps.common.principals import Actor, Channel
    from apps.transactions import services_payments
    from apps.transactions.services_payments import Beneficiary, payment_create, payment_submit

    # The worker's job is what is measured: no Celery job at commit (eager without a broker),
    # and the recorded answer is left for the batch instead of being booked one by one.
    services_payments.job_enqueue_after_commit = lambda *args, **kwargs: None  # type: ignore[assignment]
    services_payments.payments_settle = lambda **kwargs: 0  # type: ignore[assignment]

    public_ids = [uuid.UUID(pid) for pid in json.loads(Path(accounts_file).read_text())]
    rng = random.Random(rng_seed)
    actor = Actor(label="client:bench-settlement", channel=Channel.API)
    started = time.monotonic()
    statuses: dict[str, int] = {}
    for n in range(count):
        payment = payment_create(
            actor=actor,
            from_account=public_ids[n % len(public_ids)],
            money=Money(Decimal(rng.randint(100, 10000)) / 100, "CNY"),
            beneficiary=Beneficiary(
                name=f"Bench Beneficiary {n % 500}",
                account_number=f"62{rng.randrange(10**14):014d}",
                bank_code="ICBKCNBJ",
                country="CN",
            ),
            reference=f"bench settlement {rng_seed}-{n}",
        )
        result = payment_submit(payment_id=payment.pk)
        statuses[result.status] = statuses.get(result.status, 0) + 1
    return {"payments": count, "statuses": statuses, "seconds": round(time.monotonic() - started, 1)}


def settle(batch_size: int) -> dict[str, Any]:
    """(in a child process) `payments_settle(batch_size=...)` as the sweep task runs it, timed
    as a whole and per batch (the module's batch function, wrapped)."""
    _setup_django()
    from django.db import connection

    from apps.transactions import services_payments

    batch = services_payments._settle_batch
    batch_ms: list[float] = []

    def timed_batch(rows: Any) -> int:
        t0 = time.perf_counter()
        done = batch(rows)
        batch_ms.append((time.perf_counter() - t0) * 1000)
        return done

    services_payments._settle_batch = timed_batch  # type: ignore[assignment]
    connection.ensure_connection()
    before = os.times()
    t0 = time.perf_counter()
    settled = services_payments.payments_settle(batch_size=batch_size)
    seconds = time.perf_counter() - t0
    after = os.times()
    ordered = sorted(batch_ms)
    return {
        "batch_size": batch_size,
        "settled": settled,
        "seconds": round(seconds, 3),
        "per_s": round(settled / seconds, 1) if seconds else None,
        "batches": len(batch_ms),
        "batch_ms_p50": round(statistics.median(ordered), 1) if ordered else None,
        "batch_ms_max": round(ordered[-1], 1) if ordered else None,
        "app_cpu_s": round((after.user - before.user) + (after.system - before.system), 2),
    }


def child(pg: Pg, *args: str, extra_env: dict[str, str] | None = None) -> dict[str, Any]:
    env = django_env(pg)
    env.update(extra_env or {})
    out = subprocess.run([str(VENV_BIN / "python"), __file__, *args], cwd=ROOT, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"{args[0]} failed (exit {out.returncode}):\n{out.stderr[-3000:]}")
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


# --- the orchestrating process ------------------------------------------------------------------

# The simulated gateway answers at once with SETTLED and calls nobody back.
GATEWAY_ENV = {
    "FINSYS_GATEWAY_SIM_LATENCY_MS": "0",
    "FINSYS_GATEWAY_SIM_REJECT_RATE": "0",
    "FINSYS_GATEWAY_SIM_TIMEOUT_RATE": "0",
    "FINSYS_GATEWAY_SIM_CALLBACK_URL": "",
}


def seed_all(pg: Pg, args: argparse.Namespace, payments: int, public_ids: list[str], workdir: Path) -> dict[str, Any]:
    """Payments in --seed-workers processes at once, each over its own share of the accounts
    (so they never wait for one another's account locks)."""
    workers = max(1, min(args.seed_workers, len(public_ids)))
    procs = []
    t0 = time.monotonic()
    for w in range(workers):
        share = public_ids[w::workers]
        path = workdir / f"accounts-{w}.json"
        path.write_text(json.dumps(share))
        count = payments // workers + (1 if w < payments % workers else 0)
        env = django_env(pg)
        env.update(GATEWAY_ENV)
        procs.append(
            subprocess.Popen(
                [str(VENV_BIN / "python"), __file__, "--child-seed", str(path), str(count), str(w + 1)],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    statuses: dict[str, int] = {}
    for proc in procs:
        out, err = proc.communicate()
        if proc.returncode != 0:
            raise SystemExit(f"seeding payments failed (exit {proc.returncode}):\n{err[-3000:]}")
        for status, n in json.loads(out.strip().splitlines()[-1])["statuses"].items():
            statuses[status] = statuses.get(status, 0) + n
    return {"payments": payments, "workers": workers, "statuses": statuses, "seconds": round(time.monotonic() - t0, 1)}


def clone_payments(pg: Pg, count: int) -> dict[str, Any]:
    """Copy the service-made backlog set-based until it holds `count` more payments: each copy
    is one of the service-made payments (round robin) with a new public id and a new active hold
    of the same amount on the same account (`available` drops by it), and copies of its events.
    Every column is copied except the ids and references that must be unique; the settlement
    cannot tell a copy from its original. check_ledger (available = balance - active holds)
    runs right after."""
    templates = int(
        pg.psql("SELECT count(*) FROM transactions_payment WHERE status = 'submitted' AND gateway_outcome = 'settled'")
    )
    if count <= 0 or templates == 0:
        return {"cloned": 0, "seconds": 0.0}

    def columns(table: str) -> list[str]:
        return pg.psql(
            "SELECT string_agg(column_name, ',' ORDER BY ordinal_position) FROM information_schema.columns "
            f"WHERE table_schema = 'public' AND table_name = '{table}' AND column_name <> 'id'"
        ).split(",")

    def select(table_columns: list[str], alias: str, overrides: dict[str, str]) -> str:
        return ", ".join(overrides.get(c, f"{alias}.{c}") for c in table_columns)

    holds, payments, events = (
        columns("accounts_hold"),
        columns("transactions_payment"),
        columns("transactions_paymentevent"),
    )
    hold_select = select(
        holds,
        "h",
        {"public_id": "c.hold_public", "reference": "'payment ' || c.payment_public", "created_at": "now()",
         "updated_at": "now()"},
    )  # fmt: skip
    payment_select = select(
        payments,
        "p",
        {"public_id": "c.payment_public", "hold_id": "nh.id", "reference": "left(p.reference || ' copy ' || c.g, 140)",
         "gateway_reference": "'SIMCOPY' || c.g", "created_at": "now()", "updated_at": "now()"},
    )  # fmt: skip
    event_select = select(events, "e", {"payment_id": "np.id"})
    sql = f"""
BEGIN;
CREATE TEMP TABLE bench_clone ON COMMIT DROP AS
SELECT g, t.id AS template_id, t.hold_id AS template_hold_id,
       gen_random_uuid() AS hold_public, gen_random_uuid() AS payment_public
  FROM generate_series(1, {count}) AS g
  JOIN (SELECT id, hold_id, row_number() OVER (ORDER BY id) - 1 AS k FROM transactions_payment
         WHERE status = 'submitted' AND gateway_outcome = 'settled') AS t ON t.k = (g - 1) % {templates};
INSERT INTO accounts_hold ({", ".join(holds)})
SELECT {hold_select} FROM bench_clone c JOIN accounts_hold h ON h.id = c.template_hold_id ORDER BY c.g;
INSERT INTO transactions_payment ({", ".join(payments)})
SELECT {payment_select} FROM bench_clone c JOIN transactions_payment p ON p.id = c.template_id
  JOIN accounts_hold nh ON nh.public_id = c.hold_public ORDER BY c.g;
INSERT INTO transactions_paymentevent ({", ".join(events)})
SELECT {event_select} FROM bench_clone c JOIN transactions_payment np ON np.public_id = c.payment_public
  JOIN transactions_paymentevent e ON e.payment_id = c.template_id ORDER BY c.g, e.id;
UPDATE accounts_account a SET available = a.available - d.held, updated_at = now()
  FROM (SELECT h.account_id, sum(h.amount) AS held FROM bench_clone c JOIN accounts_hold h ON h.public_id = c.hold_public
         GROUP BY h.account_id) AS d
 WHERE a.id = d.account_id;
COMMIT;
"""
    t0 = time.monotonic()
    pg.psql(sql)
    return {"cloned": count, "templates": templates, "seconds": round(time.monotonic() - t0, 1)}


def backlog(pg: Pg) -> dict[str, int]:
    row = pg.psql(
        "SELECT count(*) FILTER (WHERE status = 'submitted' AND gateway_outcome = 'settled'), count(*), "
        "(SELECT count(*) FROM accounts_hold WHERE status = 'active') FROM transactions_payment"
    ).split("|")
    return {"answered_settled": int(row[0]), "payments": int(row[1]), "active_holds": int(row[2])}


def verify(pg: Pg) -> dict[str, Any]:
    """What must hold after the settlement: the ledger, one settlement entry per payment, no hold."""
    check = manage(pg, "check_ledger", capture=True)
    payments, settled, with_entry, distinct_entries, matching_entries, events, active_holds = pg.psql(
        "SELECT count(*), count(*) FILTER (WHERE status = 'settled'), count(settlement_entry_id), "
        "count(DISTINCT settlement_entry_id), "
        "(SELECT count(*) FROM transactions_payment p JOIN transactions_journalentry e "
        "  ON e.id = p.settlement_entry_id WHERE e.kind = 'payment' AND e.amount = p.amount "
        "  AND (SELECT count(*) FROM transactions_posting x WHERE x.entry_id = e.id) = 2), "
        "(SELECT count(*) FROM transactions_paymentevent WHERE to_status = 'settled'), "
        "(SELECT count(*) FROM accounts_hold WHERE status = 'active') "
        "FROM transactions_payment"
    ).split("|")
    counts = {
        "payments": int(payments),
        "settled": int(settled),
        "with_settlement_entry": int(with_entry),
        "distinct_settlement_entries": int(distinct_entries),
        "matching_payment_entries": int(matching_entries),
        "settled_events": int(events),
        "active_holds": int(active_holds),
    }
    n = counts["payments"]
    ok = (
        check.returncode == 0
        and counts["settled"] == n
        and counts["with_settlement_entry"] == n
        and counts["distinct_settlement_entries"] == n
        and counts["matching_payment_entries"] == n
        and counts["settled_events"] == n
        and counts["active_holds"] == 0
    )
    return {
        "passed": ok,
        "check_ledger_passed": check.returncode == 0,
        "check_ledger_output": (check.stdout.strip() or check.stderr.strip())[-1000:],
        **counts,
    }


def run_batch_size(pg: Pg, args: argparse.Namespace, batch_size: int) -> dict[str, Any]:
    """Settle a copy of the seeded database with this batch size, then verify the copy."""
    copy = Pg(argparse.Namespace(**{**vars(args), "db_name": f"{args.db_name}_run"}))
    copy.psql(f'DROP DATABASE IF EXISTS "{copy.db}" WITH (FORCE)', db="postgres")
    copy.psql(f'CREATE DATABASE "{copy.db}" TEMPLATE "{pg.db}"', db="postgres")
    copy.psql("ANALYZE")  # a copy starts without statistics
    try:
        load0 = os.getloadavg()[0]
        run = child(copy, "--child-settle", str(batch_size))
        run["loadavg_before_after"] = [round(load0, 2), round(os.getloadavg()[0], 2)]
        run["verify"] = verify(copy)
    finally:
        if not args.keep_copy:
            copy.psql(f'DROP DATABASE IF EXISTS "{copy.db}" WITH (FORCE)', db="postgres")
    return run


def seeding_text(seeded: dict[str, Any]) -> str:
    if seeded.get("reused"):
        return "seeded database reused (--reuse-db)"
    text = f"{seeded['payments']:,} made through the services in {seeded['seconds']} s ({seeded['workers']} processes)"
    clone = seeded.get("clone")
    if clone and clone["cloned"]:
        text += f", {clone['cloned']:,} set-based copies of them in {clone['seconds']} s"
    return text


def markdown(results: dict[str, Any]) -> str:
    m, cfg = results["machine"], results["config"]
    seeded = results["seeding"]
    lines = [
        f"# Settlement batches {results['started_at']}",
        "",
        f"`{results['command']}`",
        "",
        f"- machine: {m['nproc']} CPUs (shared), {m['platform']}, PostgreSQL {m['postgres_version']} "
        f"(shared_buffers {m['pg_shared_buffers']}, synchronous_commit {m['pg_synchronous_commit']}), "
        f"loadavg at start {m['loadavg_start']}",
        f"- code: {m['git_commit']}{' (dirty tree)' if m['git_dirty'] else ''}",
        f"- {cfg['payments']:,} payments from {cfg['accounts']} CNY accounts, answered SETTLED and unbooked; "
        f"ledger before: {results['ledger_before']['entries']:,} entries, {results['ledger_before']['postings']:,} "
        f"postings; {seeding_text(seeded)}",
        "",
        "| batch size | settled | seconds | **settled/s** | batches | batch p50 ms | batch max ms | "
        "app CPU s | loadavg | verified |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for run in results["runs"]:
        lines.append(
            f"| {run['batch_size']} | {run['settled']:,} | {run['seconds']} | **{run['per_s']}** | {run['batches']} | "
            f"{run['batch_ms_p50']} | {run['batch_ms_max']} | {run['app_cpu_s']} | {run['loadavg_before_after']} | "
            f"{'passed' if run['verify']['passed'] else 'FAILED'} |"
        )
    target = results["target"]
    lines += [
        "",
        f"Target: >= {TARGET_PER_S:,.0f} settled/s at batch size 1000: {target['value']} — "
        f"**{'met' if target['met'] else 'NOT MET' if target['met'] is False else 'n/a'}**.",
        "",
        "Verified after each run (on its own copy of the seeded database): check_ledger passes; every "
        "payment settled, with its own settlement entry of kind payment for its amount and two postings, "
        "and one `settled` event; no active hold left.",
        "",
        "The machine is shared (see the load averages); settled/s moves with other work on the 2 cores.",
        "",
    ]
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--payments", type=int, default=20_000, help="payments to settle (default 20,000)")
    p.add_argument("--batch-sizes", default="1000,500,100", help="batch sizes to run, each on a copy")
    p.add_argument("--accounts", type=int, default=1000, help="funded CNY accounts (default 1000)")
    p.add_argument("--opening", default="1000000.00", help="opening deposit per account, CNY")
    p.add_argument("--prefill-entries", type=int, default=100_000, help="historical entries (default 100,000)")
    p.add_argument(
        "--service-payments",
        type=int,
        default=1000,
        help="how many of the payments go through the services (default 1,000; the rest are set-based copies "
        "of them); --service-payments 20000 makes all of them through the services (~10-20 min here)",
    )
    p.add_argument("--seed-workers", type=int, default=2, help="processes creating the payments (default 2)")
    add_database_arguments(p, os.environ.get("BENCH_SETTLEMENT_DB", "finsys_benchscale_settlement"))
    p.add_argument("--reuse-db", action="store_true", help="settle copies of the already seeded database")
    p.add_argument("--keep-copy", action="store_true", help="keep the settled copy (<db-name>_run) to inspect")
    p.add_argument("--no-save", action="store_true", help="print the results, write nothing under bench/results")
    p.add_argument("--child-seed", nargs=3, help=argparse.SUPPRESS)
    p.add_argument("--child-settle", type=int, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    args.db_url_options = ""
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child_seed:
        accounts_file, count, rng_seed = args.child_seed
        print(json.dumps(seed_payments(accounts_file, int(count), int(rng_seed))))
        return 0
    if args.child_settle:
        print(json.dumps(settle(args.child_settle)))
        return 0
    sizes = [int(s) for s in args.batch_sizes.split(",") if s.strip()]
    if not sizes or min(sizes) < 1 or args.payments < 1:
        raise SystemExit("--payments and --batch-sizes must be positive")
    pg = Pg(args)
    started = dt.datetime.now(dt.UTC)
    stamp = started.strftime("%Y%m%dT%H%M%SZ")
    workdir = Path(tempfile.mkdtemp(prefix="finsys-bench-settlement-"))
    results: dict[str, Any] = {
        "started_at": started.isoformat(timespec="seconds"),
        "command": " ".join([".venv/bin/python", "bench/settlement.py", *(argv if argv is not None else sys.argv[1:])]),
        "machine": machine_info(pg),
        "config": {
            "payments": args.payments,
            "batch_sizes": sizes,
            "accounts": args.accounts,
            "prefill_entries": args.prefill_entries,
            "database": f"{pg.host}:{pg.port}/{pg.db}",
        },
    }
    if args.reuse_db:
        results["seeding"] = {"seconds": "-", "workers": "-", "reused": True}
    else:
        seed = prepare_database(pg, args, workdir)
        results["seed"] = {k: v for k, v in seed.items() if k != "public_ids"}
        through_services = min(args.payments, args.service_payments)
        log(f"seeding {through_services:,} payments through the services in {args.seed_workers} processes")
        results["seeding"] = seed_all(pg, args, through_services, seed["public_ids"], workdir)
        log(f"  seeded in {results['seeding']['seconds']} s: {results['seeding']['statuses']}")
        if args.payments > through_services:
            log(f"copying them set-based up to {args.payments:,} payments")
            results["seeding"]["clone"] = clone_payments(pg, args.payments - through_services)
            log(f"  copied in {results['seeding']['clone']['seconds']} s")
        check = manage(pg, "check_ledger", capture=True)
        results["seeding"]["check_ledger_passed"] = check.returncode == 0
        if check.returncode != 0:
            raise SystemExit(
                f"check_ledger fails on the seeded database:\n{check.stdout[-2000:]}{check.stderr[-2000:]}"
            )
        log("VACUUM ANALYZE")
        pg.psql("VACUUM ANALYZE")
    results["backlog"] = backlog(pg)
    results["ledger_before"] = ledger_size(pg)
    if results["backlog"]["answered_settled"] != results["backlog"]["payments"]:
        raise SystemExit(f"the seeded database is not an unbooked backlog: {results['backlog']}")
    args.payments = results["config"]["payments"] = results["backlog"]["payments"]
    runs = []
    for size in sizes:
        log(f"payments_settle(batch_size={size}) on a copy")
        run = run_batch_size(pg, args, size)
        log(
            f"  {run['settled']:,} settled in {run['seconds']} s = {run['per_s']}/s, batch p50 {run['batch_ms_p50']} ms "
            f"max {run['batch_ms_max']} ms; verified: {run['verify']['passed']}"
        )
        runs.append(run)
    results["runs"] = runs
    primary = next((r for r in runs if r["batch_size"] == 1000), None)
    results["target"] = {
        "target": f">= {TARGET_PER_S:g}/s at batch size 1000",
        "value": primary["per_s"] if primary else None,
        "met": (primary["per_s"] >= TARGET_PER_S) if primary else None,
    }
    results["finished_at"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    text = markdown(results)
    print(text)
    if not args.no_save:
        save_results("settlement", stamp, results, text)
    return 0 if all(r["verify"]["passed"] for r in runs) else 2


if __name__ == "__main__":
    sys.exit(main())
