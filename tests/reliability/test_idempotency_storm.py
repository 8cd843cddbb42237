"""An idempotency storm (issue 9): the same 50 requests, each sent 20 times at once, through the
real web server.

gunicorn (2 workers x 4 threads, so copies race across processes as well as threads) runs on the
test database and a redis-server of the test's own. Forty client threads send the 1,000 copies;
the 20 copies of one request are queued back to back, so they are in flight together. 45 of the
requests are transfers between six funded accounts; 5 come from an account that cannot pay and
must be refused (`insufficient_funds`) however they race. The checker then proves, for each
request: its 20 answers are identical; exactly one of them ran it (19 carry
`Idempotent-Replayed: true`); one idempotency record; an acknowledged transfer is in the ledger
once with its amount and accounts, a refused one nowhere; every balance equals its opening plus
what the acknowledged transfers moved; `ledger_check` passes.
"""

from __future__ import annotations

import json
import random
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from apps.accounts.models import Account
from apps.common.models import IdempotencyRecord
from apps.transactions.ledger_check import ledger_check
from apps.transactions.models import EntryKind, JournalEntry, Posting
from tests.processes import Processes, RedisServer, api_token, start_gunicorn
from tests.processes import test_database_url as database_url
from tests.reliability.report import Section
from tests.reliability.support import server_env

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

REQUESTS = 50
COPIES = 20
REFUSED = 5  # of the REQUESTS, sent from an account that cannot pay
ACCOUNTS = 6
OPENING = Decimal("1000.00")
THREADS = 40


def _post(base: str, token: str, body: dict[str, Any], key: str) -> tuple[str, int, Any, bool]:
    """One send; returns (key, status, JSON body, replayed). No retry: nothing fails here."""
    request = urllib.request.Request(
        f"{base}/api/v1/transfers/",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}", "Idempotency-Key": key},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            replayed = response.headers.get("Idempotent-Replayed") == "true"
            return key, response.status, json.loads(response.read()), replayed
    except urllib.error.HTTPError as error:
        replayed = error.headers.get("Idempotent-Replayed") == "true"
        return key, error.code, json.loads(error.read() or b"null"), replayed


def test_the_same_50_requests_sent_20_times_at_once_run_once_each_and_answer_identically(
    processes: Processes,
    own_redis: RedisServer,
    make_account: Callable[..., Account],
    tmp_path: Path,
    reliability: Callable[[str], Section],
) -> None:
    storm = reliability("idempotency storm")
    began = time.monotonic()
    with storm.timed():
        accounts = [make_account(balance=OPENING) for _ in range(ACCOUNTS)]
        poor = make_account(balance="1.00")
        public = {str(a.public_id): a.pk for a in [*accounts, poor]}
        env = server_env(database_url(), own_redis.url)
        web, base = start_gunicorn(env, log=tmp_path / "web.log")
        processes.add(web)
        storm.details["setup_seconds"] = round(storm.seconds + time.monotonic() - began, 1)
        token = api_token(base, name="storm")

        rng = random.Random(9)
        requests: dict[str, dict[str, Any]] = {}
        for n in range(REQUESTS):
            if n < REFUSED:
                source, target, amount = poor, rng.choice(accounts), "10.00"
            else:
                source, target = rng.sample(accounts, 2)
                amount = str(Decimal(rng.randint(1, 500)) / 100)
            key = str(uuid.uuid4())
            requests[key] = {
                "from_account": str(source.public_id),
                "to_account": str(target.public_id),
                "amount": amount,
                "currency": "CNY",
                "reference": key,
            }
        # The copies of one request back to back: with THREADS senders they are in flight together.
        sends = [key for key in requests for _copy in range(COPIES)]
        started = time.monotonic()
        with ThreadPoolExecutor(THREADS) as pool:
            answers = list(pool.map(lambda key: _post(base, token, requests[key], key), sends))
        storm.details["storm_seconds"] = round(time.monotonic() - started, 1)

        storm.requests = len(answers)
        by_key: dict[str, list[tuple[int, Any, bool]]] = defaultdict(list)
        for key, status, body, replayed in answers:
            by_key[key].append((status, body, replayed))
        statuses = Counter(status for _key, status, _body, _replayed in answers)
        acknowledged = {key: got[0][1] for key, got in by_key.items() if got[0][0] == 201}
        entries = list(JournalEntry.objects.filter(kind=EntryKind.TRANSFER, reference__in=list(requests)))
        applied = Counter(entry.reference for entry in entries)
        storm.lost = sum(1 for key in acknowledged if not applied[key])
        storm.details.update(
            statuses=dict(statuses),
            replayed=sum(1 for *_rest, replayed in answers if replayed),
            applied_twice=sum(1 for n in applied.values() if n > 1),
        )
        print(json.dumps(storm.details))

        with storm.check("every send answered 201 or 422 insufficient_funds: no 5xx, no 409"):
            assert set(statuses) <= {201, 422}, statuses
            assert {body["code"] for _k, status, body, _r in answers if status == 422} <= {"insufficient_funds"}
        with storm.check("the 20 answers to one request are identical"):
            assert len(by_key) == REQUESTS
            assert all(len(got) == COPIES for got in by_key.values())
            different = [
                key for key, got in by_key.items() if len({json.dumps(g[:2], sort_keys=True) for g in got}) != 1
            ]
            assert not different, sorted({json.dumps(g[:2], sort_keys=True) for g in by_key[different[0]]})
            assert len(acknowledged) == REQUESTS - REFUSED
        with storm.check("each request ran once: one original answer and 19 replays"):
            ran = Counter(key for key, _status, _body, replayed in answers if not replayed)
            assert ran == dict.fromkeys(requests, 1), ran
            assert IdempotencyRecord.objects.filter(key__in=list(requests)).count() == REQUESTS
        with storm.check("each acknowledged transfer is in the ledger once, as acknowledged; refused ones nowhere"):
            assert set(applied) == set(acknowledged)
            assert set(applied.values()) == {1}
            for entry in entries:
                sent, answer = requests[entry.reference], acknowledged[entry.reference]
                assert str(entry.public_id) == answer["id"]
                legs = set(Posting.objects.filter(entry=entry).values_list("account_id", "amount"))
                moved = Decimal(sent["amount"])
                assert legs == {(public[sent["from_account"]], -moved), (public[sent["to_account"]], moved)}
        with storm.check("each balance is its opening plus the acknowledged transfers (no money created or lost)"):
            expected = {pk: OPENING for pk in public.values()}
            expected[poor.pk] = Decimal("1.00")
            for key in acknowledged:
                sent = requests[key]
                expected[public[sent["from_account"]]] -= Decimal(sent["amount"])
                expected[public[sent["to_account"]]] += Decimal(sent["amount"])
            assert {a.pk: a.balance for a in Account.objects.filter(pk__in=expected)} == expected
        with storm.check("ledger_check passes"):
            assert ledger_check().ok
