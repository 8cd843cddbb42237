"""Ledger scale: transfer, balance and point-in-time read latency as the posting table grows.

    make bench-ledger-scale                                   # 10 thousand, 1 million, 10 million postings
    .venv/bin/python bench/ledger_scale.py --quick            # 10k and 200k postings, 500 samples (~2 min)
    .venv/bin/python bench/ledger_scale.py --sizes 10000,1000000 --samples 3000

Issue 9: "transfer latency and balance-read latency with 10 thousand, 1 million and 10 million
postings in the table (growth must be flat)"; target: balance and point-in-time reads within 10%
from 10 thousand to 10 million postings.

One database, grown in steps (see bench/README.md):
1. Recreates its own database (finsys_benchscale on 127.0.0.1:5432), migrates, seeds --accounts
   funded CNY accounts through the services (bench/transfers.py's prepare_database: bench/seed.py).
2. For each size in --sizes (postings in the table, ascending): appends historical transfers with
   bench/prefill_history.sql (set-based, two postings per entry) until the posting table holds
   that many, each step in the next slice of 300 days of history; VACUUM ANALYZE (STACK.md
   pitfall 13); then a fresh Python process with Django on that database measures, interleaved
   so that machine noise hits all three alike, after --warmup rounds:
   - transfer: `transfer_create` between two random bench accounts;
   - balance: what GET /api/v1/accounts/{id}/balance/ runs (`account_get` + `account_balance_at`
     at now);
   - point in time: `account_balance_at` at a random moment inside the prefilled history;
   and EXPLAINs (ANALYZE, BUFFERS) the point-in-time query exactly as the selector sends it.
3. `manage.py check_ledger`; bench/results/ledger-scale-<UTC>.json and .md, ledger-scale-latest.md.
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
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from transfers import (
    ROOT,
    VENV_BIN,
    Pg,
    add_database_arguments,
    ledger_size,
    log,
    machine_info,
    manage,
    prepare_database,
    save_results,
)

TARGET_READ_GROWTH = 1.10  # balance and point-in-time p50 at the largest size over the smallest
HISTORY_DAYS = 300  # the prefilled history spans this many days, ending an hour ago (the risk rules
# refuse transfers from accounts dormant for 365 days: every step's history must be younger)
POSTINGS_PER_ENTRY = 2


def percentiles(samples_ms: list[float]) -> dict[str, float]:
    ordered = sorted(samples_ms)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)

    return {
        "p50": at(0.50),
        "p95": at(0.95),
        "p99": at(0.99),
        "mean": round(statistics.fmean(ordered), 3),
        "n": len(ordered),
    }


# --- the measuring child process (Django set up on the bench database) ----------------------


def measure(accounts_file: str, samples: int, warmup: int, history_from: str, history_to: str) -> dict[str, Any]:
    """(in a child process) Interleaved rounds of one transfer, one balance read and one
    point-in-time read; the first `warmup` rounds are not recorded. Then the plan of the
    point-in-time query."""
    sys.path.insert(0, str(ROOT))
    from finsys.settings import default_module

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", default_module())
    import django

    django.setup()
    from decimal import Decimal

    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from apps.accounts.models import Account
    from apps.accounts.selectors import account_get
    from apps.common.errors import BlockedByScreening
    from apps.common.money import Money
    from apps.common.principals import Actor, Channel
    from apps.transactions.selectors import account_balance_at
    from apps.transactions.services import transfer_create

    public_ids = json.loads(Path(accounts_file).read_text())
    accounts = {a.public_id: a for a in Account.objects.filter(public_id__in=public_ids)}
    ids = list(accounts)
    actor = Actor(label="client:bench-ledger-scale", channel=Channel.API)
    start = dt.datetime.fromisoformat(history_from)
    span = (dt.datetime.fromisoformat(history_to) - start).total_seconds()
    # A different sequence at each size: the same sources again within ten minutes would trip
    # the velocity rule (20 outgoing transfers in 10 minutes) for the most drawn accounts.
    rng = random.Random(f"ledger-scale {history_to}")
    timings: dict[str, list[float]] = {"transfer": [], "balance": [], "point_in_time": []}
    clock = time.perf_counter
    sources = list(ids)
    refused = 0
    round_no = 0
    while round_no < warmup + samples:
        source, target = rng.choice(sources), rng.choice(ids)
        if source == target:
            continue
        money = Money(Decimal(rng.randint(1, 1000)) / 100, "CNY")
        t0 = clock()
        try:
            transfer_create(actor=actor, from_account=source, to_account=target, money=money, reference="bench")
        except BlockedByScreening:
            # The risk rules (rightly) refuse an account the first step's history did not reach:
            # its only posting is the opening deposit, 400 days old (dormant-365). Not measured.
            sources.remove(source)
            refused += 1
            continue
        t1 = clock()
        account = account_get(actor=actor, public_id=rng.choice(ids))
        account_balance_at(account=account, at=timezone.now())
        t2 = clock()
        account_balance_at(account=accounts[rng.choice(ids)], at=start + dt.timedelta(seconds=rng.uniform(0, span)))
        t3 = clock()
        if round_no >= warmup:
            timings["transfer"].append((t1 - t0) * 1000)
            timings["balance"].append((t2 - t1) * 1000)
            timings["point_in_time"].append((t3 - t2) * 1000)
        round_no += 1

    # The point-in-time query exactly as the selector sends it, explained with its real cost.
    with CaptureQueriesContext(connection) as captured:
        account_balance_at(account=accounts[ids[0]], at=start + dt.timedelta(seconds=span / 2))
    sql = captured.captured_queries[-1]["sql"]
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    return {
        "latency_ms": {name: percentiles(values) for name, values in timings.items()},
        "sources_refused_by_risk_rules": refused,
        "point_in_time_sql": sql,
        "point_in_time_plan": plan,
        "plan_uses_index": "Index" in plan and "Seq Scan" not in plan,
    }


def run_measure(pg: Pg, args: argparse.Namespace, accounts_file: Path, window: tuple[str, str]) -> dict[str, Any]:
    from transfers import django_env

    out = subprocess.run(
        [
            str(VENV_BIN / "python"),
            __file__,
            "--child-measure",
            str(accounts_file),
            str(args.samples),
            str(args.warmup),
            *window,
        ],
        cwd=ROOT,
        env=django_env(pg),
        capture_output=True,
        text=True,
    )
    if out.returncode != 0:
        raise SystemExit(f"the measuring process failed (exit {out.returncode}):\n{out.stderr[-3000:]}")
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


# --- growing the ledger -----------------------------------------------------------------------


def grow_to(pg: Pg, seed: dict[str, Any], postings: int, window: tuple[str, str]) -> dict[str, Any]:
    """Append historical transfers until the posting table holds about `postings` rows."""
    before = ledger_size(pg)["postings"]
    entries = max(0, (postings - before) // POSTINGS_PER_ENTRY)
    t0 = time.monotonic()
    if entries:
        log(f"appending {entries:,} historical entries ({before:,} -> ~{postings:,} postings)")
        pg.psql_file(
            ROOT / "bench" / "prefill_history.sql",
            {
                "entries": entries,
                "first": seed["first_id"],
                "naccounts": seed["count"],
                "history_from": window[0],
                "history_to": window[1],
            },
        )
    load_s = time.monotonic() - t0
    t0 = time.monotonic()
    log("VACUUM ANALYZE")
    pg.psql("VACUUM ANALYZE")
    return {"entries_added": entries, "load_s": round(load_s, 1), "vacuum_analyze_s": round(time.monotonic() - t0, 1)}


def history_windows(sizes: list[int], now: dt.datetime) -> list[tuple[str, str]]:
    """Each step's slice of HISTORY_DAYS of history ending an hour ago, proportional to what it adds,
    so that the prefilled history is in time order across steps."""
    first = now - dt.timedelta(days=HISTORY_DAYS)
    span = (now - dt.timedelta(hours=1)) - first
    windows, previous = [], 0
    for size in sizes:
        lo = first + span * (previous / sizes[-1])
        hi = first + span * (size / sizes[-1])
        windows.append((lo.isoformat(), hi.isoformat()))
        previous = size
    return windows


# --- report -------------------------------------------------------------------------------------


MEASURES = (("transfer", "transfer"), ("balance", "balance read"), ("point_in_time", "point-in-time read"))


def growth(steps: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    first, last = steps[0]["latency_ms"], steps[-1]["latency_ms"]
    return {
        name: {q: round(last[name][q] / first[name][q], 3) for q in ("p50", "p95", "p99", "mean")}
        for name, _label in MEASURES
    }


def markdown(results: dict[str, Any]) -> str:
    m = results["machine"]
    steps = results["steps"]
    lines = [
        f"# Ledger scale {results['started_at']}",
        "",
        f"`{results['command']}`",
        "",
        f"- machine: {m['nproc']} CPUs (shared), {m['platform']}, PostgreSQL {m['postgres_version']} "
        f"(shared_buffers {m['pg_shared_buffers']}), loadavg at start {m['loadavg_start']}",
        f"- code: {m['git_commit']}{' (dirty tree)' if m['git_dirty'] else ''}; {results['config']['accounts']} "
        f"CNY accounts; {results['config']['samples']} samples per measure and size after "
        f"{results['config']['warmup']} warm-up rounds, interleaved (transfer, balance, point in time)",
        "",
        "| postings | entries | transfer p50 ms | transfer p99 ms | balance p50 ms | balance p99 ms | "
        "point-in-time p50 ms | point-in-time p99 ms | load s | loadavg |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for step in steps:
        lat = step["latency_ms"]
        lines.append(
            f"| {step['ledger']['postings']:,} | {step['ledger']['entries']:,} | {lat['transfer']['p50']} | "
            f"{lat['transfer']['p99']} | {lat['balance']['p50']} | {lat['balance']['p99']} | "
            f"{lat['point_in_time']['p50']} | {lat['point_in_time']['p99']} | {step['grow']['load_s']} | "
            f"{step['loadavg_before_after']} |"
        )
    if len(steps) > 1:
        g = results["growth"]
        lines += [
            "",
            f"Growth, {steps[-1]['ledger']['postings']:,} over {steps[0]['ledger']['postings']:,} postings "
            f"(target for the reads: <= {TARGET_READ_GROWTH:.2f}x at p50):",
            "",
            "| measure | p50 | p95 | p99 | mean | target |",
            "|---|---:|---:|---:|---:|---|",
        ]
        for name, label in MEASURES:
            row = g[name]
            verdict = "reported" if name == "transfer" else ("met" if row["p50"] <= TARGET_READ_GROWTH else "NOT MET")
            lines.append(f"| {label} | {row['p50']}x | {row['p95']}x | {row['p99']}x | {row['mean']}x | {verdict} |")
    last = steps[-1]
    lines += [
        "",
        f"Plan of the point-in-time query at {last['ledger']['postings']:,} postings "
        f"(uses an index: {'yes' if last['plan_uses_index'] else 'NO'}):",
        "",
        "```",
        last["point_in_time_sql"],
        "",
        last["point_in_time_plan"],
        "```",
        "",
        f"check_ledger at the end: **{'passed' if results['check_ledger']['passed'] else 'FAILED'}**",
        "",
        "In-process latencies (no HTTP): a fresh Python process per size, Django with DEBUG off on "
        "the bench database. The machine is shared: the load averages show how busy it was; compare "
        "sizes measured close together.",
        "",
    ]
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="10000,1000000,10000000", help="postings in the table at each step")
    p.add_argument("--samples", type=int, default=3000, help="recorded rounds per size (default 3000)")
    p.add_argument("--warmup", type=int, default=300, help="unrecorded rounds first (default 300)")
    p.add_argument("--quick", action="store_true", help="development: --sizes 10000,200000 --samples 500")
    p.add_argument("--accounts", type=int, default=1000, help="funded CNY accounts (default 1000)")
    p.add_argument("--opening", default="1000000.00", help="opening deposit per account, CNY")
    add_database_arguments(p, os.environ.get("BENCH_LEDGER_SCALE_DB", "finsys_benchscale"))
    p.add_argument("--no-save", action="store_true", help="print the results, write nothing under bench/results")
    p.add_argument("--child-measure", nargs=5, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    args.db_url_options = ""
    args.prefill_entries = 0  # prepare_database seeds only; the steps below grow the history
    if args.quick:
        args.sizes, args.samples, args.warmup = "10000,200000", 500, 100
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child_measure:
        accounts_file, samples, warmup, history_from, history_to = args.child_measure
        print(json.dumps(measure(accounts_file, int(samples), int(warmup), history_from, history_to)))
        return 0
    sizes = sorted(int(s) for s in args.sizes.split(",") if s.strip())
    if not sizes or sizes[0] <= 0 or args.samples <= 0:
        raise SystemExit("--sizes and --samples must be positive")
    pg = Pg(args)
    started = dt.datetime.now(dt.UTC)
    stamp = started.strftime("%Y%m%dT%H%M%SZ")
    workdir = Path(tempfile.mkdtemp(prefix="finsys-bench-ledger-scale-"))
    results: dict[str, Any] = {
        "started_at": started.isoformat(timespec="seconds"),
        "command": " ".join(
            [".venv/bin/python", "bench/ledger_scale.py", *(argv if argv is not None else sys.argv[1:])]
        ),
        "machine": machine_info(pg),
        "config": {
            "sizes": sizes,
            "samples": args.samples,
            "warmup": args.warmup,
            "accounts": args.accounts,
            "database": f"{pg.host}:{pg.port}/{pg.db}",
        },
    }
    run_started = time.monotonic()
    seed = prepare_database(pg, args, workdir)
    results["seed"] = {k: v for k, v in seed.items() if k != "public_ids"}
    accounts_file = workdir / "accounts.json"
    accounts_file.write_text(json.dumps(seed["public_ids"]))
    steps = []
    for size, window in zip(sizes, history_windows(sizes, started), strict=True):
        grown = grow_to(pg, seed, size, window)
        ledger = ledger_size(pg)
        load0 = os.getloadavg()[0]
        log(f"measuring at {ledger['postings']:,} postings: {args.warmup} warm-up + {args.samples} rounds")
        # Point-in-time reads fall anywhere in the history prefilled so far.
        measured = run_measure(pg, args, accounts_file, (history_windows(sizes, started)[0][0], window[1]))
        step = {
            "size": size,
            "ledger": ledger,
            "grow": grown,
            "loadavg_before_after": [round(load0, 2), round(os.getloadavg()[0], 2)],
            **measured,
        }
        lat = step["latency_ms"]
        log(
            "  p50/p99 ms: transfer {}/{}, balance {}/{}, point in time {}/{}; plan uses an index: {}".format(
                lat["transfer"]["p50"],
                lat["transfer"]["p99"],
                lat["balance"]["p50"],
                lat["balance"]["p99"],
                lat["point_in_time"]["p50"],
                lat["point_in_time"]["p99"],
                step["plan_uses_index"],
            )
        )
        steps.append(step)
    results["steps"] = steps
    results["growth"] = growth(steps)
    log("check_ledger")
    check = manage(pg, "check_ledger", capture=True)
    results["check_ledger"] = {
        "passed": check.returncode == 0,
        "output": (check.stdout.strip() or check.stderr.strip())[-2000:],
    }
    results["total_s"] = round(time.monotonic() - run_started, 1)
    results["finished_at"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    text = markdown(results) + f"Whole run: {results['total_s']} s.\n"
    print(text)
    if not args.no_save:
        save_results("ledger-scale", stamp, results, text)
    if not results["check_ledger"]["passed"]:
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
