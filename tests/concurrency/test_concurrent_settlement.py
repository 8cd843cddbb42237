"""Two settlement batches running at once over the same accounts, in opposite orders, on
PostgreSQL with real threads: each locks every account of its batch up front in ascending id
order, so neither deadlocks, and every payment is booked exactly once."""

from __future__ import annotations

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import override_settings

from apps.accounts.models import Account
from apps.common.money import Money
from apps.common.principals import SYSTEM_ACTOR
from apps.integrations.gateway import GatewayAnswer, GatewayOrder, GatewayOutcome, GatewayUnavailable
from apps.transactions.models import EntryKind, JournalEntry, Payment, PaymentStatus
from apps.transactions.services_payments import Beneficiary, payment_create, payments_settle
from tests.concurrency import run_in_threads

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

BENEFICIARY = Beneficiary(name="Li Wei", account_number="6222020200112233", bank_code="ICBKCNBJ", country="CN")


class GatewayDown:
    """The gateway cannot be reached: payments stay submitted without an answer."""

    def submit(self, order: GatewayOrder) -> GatewayAnswer:
        raise GatewayUnavailable("down")

    def status(self, key: str) -> GatewayAnswer:
        raise GatewayUnavailable("down")


@override_settings(FINSYS_PAYMENT_GATEWAY=f"{__name__}.GatewayDown", FINSYS_PAYMENT_RETRY_SECONDS=600)
def test_two_batches_over_overlapping_accounts_neither_deadlock_nor_book_twice(make_account):
    accounts = [make_account(balance="1000.00") for _ in range(6)]
    payments = []
    for _round in range(4):
        for account in accounts:
            payment = payment_create(
                actor=SYSTEM_ACTOR, from_account=account.public_id, money=Money(Decimal("5.00"), "CNY"),
                beneficiary=BENEFICIARY,
            )  # fmt: skip
            payments.append(payment)
    # Submitted (the job after commit ran eagerly, the gateway was down); then the gateway's
    # answers arrive for all of them, and nothing is booked yet.
    assert set(Payment.objects.values_list("status", flat=True)) == {PaymentStatus.SUBMITTED}
    for index, payment in enumerate(payments):
        outcome = GatewayOutcome.REJECTED if index % 5 == 0 else GatewayOutcome.SETTLED
        Payment.objects.filter(pk=payment.pk).update(gateway_outcome=outcome)
    ids = [p.pk for p in payments]
    # Overlapping halves: each batch touches every account; one lists them backwards.
    first, second = ids[: len(ids) * 2 // 3], list(reversed(ids[len(ids) // 3 :]))
    results = run_in_threads(
        [lambda: payments_settle(payment_ids=first, batch_size=7), lambda: payments_settle(payment_ids=second)],
        timeout=60,
    )
    assert sum(results) == len(ids)  # each payment booked by exactly one of the two
    settled = Payment.objects.filter(status=PaymentStatus.SETTLED)
    assert Payment.objects.filter(status=PaymentStatus.REJECTED).count() == len(
        [i for i in range(len(ids)) if i % 5 == 0]
    )
    assert JournalEntry.objects.filter(kind=EntryKind.PAYMENT).count() == settled.count()
    for account in Account.objects.filter(pk__in=[a.pk for a in accounts]):
        paid = sum((p.amount for p in settled if p.account_id == account.pk), Decimal(0))
        assert account.balance == account.available == Decimal("1000.00") - paid
    out = StringIO()
    call_command("check_ledger", stdout=out)
    assert "ledger ok" in out.getvalue()
