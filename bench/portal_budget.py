"""A Lighthouse-style budget for the customer portal: the overview page's server time and the
total transfer size of everything the page loads (HTML + CSS + JS + images).

    .venv/bin/python bench/portal_budget.py                    # 50 requests, SQLite file var/bench-portal.sqlite3
    .venv/bin/python bench/portal_budget.py --requests 200 --strict
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/finsys_bench_portal .venv/bin/python bench/portal_budget.py

1. Uses its own database (a SQLite file under var/, or DATABASE_URL) and migrates it (quick once
   migrated), then makes - once - an individual customer with three accounts and 200 bookings,
   and a portal login for them.
2. Logs in through the real portal login page and requests /portal/ `--requests` times through
   Django's test client with DEBUG off (every middleware, the guard, the queries, the template):
   the server time of each request is measured around the handler; median, p95, max and the
   queries per request are reported.
3. Parses the page for what a browser would fetch (stylesheets, scripts, images; data: URIs are
   part of the HTML) and sizes each file as stored and gzip-compressed (what whitenoise /
   nginx send). Transfer size = the compressed sizes, as Lighthouse counts bytes on the wire.

Prints JSON, then a Markdown table with the budgets (server time median <= 50 ms, p95 <= 150 ms,
total transfer <= 100 KB, requests <= 10). Exit 0; with --strict, 1 when a budget is missed.
Runs in well under a minute once the database is migrated.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BUDGETS = {"server_ms_median": 50.0, "server_ms_p95": 150.0, "transfer_kb": 100.0, "requests": 10}
USERNAME = "bench-portal"
PASSWORD = "Bench-portal-2026!"


def _setup() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("SQLITE_PATH", str(ROOT / "var" / "bench-portal.sqlite3"))
    os.environ["DEBUG"] = "0"
    os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")
    os.environ.pop("REDIS_URL", None)
    from finsys.settings import default_module

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", default_module())
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def _seed() -> None:
    """The bench customer, once: three accounts, 200 bookings, a portal login."""
    import datetime as dt
    from decimal import Decimal

    from django.contrib.auth.models import User

    from apps.accounts.services import account_open, chart_of_accounts_ensure
    from apps.common.money import Money
    from apps.common.principals import Actor, Channel
    from apps.customers.identity import china_resident_id_for
    from apps.customers.services import customer_create, customer_decide_kyc, portal_user_create
    from apps.transactions.services import deposit_create, transfer_create

    if User.objects.filter(username=USERNAME).exists():
        return
    chart_of_accounts_ensure()
    actor = Actor(label="system:bench", channel=Channel.SYSTEM)
    birth = dt.date(1985, 5, 5)
    customer = customer_create(
        actor=actor,
        kind="individual",
        full_name="Portal Bench",
        country="CN",
        national_id=china_resident_id_for(birth, 77),
        date_of_birth=birth,
        email="bench@example.com",
    )
    customer = customer_decide_kyc(actor=actor, customer=customer, decision="verified")
    main = account_open(actor=actor, customer=customer, currency="CNY")
    savings = account_open(actor=actor, customer=customer, currency="CNY")
    account_open(actor=actor, customer=customer, currency="USD")
    deposit_create(actor=actor, account=main.public_id, money=Money(Decimal("100000"), "CNY"))
    for n in range(199):
        transfer_create(
            actor=actor,
            from_account=main.public_id,
            to_account=savings.public_id,
            money=Money(Decimal(n % 50 + 1), "CNY"),
            reference=f"bench {n}",
        )
    user = User.objects.create_user(USERNAME, password=PASSWORD, email="bench@example.com")
    portal_user_create(actor=actor, customer=customer, user=user)


def _assets(html: str) -> list[str]:
    """What a browser fetches for the page: stylesheets, scripts, images (not data: URIs)."""
    found = re.findall(r'<link[^>]+rel="stylesheet"[^>]+href="([^"]+)"', html)
    found += re.findall(r'<script[^>]+src="([^"]+)"', html)
    found += re.findall(r'<img[^>]+src="([^"]+)"', html)
    return [url for url in found if not url.startswith("data:")]


def _static_file(url: str) -> bytes:
    from django.conf import settings
    from django.contrib.staticfiles import finders

    path = url.split("?")[0].removeprefix("/").removeprefix(settings.STATIC_URL.lstrip("/"))
    located = finders.find(path)
    if not located:
        raise SystemExit(f"the page links {url}, which is not a static file")
    return Path(str(located)).read_bytes()


def measure(requests: int) -> dict[str, Any]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    login = client.post("/portal/login/", {"username": USERNAME, "password": PASSWORD})
    if login.status_code != 302:
        raise SystemExit(f"could not log in to the portal: {login.status_code}")
    client.get("/portal/")  # warm: templates compiled, caches filled
    times: list[float] = []
    queries: list[int] = []
    html = b""
    for _ in range(requests):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get("/portal/")
            times.append((time.perf_counter() - started) * 1000)
        queries.append(len(captured.captured_queries))
        assert response.status_code == 200, response.status_code
        html = response.content
    files = [{"url": "/portal/", "kind": "html", "bytes": len(html), "gzip_bytes": len(gzip.compress(html, 6))}]
    for url in _assets(html.decode()):
        body = _static_file(url)
        kind = "css" if url.endswith(".css") else "js" if url.endswith(".js") else "image"
        files.append({"url": url, "kind": kind, "bytes": len(body), "gzip_bytes": len(gzip.compress(body, 6))})
    ordered = sorted(times)
    transfer = sum(f["gzip_bytes"] for f in files)
    return {
        "page": "/portal/",
        "requests_measured": requests,
        "server_ms_median": round(statistics.median(times), 2),
        "server_ms_p95": round(ordered[max(0, int(len(ordered) * 0.95) - 1)], 2),
        "server_ms_max": round(ordered[-1], 2),
        "queries_per_request": max(queries),
        "files": files,
        "requests": len(files),
        "uncompressed_kb": round(sum(f["bytes"] for f in files) / 1024, 1),
        "transfer_kb": round(transfer / 1024, 1),
        "database": connection.vendor,
        "budgets": BUDGETS,
    }


def markdown(result: dict[str, Any]) -> str:
    def row(name: str, value: float, budget: float, unit: str) -> str:
        verdict = "met" if value <= budget else "**missed**"
        return f"| {name} | {value} {unit} | <= {budget} {unit} | {verdict} |"

    lines = [
        f"Portal budget: {result['page']} ({result['requests_measured']} requests, {result['database']}, "
        f"{result['queries_per_request']} queries per request)",
        "",
        "| measure | value | budget | |",
        "|---|---:|---:|---|",
        row("server time, median", result["server_ms_median"], BUDGETS["server_ms_median"], "ms"),
        row("server time, p95", result["server_ms_p95"], BUDGETS["server_ms_p95"], "ms"),
        row("transfer size (gzip)", result["transfer_kb"], BUDGETS["transfer_kb"], "KB"),
        row("requests", result["requests"], BUDGETS["requests"], ""),
        "",
        "| file | kind | bytes | gzip bytes |",
        "|---|---|---:|---:|",
        *[f"| {f['url']} | {f['kind']} | {f['bytes']} | {f['gzip_bytes']} |" for f in result["files"]],
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=50, help="requests to time (default 50)")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a budget is missed")
    args = parser.parse_args()
    _setup()
    _seed()
    result = measure(max(1, args.requests))
    print(json.dumps(result, indent=2))
    print()
    print(markdown(result))
    missed = (
        result["server_ms_median"] > BUDGETS["server_ms_median"]
        or result["server_ms_p95"] > BUDGETS["server_ms_p95"]
        or result["transfer_kb"] > BUDGETS["transfer_kb"]
        or result["requests"] > BUDGETS["requests"]
    )
    return 1 if args.strict and missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
