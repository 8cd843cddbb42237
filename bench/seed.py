"""Seed the benchmark bank through the services: N verified customers, one funded CNY account each.

Run by bench/transfers.py as `.venv/bin/python bench/seed.py --accounts N --out FILE` with
DATABASE_URL pointing at the benchmark database. Every customer, KYC decision, account and
opening deposit goes through apps.*.services, so the ledger is consistent from the start.
The accounts get consecutive ids (one process, one transaction), which the pgbench script uses.
Writes {"first_id", "last_id", "count", "public_ids": [...]} to --out.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--opening", default="1000000.00", help="opening deposit per account (CNY)")
    parser.add_argument("--out", required=True)
    parser.add_argument("--seed", type=int, default=20240601)
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT))
    from finsys.settings import default_module

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", default_module())
    import django

    django.setup()

    from django.db import transaction
    from django.utils import timezone

    from apps.accounts.models import Account
    from apps.accounts.services import account_open
    from apps.common.money import Money
    from apps.common.principals import Actor, Channel
    from apps.customers.identity import china_resident_id_for
    from apps.customers.models import CustomerKind, KycStatus
    from apps.customers.services import customer_create, customer_decide_kyc
    from apps.transactions.services import deposit_create

    actor = Actor(label="system:bench", channel=Channel.SYSTEM)
    rng = random.Random(args.seed)
    opening = Money(Decimal(args.opening), "CNY")
    # Opening deposits are booked long before the prefilled history (which ends an hour ago).
    booked_at = timezone.now() - dt.timedelta(days=400)
    started = time.monotonic()
    accounts: list[Account] = []
    with transaction.atomic():
        for n in range(args.accounts):
            birth = dt.date(1960, 1, 1) + dt.timedelta(days=n // 1000 * 7 + rng.randrange(7))
            customer = customer_create(
                actor=actor,
                kind=CustomerKind.INDIVIDUAL,
                full_name=f"Bench Customer {n:06d}",
                national_id=china_resident_id_for(birth, n % 1000, "110105"),
                country="CN",
                date_of_birth=birth,
            )
            customer = customer_decide_kyc(actor=actor, customer=customer, decision=KycStatus.VERIFIED)
            account = account_open(actor=actor, customer=customer, currency="CNY")
            deposit_create(
                actor=actor, account=account.public_id, money=opening, reference="bench opening", booked_at=booked_at
            )
            accounts.append(account)
    ids = [a.pk for a in accounts]
    if ids != list(range(ids[0], ids[0] + len(ids))):
        raise SystemExit("bench accounts did not get consecutive ids; is another process writing this database?")
    Path(args.out).write_text(
        json.dumps(
            {
                "first_id": ids[0],
                "last_id": ids[-1],
                "count": len(ids),
                "opening": args.opening,
                "public_ids": [str(a.public_id) for a in accounts],
            }
        )
    )
    print(f"seeded {len(ids)} accounts in {time.monotonic() - started:.1f}s", file=sys.stderr)


if __name__ == "__main__":
    main()
