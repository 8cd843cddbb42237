"""The sealer against concurrent writers on PostgreSQL: nothing skipped, nothing sealed twice,
a row that commits after later ids were sealed still joins the chain, and the chain verifies."""

from __future__ import annotations

import threading
from collections.abc import Callable
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection, transaction

from apps.accounts.models import Account
from apps.audit.models import AuditEvent, ChainLink
from apps.audit.services import audit_record, chain_seal, chains_seal
from apps.common.money import Money
from apps.common.principals import SYSTEM_ACTOR
from apps.transactions.models import JournalEntry
from apps.transactions.services import deposit_create, transfer_create
from tests.concurrency import run_in_threads

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _assert_chain_complete(chain: str, ids: list[int]) -> None:
    links = list(ChainLink.objects.filter(chain=chain).order_by("seq").values_list("seq", "object_id"))
    assert [seq for seq, _object_id in links] == list(range(1, len(ids) + 1))
    assert sorted(object_id for _seq, object_id in links) == sorted(ids)


def test_concurrent_writers_and_sealers_leave_complete_valid_chains(make_account: Callable[..., Account]) -> None:
    accounts = [make_account(balance="1000.00") for _ in range(4)]
    done = threading.Event()

    def writer(n: int) -> None:
        source, target = accounts[n], accounts[(n + 1) % len(accounts)]
        for i in range(15):
            transfer_create(
                actor=SYSTEM_ACTOR,
                from_account=source.public_id,
                to_account=target.public_id,
                money=Money(Decimal("1.00"), "CNY"),
            )
            with transaction.atomic():
                audit_record(actor=f"user:w{n}", action="test.write", detail={"i": i})

    def writers_then_stop(n: int) -> Callable[[], None]:
        def run() -> None:
            try:
                writer(n)
            finally:
                if n == 0:
                    done.set()

        return run

    def sealer() -> int:
        passes = 0
        while not done.is_set() or passes < 3:
            chains_seal()
            passes += 1
        return passes

    run_in_threads([writers_then_stop(n) for n in range(4)] + [sealer, sealer])
    chains_seal()  # the fast pass alone: no row is left behind

    _assert_chain_complete("ledger", list(JournalEntry.objects.values_list("pk", flat=True)))
    _assert_chain_complete("audit", list(AuditEvent.objects.values_list("pk", flat=True)))
    call_command("verify_audit", stdout=StringIO())


def test_an_entry_committed_after_later_ids_were_sealed_is_sealed_not_skipped(
    make_account: Callable[..., Account],
) -> None:
    account, source, target = make_account(), make_account(balance="10.00"), make_account()
    chains_seal()
    numbered, release = threading.Event(), threading.Event()

    def slow_deposit() -> int:
        with transaction.atomic():
            entry = deposit_create(actor=SYSTEM_ACTOR, account=account.public_id, money=Money(Decimal("5.00"), "CNY"))
            numbered.set()  # the entry has its id, but is not committed yet
            assert release.wait(30)
        return entry.pk

    def fast_transfer_and_seal() -> int:
        assert numbered.wait(30)
        entry = transfer_create(
            actor=SYSTEM_ACTOR,
            from_account=source.public_id,
            to_account=target.public_id,
            money=Money(Decimal("1.00"), "CNY"),
        )
        chain_seal(chain="ledger")
        release.set()
        return entry.pk

    late_id, early_id = run_in_threads([slow_deposit, fast_transfer_and_seal])
    connection.close()

    assert late_id < early_id
    early = ChainLink.objects.get(chain="ledger", object_id=early_id)
    assert not ChainLink.objects.filter(chain="ledger", object_id=late_id).exists()
    assert chain_seal(chain="ledger") == 1  # the normal fast pass finds it
    late = ChainLink.objects.get(chain="ledger", object_id=late_id)
    assert late.seq == early.seq + 1
    assert late.prev_hash == early.row_hash
    call_command("verify_audit", stdout=StringIO())
