"""Concurrent debits of an account with an overdraft facility never take it past its limit
(PostgreSQL: real threads, each on its own connection, committed data)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from apps.common.errors import InsufficientFunds
from apps.common.money import Money
from apps.common.principals import SYSTEM_ACTOR, Actor, Channel
from apps.compliance.services import approval_approve
from apps.risk.services_credit import facility_request
from apps.transactions.models import Posting
from apps.transactions.services import transfer_create, withdrawal_create
from tests.concurrency import run_in_threads

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_concurrent_debits_never_breach_the_facility_limit(make_account):
    source = make_account(balance="10")
    targets = [make_account() for _ in range(4)]
    facility = facility_request(
        actor=Actor(label="user:maker", channel=Channel.BRANCH),
        account=source,
        limit=Money(Decimal(100), "CNY"),
        rate=Decimal(10),
    )
    approval_approve(actor=Actor(label="user:checker", channel=Channel.BRANCH), approval=facility.approval)
    # 110 CNY may leave in all; 16 debits of 15 CNY want 240: exactly 7 fit (105), whatever the order.

    def debit(index: int) -> str:
        def work() -> str:
            try:
                if index % 2:
                    withdrawal_create(actor=SYSTEM_ACTOR, account=source.public_id, money=Money(Decimal(15), "CNY"))
                else:
                    transfer_create(
                        actor=SYSTEM_ACTOR,
                        from_account=source.public_id,
                        to_account=targets[index % 4].public_id,
                        money=Money(Decimal(15), "CNY"),
                    )
            except InsufficientFunds:
                return "refused"
            return "posted"

        return work

    results = run_in_threads([debit(i) for i in range(16)])
    assert results.count("posted") == 7
    assert results.count("refused") == 9
    source.refresh_from_db()
    assert (source.balance, source.available, source.overdraft_limit) == (Decimal(-95), Decimal(-95), Decimal(100))
    afters = list(Posting.objects.filter(account=source).order_by("id").values_list("balance_after", flat=True))
    assert min(afters) == Decimal(-95)
    assert all(after >= -100 for after in afters)
