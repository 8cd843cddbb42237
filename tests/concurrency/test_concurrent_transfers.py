"""Many threads move money through the HTTP API at once: nothing is lost, created or overdrawn.

Each thread is its own HTTP client (django.test.Client, the real views, idempotency and ledger
code) on its own PostgreSQL connection; the data is committed, so every thread sees it.
"""

from __future__ import annotations

import random
import threading
import uuid
from collections import Counter, defaultdict
from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db.models import Sum

from apps.accounts.models import Account, Hold, HoldStatus
from apps.transactions.models import EntryKind, JournalEntry, Posting
from tests.concurrency import ThreadClient, run_in_threads

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

SEED = 20_26_11_25
CENT = Decimal("0.01")


def _random_amount(rng: random.Random, low: str, high: str) -> Decimal:
    cents = rng.randint(int(Decimal(low) * 100), int(Decimal(high) * 100))
    return (Decimal(cents) * CENT).quantize(CENT)


def _assert_postings_never_overdrew_and_chain(accounts: list[Account]) -> None:
    """Every posting's balance_after stays within the account's limit, and each one equals the
    previous balance plus its amount (a lost update would break the chain), ending at the
    cached balance."""
    by_pk = {account.pk: account for account in accounts}
    running: dict[int, Decimal] = defaultdict(Decimal)
    for account_id, amount, balance_after in (
        Posting.objects.filter(account_id__in=by_pk).order_by("id").values_list("account_id", "amount", "balance_after")
    ):
        limit = by_pk[account_id].overdraft_limit
        assert balance_after >= -limit, f"{by_pk[account_id].number} went to {balance_after} (limit {limit})"
        running[account_id] += amount
        assert balance_after == running[account_id], f"{by_pk[account_id].number}: balance chain broken"
    for account in accounts:
        account.refresh_from_db()
        assert account.balance == running[account.pk]


def _check_ledger_passes() -> None:
    out = StringIO()
    call_command("check_ledger", stdout=out)
    assert "ledger ok" in out.getvalue()


@pytest.mark.slow
def test_2000_random_concurrent_transfers_conserve_money_never_overdraw_and_answer_once_each(api, make_account):
    rng = random.Random(SEED)
    accounts = [make_account(balance=str(_random_amount(rng, "0", "1000"))) for _ in range(20)]
    for account in accounts:
        assert account.overdraft_limit == 0  # so any negative balance_after below is a real overdraft
    total_before = sum(account.balance for account in accounts)
    transfers_before = JournalEntry.objects.filter(kind=EntryKind.TRANSFER).count()

    threads, per_thread = 16, 125
    plans = []
    for _ in range(threads):
        plan = []
        for _ in range(per_thread):
            source, target = rng.sample(accounts, 2)
            # Mostly small amounts; one in five large, often more than the source holds: refused.
            amount = _random_amount(rng, "0.01", "150") if rng.random() < 0.8 else _random_amount(rng, "150", "3000")
            plan.append((str(source.public_id), str(target.public_id), amount))
        plans.append(plan)

    def worker(plan: list[tuple[str, str, Decimal]]) -> list[tuple[Decimal, int, Any]]:
        client = ThreadClient(api.token)
        answers = []
        for source, target, amount in plan:
            body = {"from_account": source, "to_account": target, "amount": f"{amount}", "currency": "CNY"}
            response = client.post("/api/v1/transfers/", body, key=str(uuid.uuid4()))
            answers.append((amount, response.status_code, response.json()))
        return answers

    results = run_in_threads([lambda plan=plan: worker(plan) for plan in plans], timeout=120)
    answers = [answer for thread_answers in results for answer in thread_answers]
    assert len(answers) == threads * per_thread

    statuses = Counter(status for _amount, status, _body in answers)
    assert set(statuses) <= {201, 422}, statuses  # no 5xx, nothing unexpected
    refusals = Counter(body["code"] for _amount, status, body in answers if status == 422)
    assert set(refusals) == {"insufficient_funds"}, refusals
    assert statuses[201] >= 500, statuses  # both paths really ran
    assert statuses[422] >= 50, statuses

    created = [body for _amount, status, body in answers if status == 201]
    ids = [body["id"] for body in created]
    assert len(set(ids)) == len(ids)
    assert JournalEntry.objects.filter(kind=EntryKind.TRANSFER).count() - transfers_before == len(created)
    assert JournalEntry.objects.filter(public_id__in=ids, kind=EntryKind.TRANSFER).count() == len(ids)
    for amount, status, body in answers:
        if status == 201:
            assert Decimal(body["amount"]) == amount
            assert body["status"] == "posted"

    for account in accounts:
        account.refresh_from_db()
    assert sum(account.balance for account in accounts) == total_before
    _assert_postings_never_overdrew_and_chain(accounts)
    _check_ledger_passes()


@pytest.mark.slow
def test_concurrent_deposits_withdrawals_transfers_and_holds_never_show_readers_a_negative_available(api, make_account):
    rng = random.Random(SEED + 1)
    accounts = [make_account(balance=str(_random_amount(rng, "0", "300"))) for _ in range(10)]
    ids = [str(account.public_id) for account in accounts]
    total_before = sum(account.balance for account in accounts)
    kinds = (EntryKind.DEPOSIT, EntryKind.WITHDRAWAL, EntryKind.TRANSFER)
    entries_before = {kind: JournalEntry.objects.filter(kind=kind).count() for kind in kinds}

    writers, ops_per_writer, readers = 8, 60, 4
    writers_left = [writers]
    writers_left_lock = threading.Lock()
    writers_done = threading.Event()

    def writer(seed: int) -> list[tuple[str, Decimal, int, Any]]:
        wrng = random.Random(seed)
        client = ThreadClient(api.token)
        answers: list[tuple[str, Decimal, int, Any]] = []
        my_holds: list[str] = []
        try:
            for _ in range(ops_per_writer):
                roll = wrng.random()
                amount = _random_amount(wrng, "0.01", "200")
                if roll < 0.2:
                    op, path = "deposit", "/api/v1/deposits/"
                    body: dict[str, Any] = {"account": wrng.choice(ids), "amount": f"{amount}", "currency": "CNY"}
                elif roll < 0.45:
                    op, path = "withdrawal", "/api/v1/withdrawals/"
                    body = {"account": wrng.choice(ids), "amount": f"{amount}", "currency": "CNY"}
                elif roll < 0.8:
                    source, target = wrng.sample(ids, 2)
                    op, path = "transfer", "/api/v1/transfers/"
                    body = {"from_account": source, "to_account": target, "amount": f"{amount}", "currency": "CNY"}
                elif roll < 0.9 or not my_holds:
                    op, path = "hold", "/api/v1/holds/"
                    body = {"account": wrng.choice(ids), "amount": f"{amount}", "currency": "CNY"}
                else:
                    hold_id = my_holds.pop(wrng.randrange(len(my_holds)))
                    op, path, body = "release", f"/api/v1/holds/{hold_id}/release/", {}
                response = client.post(path, body, key=str(uuid.uuid4()))
                answers.append((op, amount, response.status_code, response.json()))
                if op == "hold" and response.status_code == 201:
                    my_holds.append(response.json()["id"])
        finally:
            with writers_left_lock:
                writers_left[0] -= 1
                if writers_left[0] == 0:
                    writers_done.set()
        return answers

    def reader(seed: int) -> tuple[int, list[str]]:
        rrng = random.Random(seed)
        client = ThreadClient(api.token)
        reads, wrong = 0, []
        while not writers_done.is_set():
            response = client.get(f"/api/v1/accounts/{rrng.choice(ids)}/")
            if response.status_code != 200:
                wrong.append(f"status {response.status_code}")
                continue
            account = response.json()
            balance, available = Decimal(account["balance"]), Decimal(account["available"])
            if not (0 <= available <= balance):
                wrong.append(f"{account['number']}: balance {balance}, available {available}")
            reads += 1
        return reads, wrong

    workers: list[Any] = [lambda seed=seed: writer(seed) for seed in range(writers)]
    workers += [lambda seed=seed: reader(1000 + seed) for seed in range(readers)]
    results = run_in_threads(workers, timeout=120)
    answers = [answer for writer_answers in results[:writers] for answer in writer_answers]
    read_results = results[writers:]

    assert sum(reads for reads, _wrong in read_results) >= 50  # the readers really ran alongside
    assert [problem for _reads, wrong in read_results for problem in wrong] == []

    outcomes = Counter((op, status) for op, _amount, status, _body in answers)
    assert {status for _op, status in outcomes} <= {200, 201, 422}, outcomes
    assert {body["code"] for _op, _a, status, body in answers if status == 422} <= {"insufficient_funds"}
    for op in ("deposit", "withdrawal", "transfer", "hold"):
        assert outcomes[(op, 201)] > 0, outcomes
    assert outcomes[("withdrawal", 422)] + outcomes[("transfer", 422)] + outcomes[("hold", 422)] > 0, outcomes
    assert outcomes[("release", 200)] > 0, outcomes

    deposited = sum((amount for op, amount, status, _b in answers if op == "deposit" and status == 201), Decimal(0))
    withdrawn = sum((amount for op, amount, status, _b in answers if op == "withdrawal" and status == 201), Decimal(0))
    for account in accounts:
        account.refresh_from_db()
        assert 0 <= account.available <= account.balance
    assert sum(account.balance for account in accounts) == total_before + deposited - withdrawn
    created = Counter(op for op, _amount, status, _body in answers if status == 201)
    for kind in kinds:
        assert JournalEntry.objects.filter(kind=kind).count() - entries_before[kind] == created[str(kind)], kind
    still_held = Hold.objects.filter(account__in=accounts, status=HoldStatus.ACTIVE).aggregate(total=Sum("amount"))
    assert sum(a.balance - a.available for a in accounts) == (still_held["total"] or 0)
    _assert_postings_never_overdrew_and_chain(accounts)
    _check_ledger_passes()
