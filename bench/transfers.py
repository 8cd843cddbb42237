"""Transfer throughput through the real stack, as a ratio of what PostgreSQL alone achieves.

    make bench-transfers                                  # 30 s per run, 16 and 64 clients, 1M entries
    .venv/bin/python bench/transfers.py --duration 10 --prefill-entries 100000   # quick, for development

One command, in this order (see bench/README.md):
1. (Re)creates its own PostgreSQL database (default finsys_bench on 127.0.0.1:5432, user postgres),
   runs `manage.py migrate`, seeds --accounts funded CNY accounts through the services
   (bench/seed.py), prefills --prefill-entries historical transfers with set-based SQL
   (bench/prefill_history.sql), then VACUUM ANALYZE.
2. For each client count: the raw-SQL baseline (pgbench with bench/transfers_pgbench.sql), then
   our stack: gunicorn on 127.0.0.1 with the project's gunicorn.conf.py, an OAuth2 token from
   a bank-wide API client, and a load generator in a separate process (wrk with
   bench/wrk_transfers.lua, or bench/loadgen.py when wrk is missing): POST /api/v1/transfers/
   between random funded accounts, each with a unique Idempotency-Key.
3. `manage.py check_ledger`, and a count proving one journal entry per 201 answer.
4. bench/results/transfers-<timestamp>.json and .md, and bench/results/latest.md/.json.

The raw and API runs of one client count are measured back to back, so their ratio is what
this benchmark reports; absolute numbers on a shared 2-core machine are noisy.
"""

from __future__ import annotations

import argparse
import base64
import collections
import datetime as dt
import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
VENV_BIN = ROOT / ".venv" / "bin"
RESULTS = BENCH / "results"

# Targets from the issue.
TARGET_RATIO = 0.25  # API transfers/s over raw-SQL tps at 16 clients, measured beside it (issue 9)
TARGET_P99_MS = 100.0  # at 16 clients
TARGET_ERRORS_AT = 64  # no errors at 64 clients

# The gunicorn settings the benchmark uses unless told otherwise: the best of those tried by
# hand on the 2-core machine (bench/README.md lists them). Environment variables
# GUNICORN_WORKERS/GUNICORN_THREADS/GUNICORN_WORKER_CLASS override these defaults.
DEFAULT_WORKERS = 4
DEFAULT_THREADS = 4
DEFAULT_WORKER_CLASS = "gthread"


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- machine and processes ----------------------------------------------------------------


def cpu_jiffies() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine since boot, from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    total = sum(fields[:8])
    return total - idle, total


def proc_cpu_seconds(pids: list[int]) -> float:
    """utime + stime of these processes (those still alive), in seconds."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / ticks


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


class CpuMeter:
    """CPU used during a measured window: the machine, given process groups, and waited-for children."""

    def __init__(self, groups: dict[str, list[int]] | None = None) -> None:
        self.groups = groups or {}

    def __enter__(self) -> CpuMeter:
        self.wall0 = time.monotonic()
        self.busy0, self.total0 = cpu_jiffies()
        self.group0 = {name: proc_cpu_seconds(pids) for name, pids in self.groups.items()}
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.children0 = usage.ru_utime + usage.ru_stime
        self.load0 = os.getloadavg()[0]
        return self

    def __exit__(self, *exc: object) -> None:
        busy1, total1 = cpu_jiffies()
        self.wall = time.monotonic() - self.wall0
        self.machine_busy = (busy1 - self.busy0) / max(1, total1 - self.total0)
        self.group = {name: proc_cpu_seconds(pids) - self.group0[name] for name, pids in self.groups.items()}
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.children = usage.ru_utime + usage.ru_stime - self.children0
        self.load1 = os.getloadavg()[0]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- PostgreSQL -----------------------------------------------------------------------------


class Pg:
    def __init__(self, args: argparse.Namespace) -> None:
        self.host, self.port, self.user, self.db = args.pg_host, args.pg_port, args.pg_user, args.db_name
        self.env = {**os.environ, "PGHOST": self.host, "PGPORT": str(self.port), "PGUSER": self.user}
        if args.pg_password:
            self.env["PGPASSWORD"] = args.pg_password
        self.password = args.pg_password
        self.options = args.db_url_options  # only in the app's DATABASE_URL

    @property
    def url(self) -> str:
        auth = self.user + (":" + urllib.parse.quote(self.password, safe="") if self.password else "")
        query = f"?{self.options}" if self.options else ""
        return f"postgres://{auth}@{self.host}:{self.port}/{self.db}{query}"

    def psql(self, sql: str, db: str | None = None) -> str:
        out = subprocess.run(
            ["psql", "-X", "-v", "ON_ERROR_STOP=1", "-At", "-d", db or self.db, "-c", sql],
            env=self.env,
            check=True,
            capture_output=True,
            text=True,
        )
        return out.stdout.strip()

    def psql_file(self, path: Path, variables: dict[str, Any]) -> None:
        cmd = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", self.db, "-f", str(path)]
        for name, value in variables.items():
            cmd += ["-v", f"{name}={value}"]
        subprocess.run(cmd, env=self.env, check=True)


# --- steps ----------------------------------------------------------------------------------


def django_env(pg: Pg) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DJANGO_SETTINGS_MODULE", "REDIS_URL", "FINSYS_ENV") and not k.startswith("GUNICORN_")
    }
    env.update({"DATABASE_URL": pg.url, "DEBUG": "0", "ALLOWED_HOSTS": "127.0.0.1,localhost"})
    return env


def manage(pg: Pg, *args: str, capture: bool = False) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(VENV_BIN / "python"), "manage.py", *args],
        cwd=ROOT,
        env=django_env(pg),
        check=not capture,
        capture_output=capture,
        text=True,
    )


def prepare_database(pg: Pg, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """Recreate the database, migrate, seed, prefill, VACUUM ANALYZE. Returns the seed info."""
    timings: dict[str, float] = {}
    t0 = time.monotonic()
    log(f"recreating database {pg.db}")
    pg.psql(f'DROP DATABASE IF EXISTS "{pg.db}" WITH (FORCE)', db="postgres")
    pg.psql(f'CREATE DATABASE "{pg.db}"', db="postgres")
    manage(pg, "migrate", "--noinput", "-v", "0")
    timings["migrate_s"] = time.monotonic() - t0

    t0 = time.monotonic()
    seed_file = workdir / "seed.json"
    log(f"seeding {args.accounts} funded CNY accounts through the services")
    subprocess.run(
        [
            str(VENV_BIN / "python"),
            str(BENCH / "seed.py"),
            "--accounts",
            str(args.accounts),
            "--opening",
            args.opening,
            "--out",
            str(seed_file),
        ],
        cwd=ROOT,
        env=django_env(pg),
        check=True,
    )
    seed = json.loads(seed_file.read_text())
    timings["seed_s"] = time.monotonic() - t0

    if args.prefill_entries > 0:
        t0 = time.monotonic()
        log(f"prefilling {args.prefill_entries:,} historical entries (set-based SQL)")
        pg.psql_file(
            BENCH / "prefill_history.sql",
            {"entries": args.prefill_entries, "first": seed["first_id"], "naccounts": seed["count"]},
        )
        timings["prefill_s"] = time.monotonic() - t0
    t0 = time.monotonic()
    log("VACUUM ANALYZE")
    pg.psql("VACUUM ANALYZE")
    timings["vacuum_analyze_s"] = time.monotonic() - t0
    seed["timings"] = {k: round(v, 1) for k, v in timings.items()}
    return seed


def existing_accounts(pg: Pg) -> dict[str, Any]:
    """--reuse-db: the bench accounts already in the database (every customer account)."""
    rows = pg.psql("SELECT id, public_id FROM accounts_account WHERE NOT is_internal ORDER BY id").splitlines()
    ids = [int(r.split("|")[0]) for r in rows]
    if len(ids) < 2 or ids != list(range(ids[0], ids[0] + len(ids))):
        raise SystemExit(f"--reuse-db: {pg.db} does not hold consecutive bench accounts; run without it")
    return {
        "first_id": ids[0],
        "last_id": ids[-1],
        "count": len(ids),
        "public_ids": [r.split("|")[1] for r in rows],
        "reused": True,
    }


def ledger_size(pg: Pg) -> dict[str, int]:
    entries, postings = pg.psql(
        "SELECT (SELECT count(*) FROM transactions_journalentry), (SELECT count(*) FROM transactions_posting)"
    ).split("|")
    return {"entries": int(entries), "postings": int(postings)}


PGBENCH_TPS = re.compile(r"^tps = ([0-9.]+) \(without initial connection time\)", re.M)
PGBENCH_LAT = re.compile(r"^latency average = ([0-9.]+) ms", re.M)
PGBENCH_FAILED = re.compile(r"^number of failed transactions: (\d+)", re.M)
PGBENCH_DONE = re.compile(r"^number of transactions actually processed: (\d+)", re.M)


def run_pgbench(pg: Pg, seed: dict[str, Any], clients: int, seconds: int, protocol: str) -> dict[str, Any]:
    cmd = [
        "pgbench",
        "-n",
        "-M",
        protocol,
        "-c",
        str(clients),
        "-j",
        str(min(2, clients)),
        "-T",
        str(seconds),
        "-f",
        str(BENCH / "transfers_pgbench.sql"),
        "-D",
        f"first={seed['first_id']}",
        "-D",
        f"naccounts={seed['count']}",
        pg.db,
    ]
    with CpuMeter() as cpu:
        out = subprocess.run(cmd, env=pg.env, capture_output=True, text=True, timeout=seconds + 120)
    text = out.stdout + out.stderr
    tps = PGBENCH_TPS.search(text)
    if out.returncode != 0 or tps is None:
        raise SystemExit(f"pgbench failed (exit {out.returncode}):\n{text[-3000:]}")
    lat, failed, done = PGBENCH_LAT.search(text), PGBENCH_FAILED.search(text), PGBENCH_DONE.search(text)
    return {
        "command": " ".join(cmd),
        "tps": round(float(tps.group(1)), 1),
        "transactions": int(done.group(1)) if done else None,
        "failed": int(failed.group(1)) if failed else 0,
        "latency_avg_ms": float(lat.group(1)) if lat else None,
        "cpu": {
            "machine_busy_pct": round(100 * cpu.machine_busy, 1),
            "pgbench_client_cpu_s": round(cpu.children, 2),
            "loadavg_1m_before_after": [round(cpu.load0, 2), round(cpu.load1, 2)],
        },
    }


class Gunicorn:
    """gunicorn with the project's gunicorn.conf.py on 127.0.0.1:<free port>, stopped on exit."""

    def __init__(self, pg: Pg, args: argparse.Namespace, logdir: Path) -> None:
        self.port = free_port()
        self.config = {
            "GUNICORN_WORKERS": str(args.workers),
            "GUNICORN_THREADS": str(args.threads),
            "GUNICORN_WORKER_CLASS": args.worker_class,
        }
        env = django_env(pg)
        env.update(self.config)
        env["GUNICORN_BIND"] = f"127.0.0.1:{self.port}"
        self.logfile = logdir / f"gunicorn-{self.port}.log"
        self.cmd = [str(VENV_BIN / "gunicorn"), "-c", "gunicorn.conf.py", "finsys.wsgi:application"]
        self.proc = subprocess.Popen(
            self.cmd,
            cwd=ROOT,
            env=env,
            stdout=self.logfile.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.url = f"http://127.0.0.1:{self.port}"

    def wait_ready(self, workers: int, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"gunicorn exited ({self.proc.returncode}); see {self.logfile}")
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=2) as resp:
                    if resp.status == 200 and len(self.workers()) >= workers:
                        return
            except (OSError, urllib.error.URLError):
                pass
            time.sleep(0.3)
        raise SystemExit(f"gunicorn did not answer /healthz within {timeout}s; see {self.logfile}")

    def workers(self) -> list[int]:
        return children_of(self.proc.pid)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)


def create_client(pg: Pg) -> dict[str, str]:
    out = manage(pg, "create_api_client", "bench", "--scopes", "payments:write accounts:read", capture=True)
    if out.returncode != 0:
        raise SystemExit(f"create_api_client failed: {out.stderr.strip()}")
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def get_token(base_url: str, client: dict[str, str]) -> str:
    basic = base64.b64encode(f"{client['client_id']}:{client['client_secret']}".encode()).decode()
    request = urllib.request.Request(
        base_url + "/api/v1/oauth/token/",
        data=b"grant_type=client_credentials",
        headers={"Authorization": f"Basic {basic}", "Content-Type": "application/x-www-form-urlencoded"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as resp:
        return str(json.loads(resp.read())["access_token"])


def pick_loadgen(choice: str) -> str:
    if choice in ("auto", "wrk") and shutil.which("wrk"):
        return "wrk"
    if choice == "wrk":
        raise SystemExit("wrk not found: apt-get install -y wrk, or --loadgen python")
    if choice == "auto":
        log("wrk not found (apt-get install -y wrk); using the asyncio load generator bench/loadgen.py")
    return "python"


# Over every load run (warm-ups and profiling included): 201 answers seen, and the most
# requests that can be in flight when a run stops (the server finishes them, nobody reads them).
CREATED_TOTAL = [0]
IN_FLIGHT_BOUND = [0]


def run_load(
    kind: str, url: str, accounts_file: Path, token: str, run_id: str, clients: int, seconds: int
) -> dict[str, Any]:
    """One closed-loop load run in a separate process; returns its JSON summary."""
    if kind == "wrk":
        cmd = [
            "wrk",
            f"-t{min(2, clients)}",
            f"-c{clients}",
            f"-d{seconds}s",
            "--timeout",
            "10s",
            "-s",
            str(BENCH / "wrk_transfers.lua"),
            url,
            "--",
            str(accounts_file),
            token,
            run_id,
        ]
    else:
        cmd = [
            sys.executable,
            str(BENCH / "loadgen.py"),
            "--url",
            url,
            "--accounts-file",
            str(accounts_file),
            "--token",
            token,
            "--run-id",
            run_id,
            "--clients",
            str(clients),
            "--duration",
            str(seconds),
        ]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 120)
    line = next((x for x in out.stdout.splitlines() if x.startswith("WRK_JSON ")), None)
    if out.returncode != 0 or line is None:
        raise SystemExit(f"load generator failed (exit {out.returncode}):\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}")
    summary: dict[str, Any] = json.loads(line.removeprefix("WRK_JSON "))
    CREATED_TOTAL[0] += summary["created"]
    IN_FLIGHT_BOUND[0] += clients
    summary["stderr"] = out.stderr.strip()[-1000:]
    summary["command"] = " ".join(x if x != token else "<token>" for x in cmd)
    return summary


def run_api(
    pg: Pg,
    args: argparse.Namespace,
    loadgen: str,
    client: dict[str, str],
    accounts_file: Path,
    clients: int,
    logdir: Path,
    run_tag: str,
) -> dict[str, Any]:
    server = Gunicorn(pg, args, logdir)
    try:
        server.wait_ready(args.workers)
        token = get_token(server.url, client)
        if args.warmup > 0:
            run_load(loadgen, server.url, accounts_file, token, f"{run_tag}-w{clients}", clients, args.warmup)
        workers = server.workers()
        backends = [
            int(p)
            for p in pg.psql(
                f"SELECT pid FROM pg_stat_activity WHERE datname = '{pg.db}' AND pid <> pg_backend_pid()"
            ).split()
        ]
        with CpuMeter({"gunicorn": [server.proc.pid, *workers], "postgres": backends}) as cpu:
            load = run_load(loadgen, server.url, accounts_file, token, f"{run_tag}-m{clients}", clients, args.duration)
        seconds = load["duration_us"] / 1e6
        lat = load["latency_us"]
        errors = load["non_201"] + sum(load["socket_errors"].values())
        per_transfer = max(1, load["created"])
        return {
            "transfers_per_s": round(load["created"] / seconds, 1),
            "requests": load["requests"],
            "created": load["created"],
            "errors": errors,
            "non_201": load["non_201"],
            "statuses": load["statuses"],
            "socket_errors": load["socket_errors"],
            "latency_ms": {k: round(v / 1000, 1) for k, v in lat.items()},
            "cpu": {
                "machine_busy_pct": round(100 * cpu.machine_busy, 1),
                "gunicorn_cpu_ms_per_transfer": round(1000 * cpu.group["gunicorn"] / per_transfer, 2),
                "postgres_cpu_ms_per_transfer": round(1000 * cpu.group["postgres"] / per_transfer, 2),
                "loadgen_cpu_ms_per_transfer": round(1000 * cpu.children / per_transfer, 3),
                # CPU used by everything else on the machine meanwhile (other people's work): noise.
                "other_processes_cpu_pct": round(
                    100
                    * max(
                        0.0,
                        cpu.machine_busy * cpu.wall * (os.cpu_count() or 1)
                        - cpu.group["gunicorn"]
                        - cpu.group["postgres"]
                        - cpu.children,
                    )
                    / (cpu.wall * (os.cpu_count() or 1)),
                    1,
                ),
                "loadavg_1m_before_after": [round(cpu.load0, 2), round(cpu.load1, 2)],
            },
            "loadgen": loadgen,
            "command": load["command"],
            "sample_refusals": load["stderr"],
        }
    finally:
        server.stop()


def profile_worker(
    pg: Pg,
    args: argparse.Namespace,
    loadgen: str,
    client: dict[str, str],
    accounts_file: Path,
    logdir: Path,
    run_tag: str,
    stamp: str,
) -> dict[str, Any] | None:
    """An extra, unmeasured 16-client run with py-spy sampling one gunicorn worker.

    The profiled server runs one thread per worker (same worker count): py-spy then keeps only
    on-CPU samples (a thread waiting for PostgreSQL or the socket is idle and dropped), whereas
    with several threads a thread waiting for the GIL looks busy. Its --gil mode, meant for that,
    records almost nothing on this CPython 3.11.
    """
    pyspy = shutil.which("py-spy") or str(VENV_BIN / "py-spy")
    if not Path(pyspy).exists():
        log("--profile: py-spy not found (.venv/bin/pip install py-spy); skipped")
        return None
    server = Gunicorn(pg, argparse.Namespace(**{**vars(args), "threads": 1}), logdir)
    try:
        server.wait_ready(args.workers)
        token = get_token(server.url, client)
        run_load(loadgen, server.url, accounts_file, token, f"{run_tag}-pw", 16, max(3, args.warmup))
        worker = server.workers()[0]
        raw = RESULTS / f"profile-{stamp}.collapsed"
        cmd = [pyspy, "record", "-p", str(worker), "-d", str(args.profile), "-r", "200", "-f", "raw", "-o", str(raw)]
        spy = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        with CpuMeter({"worker": [worker]}) as cpu:
            load = run_load(loadgen, server.url, accounts_file, token, f"{run_tag}-pm", 16, args.profile)
        spy.wait(timeout=args.profile + 60)
    finally:
        server.stop()
    report = summarise_profile(raw, top=args.profile_top)
    report["worker_pid"] = worker
    report["server"] = f"{args.worker_class} workers={args.workers} threads=1"
    report["collapsed_file"] = str(raw.relative_to(ROOT))
    report["transfers_per_s_while_profiling"] = round(load["created"] / (load["duration_us"] / 1e6), 1)
    report["profiled_worker_cpu_pct"] = round(100 * cpu.group["worker"] / cpu.wall, 1)
    (RESULTS / f"profile-{stamp}.txt").write_text(report["text"])
    return report


# Where a sample's time goes: the deepest of these frames on its stack names its stage, so the
# stages add up to 100 % of the worker's on-CPU samples.
PROFILE_STAGES = [
    ("handle (", "gunicorn: read/parse HTTP, write response, keep-alive"),
    ("__call__ (django/core/handlers/wsgi.py", "Django: WSGI request/response, middleware chain"),
    ("dispatch (rest_framework/", "DRF: request wrap, authentication, scopes, finalize/render"),
    ("valid (apps/api/", "parse JSON body + validate TransferIn"),
    ("respond_idempotently (", "idempotency: fingerprint, record INSERT, transaction"),
    ("transfer_submit (", "transfer: checks, risk screening"),
    ("accounts_lock_for_movement (", "transfer: lock both accounts (one SELECT ... FOR UPDATE)"),
    ("_post (", "transfer: _post (entry, postings and balances in one statement)"),
    ("_posted (", "response body (transaction_out)"),
]
# And, orthogonally, which library the on-CPU frame (the leaf) belongs to.
PROFILE_LIBRARIES = [
    ("psycopg/", "psycopg (driver)"),
    ("django/db/", "django.db (ORM, compiler, transactions)"),
    ("rest_framework/", "DRF"),
    ("django/", "django (other)"),
    ("gunicorn/", "gunicorn"),
    ("apps/", "finsys apps"),
    ("oauth2_provider/", "django-oauth-toolkit"),
]


# Leaf frames that are a system call: sending to or waiting for PostgreSQL, the client socket,
# epoll. py-spy counts a thread there as active when it is runnable (waiting for one of the two
# busy CPUs after the call returns), so these samples are mostly run-queue wait, not Python work.
SYSCALL_LEAVES = (
    "select (selectors.py",
    "wait (psycopg/",
    "_execute_send (psycopg/",
    "_exec_command (psycopg/",
    "write (gunicorn/util.py",
    "defer (gunicorn/",
    "notify (gunicorn/",
)


def bare_frame(frame: str) -> str:
    """A py-spy frame without its class qualifier and line: py-spy 0.4 writes
    `Connection.wait (psycopg/connection.py:479)`, 0.3 `wait (psycopg/connection.py:479)` (0.4
    cannot unwind thread-pool threads on this Python, so both are in use)."""
    return re.sub(r"^[A-Za-z_][\w]*\.(?=[\w<>]+ \()", "", re.sub(r":\d+\)$", ")", frame))


def summarise_profile(path: Path, top: int = 25) -> dict[str, Any]:
    """Where one worker's Python work goes: per stage, per library, per function.

    Samples whose leaf is a system call (SYSCALL_LEAVES) are counted apart; every percentage
    below is of the remaining samples, the Python work."""
    inclusive: collections.Counter[str] = collections.Counter()
    self_time: collections.Counter[str] = collections.Counter()
    stages: collections.Counter[str] = collections.Counter()
    libraries: collections.Counter[str] = collections.Counter()
    syscalls: collections.Counter[str] = collections.Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [bare_frame(f) for f in stack.split(";")]
        if frames[-1].startswith(SYSCALL_LEAVES):
            syscalls[frames[-1]] += count
            continue
        total += count
        for frame in set(frames):
            inclusive[frame] += count
        self_time[frames[-1]] += count
        stage = "other (worker loop, thread pool)"
        for frame in frames:  # root to leaf: the deepest marker wins
            for marker, name in PROFILE_STAGES:
                if frame.startswith(marker):
                    stage = name
        stages[stage] += count
        leaf = frames[-1]
        libraries[next((name for marker, name in PROFILE_LIBRARIES if marker in leaf), "stdlib and other")] += count
    total = max(1, total)

    def pct(counter: collections.Counter[str], n: int) -> list[list[Any]]:
        return [[f, round(100 * c / total, 1)] for f, c in counter.most_common(n)]

    at_syscalls = sum(syscalls.values())
    lines = [
        f"py-spy samples: {total + at_syscalls}; at a system call (send/poll/epoll, or runnable after one): "
        f"{at_syscalls} ({100 * at_syscalls / max(1, total + at_syscalls):.1f} %); Python work: {total}",
        "Percentages below are of the Python-work samples.",
        "",
        "stage %  stage",
    ]
    lines += [f"{p:6.1f}  {f}" for f, p in pct(stages, 50)]
    lines += ["", "lib %  library of the on-CPU frame"]
    lines += [f"{p:6.1f}  {f}" for f, p in pct(libraries, 50)]
    lines += ["", "self %  function (file)"]
    lines += [f"{p:6.1f}  {f}" for f, p in pct(self_time, top)]
    lines += ["", "incl %  function (file)"]
    lines += [f"{p:6.1f}  {f}" for f, p in pct(inclusive, top * 4)]
    lines += ["", "samples at system calls (not in the percentages above)"]
    lines += [f"{c:6d}  {f}" for f, c in syscalls.most_common()]
    return {
        "samples": total,
        "samples_at_syscalls": at_syscalls,
        "stages": pct(stages, 50),
        "libraries": pct(libraries, 50),
        "top_self": pct(self_time, top),
        "top_inclusive": pct(inclusive, top * 4),
        "text": "\n".join(lines) + "\n",
    }


def ledger_after(pg: Pg, client_id: str) -> dict[str, Any]:
    out = manage(pg, "check_ledger", capture=True)
    entries, keyed = pg.psql(
        f"SELECT (SELECT count(*) FROM transactions_journalentry WHERE created_by = 'client:{client_id}'), "
        f"(SELECT count(*) FROM common_idempotencyrecord WHERE principal = 'client:{client_id}' AND status_code = 201)"
    ).split("|")
    return {
        "passed": out.returncode == 0,
        "output": (out.stdout.strip() or out.stderr.strip())[-2000:],
        "api_entries": int(entries),
        "api_idempotency_records_201": int(keyed),
        **ledger_size(pg),
    }


# --- report ---------------------------------------------------------------------------------


def met(flag: bool | None) -> str:
    return "n/a" if flag is None else ("met" if flag else "NOT MET")


def evaluate(results: dict[str, Any]) -> dict[str, Any]:
    runs = {r["clients"]: r for r in results["runs"]}
    led = results["ledger"]
    r16, r64 = runs.get(16), runs.get(TARGET_ERRORS_AT)
    targets = {
        "ratio_at_16": {
            "target": f">= {TARGET_RATIO}",
            "value": r16["ratio"] if r16 else None,
            "met": (r16["ratio"] >= TARGET_RATIO) if r16 and r16["ratio"] is not None else None,
        },
        "p99_ms_at_16": {
            "target": f"<= {TARGET_P99_MS:g}",
            "value": r16["api"]["latency_ms"]["p99"] if r16 else None,
            "met": (r16["api"]["latency_ms"]["p99"] <= TARGET_P99_MS) if r16 else None,
        },
        "errors_at_64": {
            "target": "0",
            "value": r64["api"]["errors"] if r64 else None,
            "met": (r64["api"]["errors"] == 0) if r64 else None,
        },
        "check_ledger": {"target": "passes", "value": results["ledger"]["passed"], "met": results["ledger"]["passed"]},
        "one_entry_per_201": {
            "target": "entries by the bench client == its stored 201s, >= 201s read (+ at most the in-flight at stops)",
            "value": f"{led['api_entries']} entries, {led['api_idempotency_records_201']} stored 201s, "
            f"{results['api_201_total']} 201s read (+ <= {results['api_in_flight_bound']} in flight)",
            "met": led["api_entries"] == led["api_idempotency_records_201"]
            and 0 <= led["api_entries"] - results["api_201_total"] <= results["api_in_flight_bound"],
        },
    }
    return targets


def markdown(results: dict[str, Any]) -> str:
    m, cfg = results["machine"], results["config"]
    lines = [
        f"# Transfer benchmark {results['started_at']}",
        "",
        f"`{results['command']}`",
        "",
        f"- machine: {m['nproc']} CPUs, {m['platform']}, PostgreSQL {m['postgres_version']} "
        f"(shared_buffers {m['pg_shared_buffers']}, synchronous_commit {m['pg_synchronous_commit']}), "
        f"loadavg at start {m['loadavg_start']}",
        f"- code: {m['git_commit']}{' (dirty tree)' if m['git_dirty'] else ''}",
        f"- ledger before the runs: {results['ledger_before']['entries']:,} entries, "
        f"{results['ledger_before']['postings']:,} postings; {results['seed']['count']} CNY accounts; "
        f"prefill {cfg['prefill_entries']:,} entries",
        f"- our stack: gunicorn {cfg['worker_class']} workers={cfg['workers']} threads={cfg['threads']}, "
        f"DEBUG=0, OAuth2 bearer token, unique Idempotency-Key per request, load generator {cfg['loadgen']}; "
        f"raw SQL: pgbench -M {cfg['pgbench_protocol']} -j 2; {cfg['duration']} s per run after {cfg['warmup']} s warm-up",
        "",
        "| clients | raw SQL tps | API transfers/s | API / raw | p50 ms | p95 ms | p99 ms | errors | "
        "app CPU ms/transfer | DB CPU ms/transfer | machine busy % | others' CPU % |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for run in results["runs"]:
        api, raw = run["api"], run["raw"]
        lat = api["latency_ms"]
        lines.append(
            f"| {run['clients']} | {raw['tps'] if raw else '-'} | {api['transfers_per_s']} | "
            f"{run['ratio'] if run['ratio'] is not None else '-'} | {lat['p50']} | {lat['p95']} | {lat['p99']} | "
            f"{api['errors']} | {api['cpu']['gunicorn_cpu_ms_per_transfer']} | "
            f"{api['cpu']['postgres_cpu_ms_per_transfer']} | {api['cpu']['machine_busy_pct']} | "
            f"{api['cpu']['other_processes_cpu_pct']} |"
        )
    led = results["ledger"]
    lines += [
        "",
        f"check_ledger after the load: **{'passed' if led['passed'] else 'FAILED'}** ({led['output'].splitlines()[-1] if led['output'] else ''})",
        "",
        "| target | wanted | measured | |",
        "|---|---|---|---|",
    ]
    for name, t in results["targets"].items():
        lines.append(f"| {name} | {t['target']} | {t['value']} | {met(t['met'])} |")
    if results.get("profile"):
        prof = results["profile"]
        lines += [
            "",
            f"## Profile of one gunicorn worker (py-spy, 16 clients, {prof['server']}, "
            f"{prof['transfers_per_s_while_profiling']} transfers/s while profiling)",
            "",
            f"{prof['samples']} samples of Python work (another {prof['samples_at_syscalls']} sat at a "
            "system call: sending to or awaiting PostgreSQL or the client, or runnable after one).",
            "",
            "| % of Python work | stage |",
            "|---:|---|",
        ]
        lines += [f"| {pct} | {f} |" for f, pct in prof["stages"]]
        lines += ["", "| % | library of the on-CPU frame |", "|---:|---|"]
        lines += [f"| {pct} | {f} |" for f, pct in prof["libraries"]]
        lines += ["", "| self % | function |", "|---:|---|"]
        lines += [f"| {pct} | `{f}` |" for f, pct in prof["top_self"][:15]]
        lines += ["", f"Full listing: {prof['collapsed_file'].replace('.collapsed', '.txt')}"]
    lines += [
        "",
        "Absolute numbers on a shared 2-core machine are noisy (other work shares the CPUs: the "
        "others' CPU % column, and the load averages in the JSON); the raw and API runs of one client "
        "count are measured back to back, so the ratio is the figure to compare.",
        "",
    ]
    return "\n".join(lines)


def machine_info(pg: Pg) -> dict[str, Any]:
    def git(*a: str) -> str:
        return subprocess.run(["git", *a], cwd=ROOT, capture_output=True, text=True).stdout.strip()

    settings = dict(
        line.split("|", 1)
        for line in pg.psql(
            "SELECT name, setting || coalesce(unit, '') FROM pg_settings "
            "WHERE name IN ('server_version', 'shared_buffers', 'synchronous_commit', 'max_connections', 'fsync')",
            db="postgres",
        ).splitlines()
    )
    return {
        "nproc": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "postgres_version": settings.get("server_version"),
        "pg_shared_buffers": settings.get("shared_buffers"),
        "pg_synchronous_commit": settings.get("synchronous_commit"),
        "pg_max_connections": settings.get("max_connections"),
        "pg_fsync": settings.get("fsync"),
        "loadavg_start": [round(x, 2) for x in os.getloadavg()],
        "git_commit": git("rev-parse", "--short", "HEAD"),
        "git_dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
    }


def add_database_arguments(parser: argparse.ArgumentParser, db_name: str) -> None:
    """The bench's own database (`--db-name`, default `db_name`) and the PostgreSQL server it is
    on (`--pg-*`, or BENCH_PGHOST / BENCH_PGPORT / BENCH_PGUSER / BENCH_PGPASSWORD): every bench."""
    parser.add_argument("--db-name", default=db_name)
    parser.add_argument("--pg-host", default=os.environ.get("BENCH_PGHOST", "127.0.0.1"))
    parser.add_argument("--pg-port", type=int, default=int(os.environ.get("BENCH_PGPORT", "5432")))
    parser.add_argument("--pg-user", default=os.environ.get("BENCH_PGUSER", "postgres"))
    parser.add_argument("--pg-password", default=os.environ.get("BENCH_PGPASSWORD", ""))


def save_results(name: str, stamp: str, results: dict[str, Any], text: str) -> None:
    """`bench/results/<name>-<stamp>.json` and `.md`, and `<name>-latest.md`."""
    RESULTS.mkdir(exist_ok=True)
    base = RESULTS / f"{name}-{stamp}"
    base.with_suffix(".json").write_text(json.dumps(results, indent=2) + "\n")
    base.with_suffix(".md").write_text(text)
    (RESULTS / f"{name}-latest.md").write_text(text)
    log(f"wrote {base.with_suffix('.json').relative_to(ROOT)} and .md, bench/results/{name}-latest.md")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--duration", type=int, default=30, help="seconds per measured run (default 30)")
    p.add_argument("--warmup", type=int, default=5, help="unmeasured seconds before each API run (default 5)")
    p.add_argument("--clients", default="16,64", help="comma-separated concurrent clients (default 16,64)")
    p.add_argument("--prefill-entries", type=int, default=1_000_000, help="historical entries (default 1,000,000)")
    p.add_argument("--accounts", type=int, default=1000, help="funded CNY accounts (default 1000)")
    p.add_argument("--opening", default="1000000.00", help="opening deposit per account, CNY")
    add_database_arguments(p, os.environ.get("BENCH_DB", "finsys_bench"))
    p.add_argument(
        "--db-url-options",
        default="",
        help='query string added to the app\'s DATABASE_URL (django-environ OPTIONS), e.g. "server_side_binding=true"',
    )
    p.add_argument("--reuse-db", action="store_true", help="keep the existing bench database (no recreate/prefill)")
    p.add_argument("--skip-raw", action="store_true", help="API runs only (for tuning gunicorn by hand)")
    p.add_argument("--pgbench-protocol", default="simple", choices=["simple", "extended", "prepared"])
    p.add_argument("--loadgen", default="auto", choices=["auto", "wrk", "python"])
    p.add_argument("--workers", type=int, default=int(os.environ.get("GUNICORN_WORKERS", DEFAULT_WORKERS)))
    p.add_argument("--threads", type=int, default=int(os.environ.get("GUNICORN_THREADS", DEFAULT_THREADS)))
    p.add_argument("--worker-class", default=os.environ.get("GUNICORN_WORKER_CLASS", DEFAULT_WORKER_CLASS))
    p.add_argument("--profile", type=int, default=0, help="then profile one worker with py-spy for N seconds")
    p.add_argument("--profile-top", type=int, default=25)
    p.add_argument("--tag", default="", help="a label stored with the results")
    p.add_argument("--strict", action="store_true", help="exit 1 when a performance target is not met")
    p.add_argument("--no-save", action="store_true", help="print the results, write nothing under bench/results")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    clients = [int(c) for c in args.clients.split(",") if c.strip()]
    if args.duration <= 0 or not clients or min(clients) < 1:
        raise SystemExit("--duration and --clients must be positive")
    for tool in ("psql", "pgbench"):
        if not shutil.which(tool):
            raise SystemExit(f"{tool} not found (apt-get install -y postgresql-client)")
    for tool in ("python", "gunicorn"):
        if not (VENV_BIN / tool).exists():
            raise SystemExit(f".venv/bin/{tool} not found: run `make bench-transfers` (it installs the venv)")
    loadgen = pick_loadgen(args.loadgen)
    pg = Pg(args)
    started = dt.datetime.now(dt.UTC)
    stamp = started.strftime("%Y%m%dT%H%M%SZ")
    workdir = Path(tempfile.mkdtemp(prefix="finsys-bench-"))
    log(f"work files and gunicorn logs in {workdir}")

    results: dict[str, Any] = {
        "started_at": started.isoformat(timespec="seconds"),
        "command": " ".join([".venv/bin/python", "bench/transfers.py", *(argv if argv is not None else sys.argv[1:])]),
        "tag": args.tag,
        "machine": machine_info(pg),
        "config": {
            "duration": args.duration,
            "warmup": args.warmup,
            "clients": clients,
            "prefill_entries": 0 if args.reuse_db else args.prefill_entries,
            "accounts": args.accounts,
            "workers": args.workers,
            "threads": args.threads,
            "worker_class": args.worker_class,
            "loadgen": loadgen,
            "pgbench_protocol": args.pgbench_protocol,
            "database": f"{pg.host}:{pg.port}/{pg.db}",
            "db_url_options": args.db_url_options,
        },
    }
    seed = existing_accounts(pg) if args.reuse_db else prepare_database(pg, args, workdir)
    results["seed"] = {k: v for k, v in seed.items() if k != "public_ids"}
    results["ledger_before"] = ledger_size(pg)
    accounts_file = workdir / "accounts.txt"
    accounts_file.write_text("\n".join(seed["public_ids"]) + "\n")
    client = create_client(pg)
    run_tag = f"{stamp}-{os.getpid()}"

    runs = []
    for n in clients:
        raw = None
        if not args.skip_raw:
            log(f"raw SQL: pgbench {n} clients, {args.duration}s")
            raw = run_pgbench(pg, seed, n, args.duration, args.pgbench_protocol)
            log(f"  raw SQL {n} clients: {raw['tps']} tps")
        log(f"API: {loadgen} {n} clients, {args.warmup}s warm-up + {args.duration}s")
        api = run_api(pg, args, loadgen, client, accounts_file, n, workdir, run_tag)
        ratio = round(api["transfers_per_s"] / raw["tps"], 3) if raw and raw["tps"] else None
        log(
            f"  API {n} clients: {api['transfers_per_s']} transfers/s, p50/p95/p99 "
            f"{api['latency_ms']['p50']}/{api['latency_ms']['p95']}/{api['latency_ms']['p99']} ms, "
            f"{api['errors']} errors, ratio {ratio}"
        )
        runs.append({"clients": n, "raw": raw, "api": api, "ratio": ratio})
    results["runs"] = runs

    if args.profile:
        log(f"profiling one gunicorn worker with py-spy for {args.profile}s (not part of the measured runs)")
        results["profile"] = profile_worker(pg, args, loadgen, client, accounts_file, workdir, run_tag, stamp)

    log("check_ledger")
    results["ledger"] = ledger_after(pg, client["client_id"])
    # Every 201 (warm-ups and profiling runs included) must be exactly one entry by the bench client.
    results["api_201_total"] = CREATED_TOTAL[0]
    results["api_in_flight_bound"] = IN_FLIGHT_BOUND[0]
    results["targets"] = evaluate(results)
    results["finished_at"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    text = markdown(results)
    print(text)
    if not args.no_save:
        RESULTS.mkdir(exist_ok=True)
        base = RESULTS / f"transfers-{stamp}"
        base.with_suffix(".json").write_text(json.dumps(results, indent=2) + "\n")
        base.with_suffix(".md").write_text(text)
        (RESULTS / "latest.md").write_text(text)
        (RESULTS / "latest.json").write_text(json.dumps(results, indent=2) + "\n")
        log(f"wrote {base.with_suffix('.json').relative_to(ROOT)} and .md, bench/results/latest.md")
    targets = results["targets"]
    if not (targets["check_ledger"]["met"] and targets["one_entry_per_201"]["met"]):
        return 2  # the ledger is wrong: always a failure
    if args.strict and any(t["met"] is False for t in targets.values()):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
