"""External payments through their services: funds held at `held`, settled into clearing or
released, returned; the gateway called with an idempotency key, retried, and never twice booked."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from io import StringIO
from typing import Any, ClassVar

import pytest
from django.core.management import call_command
from django.db import transaction
from django.test import override_settings

from apps.accounts.models import Account, GlCode, Hold, HoldStatus
from apps.accounts.services import account_freeze
from apps.common.errors import (
    AccountNotActive,
    BlockedByScreening,
    CurrencyMismatchError,
    InsufficientFunds,
    LimitExceeded,
    NotFound,
    ValidationFailed,
)
from apps.common.money import Money
from apps.common.principals import SYSTEM_ACTOR, Actor, Channel
from apps.integrations.gateway import GatewayAnswer, GatewayOrder, GatewayOutcome, GatewayTimeout
from apps.integrations.models import OutboxEvent, SimulatedGatewayPayment
from apps.transactions.models import EntryKind, JournalEntry, Payment, PaymentEvent, PaymentStatus
from apps.transactions.screening import (
    ScreeningDecision,
    ScreeningOutcome,
    register_payment_screener,
    unregister_payment_screener,
)
from apps.transactions.services import MAX_BALANCE
from apps.transactions.services_payments import (
    Beneficiary,
    payment_create,
    payment_gateway_report,
    payment_record_answer,
    payment_submit,
    payments_settle,
)
from tests.support import ledger_state

BENEFICIARY = Beneficiary(name="Li Wei", account_number="6222020200112233", bank_code="ICBKCNBJ", country="CN")
REJECTED_BY_SIMULATOR = Beneficiary(name="Closed", account_number="0001234", bank_code="ICBKCNBJ", country="CN")
SIMULATOR = {"FINSYS_GATEWAY_SIM_LATENCY_MS": 0, "FINSYS_GATEWAY_SIM_TIMEOUT_RATE": 0.0}


def _pay(account: Account, amount: str = "100.00", beneficiary: Beneficiary = BENEFICIARY, **kw: Any) -> Payment:
    return payment_create(
        actor=kw.pop("actor", SYSTEM_ACTOR),
        from_account=account.public_id,
        money=Money(Decimal(amount), kw.pop("currency", account.currency)),
        beneficiary=beneficiary,
        reference=kw.pop("reference", "invoice 42"),
    )


def _everything() -> tuple[Any, ...]:
    return (
        ledger_state(),
        Payment.objects.count(),
        PaymentEvent.objects.count(),
        Hold.objects.count(),
        OutboxEvent.objects.count(),
    )


def _clearing(currency: str = "CNY") -> Account:
    return Account.objects.get(is_internal=True, gl_code=GlCode.CLEARING, currency=currency)


def _ledger_ok() -> None:
    out = StringIO()
    call_command("check_ledger", stdout=out)
    assert "ledger ok" in out.getvalue()


@pytest.fixture
def simulator() -> Iterator[None]:
    with override_settings(**SIMULATOR):
        yield


def test_a_new_payment_is_screened_and_its_funds_held_with_every_transition_recorded(make_account):
    account = make_account(balance="500.00")
    payment = _pay(account, "120.50")
    account.refresh_from_db()
    assert payment.status == PaymentStatus.HELD
    assert (account.balance, account.available) == (Decimal("500.00"), Decimal("379.50"))
    assert payment.hold is not None
    assert (payment.hold.amount, payment.hold.status) == (Decimal("120.50"), HoldStatus.ACTIVE)
    events = list(payment.events.values_list("from_status", "to_status"))
    assert events == [("", "received"), ("received", "screened"), ("screened", "held")]
    assert all(e.created_at and e.cause and e.actor == SYSTEM_ACTOR.label for e in payment.events.all())
    # Integrators hear of it once, in the status it committed in.
    assert list(OutboxEvent.objects.values_list("kind", "payload__status")) == [("payment.status_changed", "held")]
    _ledger_ok()


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"amount": "500.01"}, InsufficientFunds),
        ({"currency": "USD"}, CurrencyMismatchError),
        ({"amount": "0"}, ValidationFailed),
        ({"amount": "1.001"}, ValidationFailed),
        ({"beneficiary": Beneficiary("", "12", "X", "ZZ")}, ValidationFailed),
        ({"beneficiary": Beneficiary("Li", "62-22", "ICBKCNBJ", "CN")}, ValidationFailed),
    ],
)
def test_a_refused_payment_changes_nothing(make_account, change, error):
    account = make_account(balance="500.00")
    before = _everything()
    with pytest.raises(error):
        _pay(account, **change)
    assert _everything() == before


def test_a_payment_from_a_frozen_account_or_someone_elses_is_refused_and_changes_nothing(make_account):
    account = make_account(balance="500.00")
    other = make_account(balance="500.00")
    stranger = Actor(label="client:x", channel=Channel.API, customer_id=other.customer_id)
    before = _everything()
    with pytest.raises(NotFound):
        _pay(account, actor=stranger)
    assert _everything() == before
    account_freeze(actor=SYSTEM_ACTOR, account=account)
    before = _everything()
    with pytest.raises(AccountNotActive):
        _pay(account)
    assert _everything() == before


def test_screeners_registered_from_above_can_block_or_send_a_payment_to_review(make_account):
    account = make_account(balance="500.00")

    def block_north_korea(payment: Payment) -> ScreeningDecision:
        if payment.beneficiary_country == "KP":
            return ScreeningDecision(ScreeningOutcome.BLOCK, "sanctioned country")
        if payment.amount >= 400:
            return ScreeningDecision(ScreeningOutcome.REVIEW, "large payment")
        return ScreeningDecision(ScreeningOutcome.ALLOW)

    register_payment_screener(block_north_korea)
    try:
        before = _everything()
        with pytest.raises(BlockedByScreening):
            _pay(account, beneficiary=Beneficiary("Kim", "12345", "KPBANK01", "KP"))
        assert _everything() == before
        waiting = _pay(account, "450.00")
        assert waiting.status == PaymentStatus.PENDING_APPROVAL
        assert waiting.hold is None
        account.refresh_from_db()
        assert account.available == Decimal("500.00")
    finally:
        unregister_payment_screener(block_north_korea)


def test_the_simulated_gateway_settles_a_payment_into_clearing_once(make_account, simulator):
    account = make_account(balance="500.00")
    clearing_before = _clearing().balance
    payment = _pay(account, "120.50")
    assert payment_submit(payment_id=payment.pk).status == PaymentStatus.SETTLED
    assert payment_submit(payment_id=payment.pk).status == PaymentStatus.SETTLED  # a repeat: nothing
    payment.refresh_from_db()
    account.refresh_from_db()
    assert (account.balance, account.available) == (Decimal("379.50"), Decimal("379.50"))
    assert _clearing().balance == clearing_before + Decimal("120.50")
    assert payment.hold is not None
    payment.hold.refresh_from_db()
    assert (payment.hold.status, payment.hold.captured_amount) == (HoldStatus.CAPTURED, Decimal("120.50"))
    entry = payment.settlement_entry
    assert entry is not None
    assert entry.kind == EntryKind.PAYMENT
    assert JournalEntry.objects.filter(kind=EntryKind.PAYMENT).count() == 1
    assert SimulatedGatewayPayment.objects.filter(key=str(payment.public_id)).count() == 1
    assert [e.to_status for e in payment.events.all()][-2:] == ["submitted", "settled"]
    assert list(OutboxEvent.objects.order_by("id").values_list("payload__status", flat=True)) == [
        "held",
        "submitted",
        "settled",
    ]
    _ledger_ok()


def test_a_gateway_rejection_releases_the_hold_and_moves_no_money(make_account, simulator):
    account = make_account(balance="500.00")
    clearing_before = _clearing().balance
    entries = JournalEntry.objects.count()
    payment = _pay(account, "120.50", beneficiary=REJECTED_BY_SIMULATOR)
    assert payment_submit(payment_id=payment.pk).status == PaymentStatus.REJECTED
    account.refresh_from_db()
    assert (account.balance, account.available) == (Decimal("500.00"), Decimal("500.00"))
    assert _clearing().balance == clearing_before
    assert JournalEntry.objects.count() == entries
    payment.refresh_from_db()
    assert payment.hold is not None
    assert payment.hold.status == HoldStatus.RELEASED
    assert "closed" in payment.events.last().cause
    _ledger_ok()


class FlakyGateway:
    """A gateway whose answers get lost: `lose` submissions time out after it booked them."""

    books: ClassVar[dict[str, GatewayAnswer]] = {}
    lose_order: ClassVar[int] = 0
    lose_answer: ClassVar[int] = 0
    calls: ClassVar[list[str]] = []

    def submit(self, order: GatewayOrder) -> GatewayAnswer:
        type(self).calls.append("submit")
        if type(self).lose_order:
            type(self).lose_order -= 1
            raise GatewayTimeout("order lost")
        answer = self.books.setdefault(order.key, GatewayAnswer(GatewayOutcome.SETTLED, "REF1"))
        if type(self).lose_answer:
            type(self).lose_answer -= 1
            raise GatewayTimeout("answer lost")
        return answer

    def status(self, key: str) -> GatewayAnswer:
        type(self).calls.append("status")
        return self.books.get(key, GatewayAnswer(GatewayOutcome.UNKNOWN))


@pytest.fixture
def flaky() -> Iterator[type[FlakyGateway]]:
    FlakyGateway.books = {}
    FlakyGateway.calls = []
    FlakyGateway.lose_order = FlakyGateway.lose_answer = 0
    with override_settings(
        FINSYS_PAYMENT_GATEWAY=f"{__name__}.FlakyGateway",
        FINSYS_PAYMENT_SUBMIT_MAX_ATTEMPTS=3,
        FINSYS_PAYMENT_RETRY_SECONDS=0,
    ):
        yield FlakyGateway


def test_a_lost_answer_is_retried_with_the_same_key_and_settles_once(make_account, flaky):
    account = make_account(balance="500.00")
    payment = _pay(account, "100.00")
    flaky.lose_answer = 1
    first = payment_submit(payment_id=payment.pk)
    assert first.status == PaymentStatus.SUBMITTED
    assert first.retry_in is not None
    payment.refresh_from_db()
    assert (payment.submit_attempts, payment.status) == (1, PaymentStatus.SUBMITTED)
    assert "answer lost" in payment.last_error
    assert payment_submit(payment_id=payment.pk).status == PaymentStatus.SETTLED
    assert flaky.calls == ["submit", "submit"]
    assert JournalEntry.objects.filter(kind=EntryKind.PAYMENT).count() == 1
    account.refresh_from_db()
    assert account.balance == Decimal("400.00")
    _ledger_ok()


def test_a_payment_the_gateway_never_received_ends_rejected_after_the_last_attempt(make_account, flaky):
    account = make_account(balance="500.00")
    payment = _pay(account, "100.00")
    flaky.lose_order = 99
    statuses = [payment_submit(payment_id=payment.pk).status for _ in range(3)]
    assert statuses == ["submitted", "submitted", "rejected"]
    assert flaky.calls == ["submit", "submit", "submit", "status"]
    payment.refresh_from_db()
    assert "no answer from the gateway after 3 attempts" in payment.events.last().cause
    account.refresh_from_db()
    assert (account.balance, account.available) == (Decimal("500.00"), Decimal("500.00"))
    _ledger_ok()


def test_after_the_last_attempt_the_gateways_books_decide_when_it_did_receive_the_order(make_account, flaky):
    account = make_account(balance="500.00")
    payment = _pay(account, "100.00")
    flaky.lose_answer = 99
    statuses = [payment_submit(payment_id=payment.pk).status for _ in range(3)]
    assert statuses == ["submitted", "submitted", "settled"]
    account.refresh_from_db()
    assert account.balance == Decimal("400.00")
    _ledger_ok()


def test_an_attempt_that_is_not_due_does_not_call_the_gateway(make_account, flaky):
    account = make_account(balance="500.00")
    payment = _pay(account, "100.00")
    flaky.lose_order = 1
    with override_settings(FINSYS_PAYMENT_RETRY_SECONDS=60):
        assert payment_submit(payment_id=payment.pk).retry_in == 60
        again = payment_submit(payment_id=payment.pk)  # a duplicate job: the attempt is claimed
    assert (again.status, again.retry_in) == (PaymentStatus.SUBMITTED, None)
    assert flaky.calls == ["submit"]


def test_recorded_answers_are_booked_in_one_batch_and_each_payment_only_once(make_account, flaky):
    accounts = [make_account(balance="1000.00") for _ in range(3)]
    payments = [_pay(a, "10.00") for a in accounts for _ in range(2)]
    for index, payment in enumerate(payments):
        with transaction.atomic():
            Payment.objects.filter(pk=payment.pk).update(status=PaymentStatus.SUBMITTED)
        outcome = GatewayOutcome.REJECTED if index == 0 else GatewayOutcome.SETTLED
        # Recorded but not yet booked (as if the worker died in between): settle nothing yet.
        Payment.objects.filter(pk=payment.pk).update(gateway_outcome=outcome)
    assert payments_settle() == 6
    assert payments_settle() == 0
    assert sorted(Payment.objects.values_list("status", flat=True)) == ["rejected"] + ["settled"] * 5
    assert JournalEntry.objects.filter(kind=EntryKind.PAYMENT).count() == 5
    balances = sorted(Account.objects.filter(pk__in=[a.pk for a in accounts]).values_list("balance", "available"))
    assert balances == [(Decimal("980.00"),) * 2, (Decimal("980.00"),) * 2, (Decimal("990.00"),) * 2]
    _ledger_ok()


def _recorded(payment: Payment, outcome: GatewayOutcome, reason: str = "") -> None:
    """The gateway's answer recorded on a submitted payment, not yet booked."""
    Payment.objects.filter(pk=payment.pk).update(
        status=PaymentStatus.SUBMITTED, gateway_outcome=outcome, gateway_reason=reason
    )


def test_a_settlement_batch_tells_integrators_each_final_status_with_the_payment_document(make_account, flaky):
    account = make_account(balance="1000.00")
    settled, rejected, unreferenced = _pay(account, "12.30"), _pay(account, "7.00"), _pay(account, "1.05", reference="")
    _recorded(settled, GatewayOutcome.SETTLED)
    _recorded(rejected, GatewayOutcome.REJECTED, "beneficiary account closed")
    _recorded(unreferenced, GatewayOutcome.SETTLED)
    last_event = OutboxEvent.objects.order_by("-id").values_list("id", flat=True).first()
    assert payments_settle() == 3
    documents = list(OutboxEvent.objects.filter(id__gt=last_event).order_by("id").values_list("kind", "payload"))
    assert documents == [
        ("payment.status_changed", {"payment": str(p.public_id), "status": status, "amount": amount,
                                    "currency": "CNY", "reference": reference})
        for p, status, amount, reference in [
            (settled, "settled", "12.30", "invoice 42"),
            (rejected, "rejected", "7.00", "invoice 42"),
            (unreferenced, "settled", "1.05", ""),
        ]
    ]  # fmt: skip
    causes = PaymentEvent.objects.filter(to_status__in=["settled", "rejected"]).order_by("payment_id")
    assert list(causes.values_list("cause", "actor")) == [
        ("gateway settled", "system:gateway"),
        ("gateway rejected: beneficiary account closed", "system:gateway"),
        ("gateway settled", "system:gateway"),
    ]
    unreferenced.refresh_from_db()
    assert unreferenced.settlement_entry is not None
    assert unreferenced.settlement_entry.reference == f"payment {unreferenced.public_id}"
    _ledger_ok()


def test_a_settlement_batch_that_would_overflow_an_account_books_nothing(make_account, flaky):
    account = make_account(balance="1000.00")
    payment = _pay(account, "10.00")
    _recorded(payment, GatewayOutcome.SETTLED)
    Account.objects.filter(pk=_clearing().pk).update(balance=MAX_BALANCE - Decimal("5"))
    before = _everything()
    with pytest.raises(LimitExceeded):
        payments_settle()
    assert _everything() == before


def test_a_late_or_repeated_answer_does_not_change_a_booked_payment(make_account, simulator):
    account = make_account(balance="500.00")
    payment = _pay(account, "100.00")
    assert payment_submit(payment_id=payment.pk).status == PaymentStatus.SETTLED
    before = _everything()
    answer = GatewayAnswer(GatewayOutcome.REJECTED, "X")
    assert payment_record_answer(payment_id=payment.pk, answer=answer) == PaymentStatus.SETTLED
    assert _everything() == before


def test_a_returned_payment_credits_the_customer_back_from_clearing(make_account, simulator):
    account = make_account(balance="500.00")
    payment = _pay(account, "100.00")
    payment_submit(payment_id=payment.pk)
    clearing = _clearing().balance
    status = payment_gateway_report(public_id=payment.public_id, outcome=GatewayOutcome.RETURNED, reason="no such")
    assert status == PaymentStatus.RETURNED
    again = payment_gateway_report(public_id=payment.public_id, outcome=GatewayOutcome.RETURNED)
    assert again == PaymentStatus.RETURNED
    payment.refresh_from_db()
    account.refresh_from_db()
    assert (account.balance, account.available) == (Decimal("500.00"), Decimal("500.00"))
    assert _clearing().balance == clearing - Decimal("100.00")
    assert payment.return_entry is not None
    assert payment.return_entry.kind == EntryKind.PAYMENT_RETURN
    assert JournalEntry.objects.filter(kind=EntryKind.PAYMENT_RETURN).count() == 1
    _ledger_ok()


def test_a_payment_event_is_append_only(make_account):
    payment = _pay(make_account(balance="500.00"))
    event = payment.events.first()
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        PaymentEvent.objects.filter(pk=event.pk).update(cause="x")


@override_settings(FINSYS_LARGE_TRANSACTION_AMOUNT="10000")
def test_a_large_movement_or_payment_emits_a_large_transaction_event_with_it(make_account):
    from apps.transactions.services import deposit_create, transfer_create

    account = make_account(balance="20000.00")
    other = make_account(balance="0")
    OutboxEvent.objects.all().delete()
    deposit_create(actor=SYSTEM_ACTOR, account=account.public_id, money=Money(Decimal("9999.99"), "CNY"))
    assert not OutboxEvent.objects.filter(kind="transaction.large").exists()
    transfer_create(
        actor=SYSTEM_ACTOR,
        from_account=account.public_id,
        to_account=other.public_id,
        money=Money(Decimal("10000.00"), "CNY"),
    )
    large = OutboxEvent.objects.filter(kind="transaction.large").order_by("id")
    assert sorted(e.customer_id for e in large) == sorted([account.customer_id, other.customer_id])
    assert {e.payload["amount"] for e in large} == {"10000.00"}
    payment = _pay(account, "10000.00")
    alert = OutboxEvent.objects.filter(kind="transaction.large", payload__payment=str(payment.public_id)).get()
    assert alert.notify_email == account.customer.email
    assert alert.customer_id == account.customer_id


def test_stopped_outgoing_payments_are_refused_and_held_ones_wait_until_lifted(make_account: Any) -> None:
    from apps.common.errors import PaymentsStopped
    from apps.compliance.services import emergency_control_activate, emergency_control_lift

    account = make_account(balance="500.00")
    with override_settings(**SIMULATOR, FINSYS_CONTROLS_CACHE_SECONDS=0):
        held = _pay(account)  # accepted before the switch (its job runs after commit: not in this test)
        control = emergency_control_activate(actor=SYSTEM_ACTOR, kind="payments_stopped", reason="fraud wave")
        before = _everything()
        with pytest.raises(PaymentsStopped):
            _pay(account)
        assert _everything() == before

        assert payment_submit(payment_id=held.pk).status == PaymentStatus.HELD
        held.refresh_from_db()
        assert held.status == PaymentStatus.HELD
        assert held.submit_attempts == 0
        assert not SimulatedGatewayPayment.objects.exists()  # nothing left the bank

        emergency_control_lift(actor=Actor(label="user:checker", channel=Channel.SYSTEM), control_pk=control.pk)
        assert payment_submit(payment_id=held.pk).status in (PaymentStatus.SUBMITTED, PaymentStatus.SETTLED)
        assert SimulatedGatewayPayment.objects.count() == 1
