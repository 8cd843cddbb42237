"""Emergency controls (kill switches): read-only bank, outgoing payments stopped, one customer
frozen everywhere. Switching on works at once and is audited; lifting needs a second person.
Every refusal proves nothing changed."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.db import transaction

from apps.accounts.models import Account, AccountStatus
from apps.accounts.services import account_freeze
from apps.audit.models import AuditEvent
from apps.common.controls import controls_assert_customer_not_frozen
from apps.common.errors import CustomerFrozen, PaymentsStopped, ReadOnlyMode
from apps.common.models import ControlKind, EmergencyControl, IdempotencyRecord
from apps.common.money import Money
from apps.common.principals import SYSTEM_ACTOR, Actor, Channel
from apps.compliance.models import Approval, ApprovalStatus
from apps.compliance.services import (
    approval_approve,
    emergency_control_activate,
    emergency_control_lift_request,
)
from apps.transactions.services import deposit_create, transfer_create
from tests.support import assert_problem, ledger_state, verified_staff_client

pytestmark = pytest.mark.django_db

ALICE = Actor(label="user:alice", channel=Channel.BRANCH)
BOB = Actor(label="user:bob", channel=Channel.BRANCH)


def switch_on(kind: str, customer: Any = None) -> EmergencyControl:
    return emergency_control_activate(actor=ALICE, kind=kind, customer=customer, reason="incident 42")


def lift(control: EmergencyControl) -> Approval:
    """Alice asks, Bob approves: the control is off afterwards."""
    approval = emergency_control_lift_request(actor=ALICE, control=control, reason="all clear")
    return approval_approve(actor=BOB, approval=approval, reason="checked")


def cash(account: Account, amount: str = "10.00") -> dict[str, str]:
    return {"account": str(account.public_id), "amount": amount, "currency": "CNY"}


def transfer(source: Account, target: Account, amount: str = "10.00") -> dict[str, str]:
    return {
        "from_account": str(source.public_id),
        "to_account": str(target.public_id),
        "amount": amount,
        "currency": "CNY",
    }


# --- read-only mode -------------------------------------------------------------------------


def test_read_only_mode_refuses_every_state_changing_api_call_and_changes_nothing(
    api: Any, make_account: Any, make_customer: Any
) -> None:
    source, target = make_account(balance="100"), make_account()
    switch_on(ControlKind.READ_ONLY)
    before = ledger_state(), IdempotencyRecord.objects.count()
    calls = [
        ("/api/v1/deposits/", cash(source)),
        ("/api/v1/withdrawals/", cash(source)),
        ("/api/v1/transfers/", transfer(source, target)),
        (f"/api/v1/accounts/{source.public_id}/freeze/", {"reason": "x"}),
        ("/api/v1/accounts/", {"customer": str(make_customer().public_id), "currency": "CNY"}),
    ]
    for path, body in calls:
        assert_problem(api.post(path, body), 503, "read_only_mode")
    assert (ledger_state(), IdempotencyRecord.objects.count()) == before
    # reading still works
    assert api.get(f"/api/v1/accounts/{source.public_id}/").status_code == 200


def test_read_only_mode_stops_ledger_postings_from_any_caller(make_account: Any) -> None:
    account = make_account(balance="5")
    switch_on(ControlKind.READ_ONLY)
    before = ledger_state()
    # the service a Celery job, command or admin action calls (in its own savepoint, as they do)
    with pytest.raises(ReadOnlyMode), transaction.atomic():
        deposit_create(actor=SYSTEM_ACTOR, account=account.public_id, money=Money(Decimal("1"), "CNY"))
    assert ledger_state() == before


def test_read_only_mode_is_lifted_through_the_still_open_approvals_endpoint(
    api: Any, make_api: Any, make_account: Any
) -> None:
    account = make_account()
    control = switch_on(ControlKind.READ_ONLY)
    approval = emergency_control_lift_request(actor=ALICE, control=control, reason="all clear")
    checker = make_api(scopes=["approvals:write"], name="checker")
    response = checker.post(f"/api/v1/approvals/{approval.public_id}/approve/", {"reason": "ok"}, key=None)
    assert response.status_code == 200, response.content
    control.refresh_from_db()
    assert not control.active
    assert control.deactivated_by == "user:alice"
    assert api.post("/api/v1/deposits/", cash(account)).status_code == 201


# --- outgoing payments stopped --------------------------------------------------------------


def test_payments_stopped_refuses_withdrawals_and_transfers_to_other_customers(
    api: Any, make_account: Any, make_customer: Any
) -> None:
    owner = make_customer()
    source, own_savings, someone_else = make_account(owner, balance="100"), make_account(owner), make_account()
    switch_on(ControlKind.PAYMENTS_STOPPED)
    before = ledger_state()
    assert_problem(api.post("/api/v1/withdrawals/", cash(source)), 503, "payments_stopped")
    assert_problem(api.post("/api/v1/transfers/", transfer(source, someone_else)), 503, "payments_stopped")
    assert ledger_state() == before
    # money that stays with the customer, or comes in, still moves
    assert api.post("/api/v1/transfers/", transfer(source, own_savings)).status_code == 201
    assert api.post("/api/v1/deposits/", cash(source)).status_code == 201


def test_a_refusal_by_an_emergency_control_is_not_replayed_after_it_is_lifted(api: Any, make_account: Any) -> None:
    account = make_account(balance="100")
    control = switch_on(ControlKind.PAYMENTS_STOPPED)
    key = str(uuid.uuid4())
    assert_problem(api.post("/api/v1/withdrawals/", cash(account), key=key), 503, "payments_stopped")
    lift(control)
    retried = api.post("/api/v1/withdrawals/", cash(account), key=key)
    assert retried.status_code == 201, retried.content
    assert "Idempotent-Replayed" not in retried


def test_payments_stopped_is_what_the_services_check(make_account: Any) -> None:
    source, target = make_account(balance="50"), make_account()
    switch_on(ControlKind.PAYMENTS_STOPPED)
    with pytest.raises(PaymentsStopped), transaction.atomic():
        transfer_create(
            actor=SYSTEM_ACTOR,
            from_account=source.public_id,
            to_account=target.public_id,
            money=Money(Decimal("1"), "CNY"),
        )


# --- one customer frozen everywhere ---------------------------------------------------------


def test_freezing_a_customer_freezes_their_accounts_and_refuses_their_api_clients(
    api: Any, make_api: Any, make_customer: Any, make_account: Any
) -> None:
    customer = make_customer()
    first, second = make_account(customer, balance="20"), make_account(customer)
    bystander = make_account(balance="20")
    bound = make_api(customer=customer, name="customer app")
    switch_on(ControlKind.CUSTOMER_FROZEN, customer)
    assert {a.status for a in Account.objects.filter(customer=customer)} == {AccountStatus.FROZEN}
    before = ledger_state()
    assert_problem(bound.get(f"/api/v1/accounts/{first.public_id}/"), 403, "customer_frozen")
    assert_problem(bound.post("/api/v1/transfers/", transfer(first, bystander)), 403, "customer_frozen")
    # the bank's own client cannot move their money either: the accounts are frozen
    assert_problem(api.post("/api/v1/deposits/", cash(second)), 422, "account_not_active")
    assert_problem(api.post("/api/v1/transfers/", transfer(bystander, first)), 422, "account_not_active")
    assert_problem(
        api.post("/api/v1/accounts/", {"customer": str(customer.public_id), "currency": "USD"}),
        403,
        "customer_frozen",
    )
    assert ledger_state() == before
    # everyone else carries on
    assert api.post("/api/v1/deposits/", cash(bystander)).status_code == 201


def test_lifting_a_customer_freeze_unfreezes_only_what_it_froze(make_customer: Any, make_account: Any) -> None:
    customer = make_customer()
    frozen_by_it, frozen_before = make_account(customer), make_account(customer)
    account_freeze(actor=SYSTEM_ACTOR, account=frozen_before, reason="court order")
    control = switch_on(ControlKind.CUSTOMER_FROZEN, customer)
    lift(control)
    frozen_by_it.refresh_from_db()
    frozen_before.refresh_from_db()
    assert frozen_by_it.status == AccountStatus.ACTIVE
    assert frozen_before.status == AccountStatus.FROZEN
    controls_assert_customer_not_frozen(customer.pk)  # lifted: no refusal any more


def test_the_customer_check_refuses_while_the_freeze_is_on(make_customer: Any) -> None:
    customer, other = make_customer(), make_customer()
    switch_on(ControlKind.CUSTOMER_FROZEN, customer)
    with pytest.raises(CustomerFrozen):
        controls_assert_customer_not_frozen(customer.pk)
    controls_assert_customer_not_frozen(other.pk)


# --- switching on and off -------------------------------------------------------------------


def test_switching_on_is_audited_and_queued_for_a_second_persons_review() -> None:
    control = switch_on(ControlKind.PAYMENTS_STOPPED)
    event = AuditEvent.objects.get(action="emergency_control.activate")
    assert event.actor == "user:alice"
    assert event.object_id == str(control.pk)
    assert event.detail["reason"] == "incident 42"
    review = Approval.objects.get(action="emergency_control.review")
    assert review.status == ApprovalStatus.PENDING
    assert review.requested_by == "user:alice"
    approval_approve(actor=BOB, approval=review, reason="seen")
    control.refresh_from_db()
    assert control.active  # reviewing changes nothing


def test_lifting_needs_a_second_person_and_nothing_changes_until_then() -> None:
    from apps.common.errors import PermissionDenied

    control = switch_on(ControlKind.READ_ONLY)
    approval = emergency_control_lift_request(actor=ALICE, control=control, reason="all clear")
    with pytest.raises(PermissionDenied):
        approval_approve(actor=ALICE, approval=approval, reason="myself")
    control.refresh_from_db()
    approval.refresh_from_db()
    assert control.active
    assert approval.status == ApprovalStatus.PENDING
    approval_approve(actor=BOB, approval=approval, reason="checked")
    control.refresh_from_db()
    assert not control.active
    assert AuditEvent.objects.filter(action="emergency_control.lift", actor="user:alice").count() == 1


@pytest.mark.parametrize(
    ("kind", "customer", "reason", "field"),
    [
        ("no_such_switch", False, "why", "kind"),
        (ControlKind.READ_ONLY, True, "why", "customer"),
        (ControlKind.CUSTOMER_FROZEN, False, "why", "customer"),
        (ControlKind.READ_ONLY, False, "  ", "reason"),
    ],
)
def test_a_malformed_switch_is_refused_and_changes_nothing(
    make_customer: Any, kind: str, customer: bool, reason: str, field: str
) -> None:
    from apps.common.errors import ValidationFailed

    target = make_customer() if customer else None
    with pytest.raises(ValidationFailed) as refused:
        emergency_control_activate(actor=ALICE, kind=kind, customer=target, reason=reason)
    assert field in refused.value.errors
    assert not EmergencyControl.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="emergency_control").exists()


def test_a_switch_that_is_on_cannot_be_switched_on_twice_or_lifted_twice_at_once() -> None:
    from apps.common.errors import ValidationFailed

    control = switch_on(ControlKind.READ_ONLY)
    with pytest.raises(ValidationFailed):
        switch_on(ControlKind.READ_ONLY)
    emergency_control_lift_request(actor=ALICE, control=control, reason="all clear")
    with pytest.raises(ValidationFailed):
        emergency_control_lift_request(actor=BOB, control=control, reason="again")
    assert EmergencyControl.objects.count() == 1
    assert Approval.objects.filter(action="emergency_control.lift").count() == 1


def test_a_customer_bound_principal_cannot_switch_anything(make_customer: Any) -> None:
    from apps.common.errors import PermissionDenied

    customer = make_customer()
    with pytest.raises(PermissionDenied):
        emergency_control_activate(
            actor=Actor(label="client:x", channel=Channel.API, customer_id=customer.pk),
            kind=ControlKind.READ_ONLY,
            reason="no",
        )
    assert not EmergencyControl.objects.exists()


# --- the command and the admin --------------------------------------------------------------


@pytest.fixture
def staff(db: Any) -> tuple[User, User]:
    return (
        User.objects.create_superuser("alice", password="pw-alice-123"),
        User.objects.create_superuser("bob", password="pw-bob-123"),
    )


def test_the_command_switches_on_lists_and_asks_to_lift(staff: Any, make_customer: Any) -> None:
    customer = make_customer()
    out = StringIO()
    call_command(
        "emergency_control", "activate", "customer_frozen", "--customer", str(customer.public_id),
        "--reason", "fraud ring", "--by", "alice", stdout=out,
    )  # fmt: skip
    assert json.loads(out.getvalue())["active"] is True
    listing = StringIO()
    call_command("emergency_control", "status", stdout=listing)
    assert json.loads(listing.getvalue())["customer"] == str(customer.public_id)
    asked = StringIO()
    call_command(
        "emergency_control", "deactivate", "customer_frozen", "--customer", str(customer.public_id),
        "--reason", "cleared", "--by", "alice", stdout=asked,
    )  # fmt: skip
    assert json.loads(asked.getvalue())["status"] == "pending_approval"
    assert EmergencyControl.objects.get().active  # still on until someone else approves


@pytest.mark.parametrize(
    "argv",
    [
        ["activate", "read_only", "--reason", "x"],  # who?
        ["activate", "read_only", "--reason", "x", "--by", "nobody"],
        ["activate", "read_only", "--reason", "", "--by", "alice"],
        ["deactivate", "payments_stopped", "--reason", "x", "--by", "alice"],  # not on
        ["activate", "customer_frozen", "--customer", str(uuid.uuid4()), "--reason", "x", "--by", "alice"],
    ],
)
def test_the_command_refuses_with_a_reason_and_changes_nothing(staff: Any, argv: list[str]) -> None:
    with pytest.raises(CommandError):
        call_command("emergency_control", *argv, stdout=StringIO())
    assert not EmergencyControl.objects.exists()
    assert not Approval.objects.exists()


def test_the_admin_shows_the_banner_and_the_requester_cannot_approve_the_lift(staff: Any) -> None:
    alice, bob = verified_staff_client(staff[0]), verified_staff_client(staff[1])
    assert b"emergency-banner" not in alice.get("/admin/").content
    call_command("emergency_control", "activate", "read_only", "--reason", "drill", "--by", "alice", stdout=StringIO())
    page = alice.get("/admin/").content.decode()
    assert "emergency-banner" in page
    assert "read-only mode" in page
    call_command("emergency_control", "deactivate", "read_only", "--reason", "over", "--by", "alice", stdout=StringIO())
    lift = Approval.objects.get(action="emergency_control.lift")
    form = {"action": "approve", "_selected_action": [lift.pk]}
    alice.post("/admin/compliance/approval/", form)
    assert EmergencyControl.objects.get().active  # alice asked: she may not approve
    bob.post("/admin/compliance/approval/", form)
    assert not EmergencyControl.objects.get().active
    assert b"emergency-banner" not in bob.get("/admin/").content


def test_the_staff_back_office_shows_the_banner_while_a_switch_is_on(staff: Any) -> None:
    alice = verified_staff_client(staff[0])
    assert b"emergency-banner" not in alice.get("/staff/").content
    call_command(
        "emergency_control", "activate", "payments_stopped", "--reason", "drill", "--by", "alice", stdout=StringIO()
    )
    page = alice.get("/staff/").content.decode()
    assert "emergency-banner" in page
    assert "outgoing payments and withdrawals are stopped" in page


def test_the_admin_freezes_a_customer_everywhere(staff: Any, make_account: Any) -> None:
    account = make_account()
    alice = verified_staff_client(staff[0])
    alice.post("/admin/customers/customer/", {"action": "freeze_everywhere", "_selected_action": [account.customer_id]})
    control = EmergencyControl.objects.get()
    assert control.kind == ControlKind.CUSTOMER_FROZEN
    assert control.customer_id == account.customer_id
    account.refresh_from_db()
    assert account.status == AccountStatus.FROZEN
    page = alice.get("/admin/").content.decode()
    assert "1 customer is frozen everywhere" in page
