"""Payments a screener sent to review (`pending_approval`) are decided through the maker-checker
approvals: approved by another bank principal they are held and submitted once; rejected (or
expired) they end `rejected` with the account untouched; every transition is recorded with its
time and cause. Any registered screener's `review` goes this way (AML, risk rules, others)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import override_settings
from django.utils import timezone

from apps.accounts.models import Account, Hold, HoldStatus
from apps.accounts.services import account_freeze
from apps.common.errors import AccountNotActive, ApprovalNotPending, InsufficientFunds, PermissionDenied
from apps.common.money import Money
from apps.common.principals import Actor, Channel
from apps.compliance.models import Approval, ApprovalStatus
from apps.compliance.services import approval_approve, approval_reject, approvals_expire
from apps.integrations.models import SimulatedGatewayPayment
from apps.transactions.models import EntryKind, JournalEntry, Payment, PaymentStatus
from apps.transactions.screening import (
    ScreeningDecision,
    ScreeningOutcome,
    register_payment_screener,
    unregister_payment_screener,
)
from apps.transactions.services_payments import Beneficiary, payment_create, payment_release, payment_submit
from tests.support import assert_problem, ledger_state, verified_staff_client

MAKER = Actor(label="client:maker", channel=Channel.API)
CHECKER = Actor(label="user:checker", channel=Channel.BRANCH)
BENEFICIARY = Beneficiary(name="Li Wei", account_number="6222020200112233", bank_code="ICBKCNBJ", country="CN")
SIMULATOR = {"FINSYS_GATEWAY_SIM_LATENCY_MS": 0, "FINSYS_GATEWAY_SIM_TIMEOUT_RATE": 0.0}


def _large_payments_to_review(payment: Payment) -> ScreeningDecision:
    """Stands for any screener above the ledger (risk rules, AML): large payments need a person."""
    if payment.amount >= 400:
        return ScreeningDecision(ScreeningOutcome.REVIEW, "large payment")
    return ScreeningDecision(ScreeningOutcome.ALLOW, "small")


@pytest.fixture(autouse=True)
def reviewer() -> Iterator[None]:
    register_payment_screener(_large_payments_to_review)
    with override_settings(**SIMULATOR):
        yield
    unregister_payment_screener(_large_payments_to_review)


def _pay(account: Account, amount: str = "450.00", actor: Actor = MAKER) -> Payment:
    return payment_create(
        actor=actor,
        from_account=account.public_id,
        money=Money(Decimal(amount), account.currency),
        beneficiary=BENEFICIARY,
        reference="invoice 9",
    )


def _approval(payment: Payment) -> Approval:
    return Approval.objects.get(public_id=payment.approval)


def _history(payment: Payment) -> list[tuple[str, str, str]]:
    return [(e.from_status, e.to_status, e.cause) for e in payment.events.order_by("id")]


def test_a_review_opens_an_approval_and_holds_nothing(make_account):
    account = make_account(balance="500.00")
    payment = _pay(account)
    assert payment.status == PaymentStatus.PENDING_APPROVAL
    assert payment.hold is None
    approval = _approval(payment)
    assert (approval.action, approval.status, approval.requested_by) == (
        "payment.release",
        ApprovalStatus.PENDING,
        MAKER.label,
    )
    assert approval.customer_id == account.customer_id
    assert approval.payload["payment"] == str(payment.public_id)
    account.refresh_from_db()
    assert (account.balance, account.available) == (Decimal("500.00"), Decimal("500.00"))
    assert _history(payment)[-1] == ("screened", "pending_approval", "large payment")


def test_approved_by_another_person_it_is_held_submitted_and_settled_once(
    make_account, django_capture_on_commit_callbacks
):
    account = make_account(balance="500.00")
    payment = _pay(account)
    with pytest.raises(PermissionDenied):  # the maker cannot approve their own payment
        approval_approve(actor=MAKER, approval=_approval(payment))
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING_APPROVAL
    assert _approval(payment).status == ApprovalStatus.PENDING

    with django_capture_on_commit_callbacks(execute=True):
        decided = approval_approve(actor=CHECKER, approval=_approval(payment), reason="known supplier")
    assert decided.result == {"payment": str(payment.public_id), "status": "held"}
    # The submission job, sent after commit (eager Celery here), had the gateway settle it.
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SETTLED
    # A second approval, a repeated release and a repeated job change nothing.
    with pytest.raises(ApprovalNotPending):
        approval_approve(actor=Actor(label="user:third", channel=Channel.BRANCH), approval=_approval(payment))
    assert payment_release(payment_id=payment.pk, decided_by="user:third").status == PaymentStatus.SETTLED
    assert payment_submit(payment_id=payment.pk).status == PaymentStatus.SETTLED
    assert Hold.objects.filter(account=account).count() == 1
    assert JournalEntry.objects.filter(kind=EntryKind.PAYMENT).count() == 1
    assert SimulatedGatewayPayment.objects.count() == 1
    account.refresh_from_db()
    assert (account.balance, account.available) == (Decimal("50.00"), Decimal("50.00"))
    history = _history(payment)
    assert [to for _f, to, _c in history] == [
        "received", "screened", "pending_approval", "held", "submitted", "settled",
    ]  # fmt: skip
    assert history[3] == ("pending_approval", "held", "approved by user:checker: known supplier")
    assert all(e.created_at for e in payment.events.all())


def test_rejected_it_ends_rejected_and_the_account_is_untouched(make_account):
    account = make_account(balance="500.00")
    payment = _pay(account)
    before = ledger_state()
    with pytest.raises(PermissionDenied):
        approval_reject(actor=MAKER, approval=_approval(payment))
    approval_reject(actor=CHECKER, approval=_approval(payment), reason="unknown beneficiary")
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.REJECTED
    assert payment.hold is None
    assert ledger_state() == before
    assert _history(payment)[-1] == (
        "pending_approval",
        "rejected",
        "review rejected by user:checker: unknown beneficiary",
    )
    with pytest.raises(ApprovalNotPending):  # decided once
        approval_approve(actor=CHECKER, approval=_approval(payment))
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.REJECTED
    assert not Hold.objects.exists()


def test_an_expired_review_rejects_the_payment_once(make_account):
    account = make_account(balance="500.00")
    payment = _pay(account)
    later = timezone.now() + dt.timedelta(days=30)
    assert approvals_expire(now=later) == 1
    assert approvals_expire(now=later) == 0
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.REJECTED
    assert _approval(payment).status == ApprovalStatus.EXPIRED
    assert _history(payment)[-1][2] == "review expired by system:approvals"
    account.refresh_from_db()
    assert account.available == Decimal("500.00")


def test_approving_without_the_funds_or_on_a_frozen_account_is_refused_and_changes_nothing(make_account):
    account = make_account(balance="500.00")
    payment = _pay(account)
    _pay(account, "100.00")  # small: held at once, 400.00 left available
    before = ledger_state()
    with pytest.raises(InsufficientFunds):
        approval_approve(actor=CHECKER, approval=_approval(payment))
    assert ledger_state() == before
    assert _approval(payment).status == ApprovalStatus.PENDING
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING_APPROVAL
    other = _pay(make_account(balance="500.00"))
    account_freeze(actor=CHECKER, account=other.account)
    with pytest.raises(AccountNotActive):
        approval_approve(actor=CHECKER, approval=_approval(other))
    assert _approval(other).status == ApprovalStatus.PENDING


def test_a_customer_never_decides_the_review_of_its_own_payment(make_account):
    account = make_account(balance="500.00")
    payment = _pay(account)
    colleague = Actor(label="client:colleague", channel=Channel.API, customer_id=account.customer_id)
    with pytest.raises(PermissionDenied):
        approval_approve(actor=colleague, approval=_approval(payment))
    assert _approval(payment).status == ApprovalStatus.PENDING


def test_the_api_answers_pending_approval_and_a_second_client_approves_once(
    make_api, make_account, django_capture_on_commit_callbacks
):
    account = make_account(balance="500.00")
    maker = make_api(name="maker")
    checker = make_api(name="checker")
    document = {
        "from_account": str(account.public_id),
        "amount": "450.00",
        "currency": "CNY",
        "beneficiary": {
            "name": "Li Wei",
            "account_number": "6222020200112233",
            "bank_code": "ICBKCNBJ",
            "country": "CN",
        },
        "reference": "invoice 9",
    }
    created = maker.post("/api/v1/payments/", document)
    assert created.status_code == 202, created.content
    body = created.json()
    assert body["status"] == "pending_approval"
    approval = body["approval"]
    assert maker.get(f"/api/v1/approvals/{approval}/").json()["action"] == "payment.release"
    assert_problem(maker.post(f"/api/v1/approvals/{approval}/approve/", {"reason": "mine"}), 403, "permission_denied")
    with django_capture_on_commit_callbacks(execute=False) as jobs:
        approved = checker.post(f"/api/v1/approvals/{approval}/approve/", {"reason": "ok"})
    assert approved.status_code == 200, approved.content
    assert approved.json()["status"] == "approved"
    # The action has run when the 200 is sent: the funds are held, the job to submit it is sent.
    assert maker.get(f"/api/v1/payments/{body['id']}/").json()["status"] == "held"
    assert maker.get(f"/api/v1/accounts/{account.public_id}/").json()["available"] == "50.00"
    for job in jobs:
        job()
    assert maker.get(f"/api/v1/payments/{body['id']}/").json()["status"] == "settled"
    again = checker.post(f"/api/v1/approvals/{approval}/approve/", {"reason": "ok"})
    assert_problem(again, 409, "approval_not_pending")
    assert JournalEntry.objects.filter(kind=EntryKind.PAYMENT).count() == 1
    account.refresh_from_db()
    assert account.balance == Decimal("50.00")


def test_the_api_reject_rejects_the_payment(make_api, make_account):
    account = make_account(balance="500.00")
    maker, checker = make_api(name="maker"), make_api(name="checker")
    document = {
        "from_account": str(account.public_id),
        "amount": "450.00",
        "currency": "CNY",
        "beneficiary": {
            "name": "Li Wei",
            "account_number": "6222020200112233",
            "bank_code": "ICBKCNBJ",
            "country": "CN",
        },
    }
    body = maker.post("/api/v1/payments/", document).json()
    rejected = checker.post(f"/api/v1/approvals/{body['approval']}/reject/", {"reason": "no"})
    assert rejected.status_code == 200, rejected.content
    read = maker.get(f"/api/v1/payments/{body['id']}/").json()
    assert read["status"] == "rejected"
    cause = read["history"][-1]["cause"]
    assert cause.startswith("review rejected by client:")
    assert cause.endswith(": no")
    assert maker.get(f"/api/v1/accounts/{account.public_id}/").json()["available"] == "500.00"


def test_the_payments_admin_decides_a_review_and_refuses_its_maker(db: Any, make_account):
    alice = User.objects.create_superuser("alice", password="pw-alice-123")
    User.objects.create_superuser("bob", password="pw-bob-123")
    account = make_account(balance="500.00")
    payment = _pay(account, actor=Actor(label="user:alice", channel=Channel.BRANCH))
    form = {"action": "approve_review", "_selected_action": [payment.pk]}
    verified_staff_client(alice).post("/admin/transactions/payment/", form)
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING_APPROVAL  # alice made it: she may not approve
    response = verified_staff_client("bob").post("/admin/transactions/payment/", form, follow=True)
    assert response.status_code == 200
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.HELD
    assert payment_submit(payment_id=payment.pk).status == PaymentStatus.SETTLED
    assert _approval(payment).decided_by == "user:bob"
    rejected = _pay(make_account(balance="500.00"))
    verified_staff_client("bob").post(
        "/admin/transactions/payment/", {"action": "reject_review", "_selected_action": [rejected.pk]}
    )
    rejected.refresh_from_db()
    assert rejected.status == PaymentStatus.REJECTED
    assert Hold.objects.filter(status=HoldStatus.ACTIVE).count() == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_checkers_approving_at_the_same_moment_move_the_money_once(make_account):
    from tests.concurrency import run_in_threads

    account = make_account(balance="500.00")
    payment = _pay(account)
    approval = _approval(payment)

    def decide(label: str) -> str:
        try:
            approval_approve(actor=Actor(label=label, channel=Channel.BRANCH), approval=approval)
        except ApprovalNotPending:
            return "refused"
        return "approved"

    results = run_in_threads([lambda: decide("user:checker1"), lambda: decide("user:checker2")])
    assert sorted(results) == ["approved", "refused"]
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SETTLED  # eager job after commit: submitted and settled
    assert Hold.objects.filter(account=account).count() == 1
    assert JournalEntry.objects.filter(kind=EntryKind.PAYMENT).count() == 1
    assert [e.to_status for e in payment.events.all()].count("held") == 1
    account.refresh_from_db()
    assert (account.balance, account.available) == (Decimal("50.00"), Decimal("50.00"))
