"""Maker-checker approvals through the REST API (API.md): unfreezing an account needs a second
principal; the held action runs once, when the approval is granted.

Every refused request proves that nothing changed: the approval, the account, the audit trail.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from django.utils import timezone

from apps.accounts.models import Account, AccountStatus
from apps.audit.models import AuditEvent
from apps.compliance.models import Approval, ApprovalStatus
from tests.support import assert_problem


def state() -> tuple[Any, ...]:
    """Everything deciding an approval could change."""
    return (
        sorted(Approval.objects.values_list("pk", "status", "decided_by", "decided_at", "result")),
        sorted(Account.objects.values_list("pk", "status", "frozen_by_bank", "status_reason")),
        AuditEvent.objects.count(),
    )


def freeze(caller: Any, account: Account) -> None:
    response = caller.post(f"/api/v1/accounts/{account.public_id}/freeze/", {"reason": "review"}, key=None)
    assert response.status_code == 200, response.content


def request_unfreeze(caller: Any, account: Account) -> str:
    response = caller.post(f"/api/v1/accounts/{account.public_id}/unfreeze/", {"reason": "cleared"}, key=None)
    assert response.status_code == 202, response.content
    return str(response.json()["approval"])


@pytest.fixture
def pending(api, make_account) -> tuple[Account, str]:
    """A frozen account and the pending approval `api` asked for to unfreeze it."""
    account = make_account(balance="10")
    freeze(api, account)
    return account, request_unfreeze(api, account)


@pytest.fixture
def checker(make_api) -> Any:
    return make_api(scopes=["approvals:write", "accounts:read"], name="checker")


def decide(caller: Any, approval_id: str, decision: str, reason: str = "looked at it") -> Any:
    return caller.post(f"/api/v1/approvals/{approval_id}/{decision}/", {"reason": reason}, key=None)


def account_status(account: Account) -> str:
    account.refresh_from_db()
    return account.status


def test_get_approval_shows_what_is_asked_who_asked_and_that_nobody_decided(api, pending):
    _account, approval_id = pending
    response = api.get(f"/api/v1/approvals/{approval_id}/")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["id"] == approval_id
    assert body["action"] == "account.unfreeze"
    assert body["status"] == "pending"
    assert body["requested_by"] == f"client:{api.client_id}"
    assert body["decided_by"] is None


def test_get_an_unknown_approval_answers_404(api):
    assert_problem(api.get(f"/api/v1/approvals/{uuid.uuid4()}/"), 404, "not_found")


@pytest.mark.parametrize("decision", ["approve", "reject"])
def test_the_requester_cannot_decide_its_own_request(api, pending, decision):
    account, approval_id = pending
    before = state()
    assert_problem(decide(api, approval_id, decision), 403, "permission_denied")
    assert state() == before
    assert api.get(f"/api/v1/approvals/{approval_id}/").json()["status"] == "pending"
    assert account_status(account) == AccountStatus.FROZEN


def test_a_second_client_approves_and_the_account_is_unfrozen_once(api, pending, checker):
    account, approval_id = pending
    response = decide(checker, approval_id, "approve", "checked the documents")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["id"] == approval_id
    assert body["status"] == "approved"
    assert body["requested_by"] == f"client:{api.client_id}"
    assert body["decided_by"] == f"client:{checker.client_id}"
    assert account_status(account) == AccountStatus.ACTIVE
    assert api.get(f"/api/v1/accounts/{account.public_id}/").json()["status"] == "active"
    assert AuditEvent.objects.filter(action="account.unfreeze", object_id=str(account.public_id)).count() == 1
    approval = Approval.objects.get(public_id=approval_id)
    assert approval.decision_reason == "checked the documents"
    assert approval.decided_at is not None
    # The unfrozen account moves money again.
    moved = api.post("/api/v1/withdrawals/", {"account": str(account.public_id), "amount": "1.00", "currency": "CNY"})
    assert moved.status_code == 201, moved.content


@pytest.mark.parametrize("second", ["approve", "reject"])
def test_deciding_an_approved_approval_again_answers_409(api, pending, checker, make_api, second):
    account, approval_id = pending
    assert decide(checker, approval_id, "approve").status_code == 200
    third = make_api(scopes=["approvals:write"], name="third")
    before = state()
    for caller in (checker, third):
        assert_problem(decide(caller, approval_id, second), 409, "approval_not_pending")
    assert state() == before
    assert account_status(account) == AccountStatus.ACTIVE
    assert AuditEvent.objects.filter(action="account.unfreeze", object_id=str(account.public_id)).count() == 1


def test_rejecting_leaves_the_account_frozen(api, pending, checker):
    account, approval_id = pending
    response = decide(checker, approval_id, "reject", "not convinced")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "rejected"
    assert body["decided_by"] == f"client:{checker.client_id}"
    assert account_status(account) == AccountStatus.FROZEN
    assert not AuditEvent.objects.filter(action="account.unfreeze", object_id=str(account.public_id)).exists()


@pytest.mark.parametrize("second", ["approve", "reject"])
def test_deciding_a_rejected_approval_again_answers_409(api, pending, checker, second):
    account, approval_id = pending
    assert decide(checker, approval_id, "reject").status_code == 200
    before = state()
    assert_problem(decide(checker, approval_id, second), 409, "approval_not_pending")
    assert state() == before
    assert account_status(account) == AccountStatus.FROZEN


def test_an_expired_approval_reads_expired_and_cannot_be_decided(api, pending, checker):
    account, approval_id = pending
    Approval.objects.filter(public_id=approval_id).update(expires_at=timezone.now() - dt.timedelta(minutes=1))
    assert api.get(f"/api/v1/approvals/{approval_id}/").json()["status"] == "expired"
    before = state()
    assert_problem(decide(checker, approval_id, "approve"), 409, "approval_not_pending")
    assert_problem(decide(checker, approval_id, "reject"), 409, "approval_not_pending")
    assert state() == before
    assert account_status(account) == AccountStatus.FROZEN
    assert Approval.objects.get(public_id=approval_id).status == ApprovalStatus.PENDING  # until the sweep


def test_deciding_an_unknown_approval_answers_404(checker):
    before = state()
    assert_problem(decide(checker, str(uuid.uuid4()), "approve"), 404, "not_found")
    assert state() == before


def test_a_decision_reason_longer_than_255_characters_is_refused(pending, checker):
    account, approval_id = pending
    before = state()
    problem = assert_problem(decide(checker, approval_id, "approve", "r" * 256), 400, "validation_error")
    assert "reason" in problem["errors"]
    assert state() == before
    assert account_status(account) == AccountStatus.FROZEN


def test_a_client_without_approvals_write_cannot_decide(pending, make_api):
    account, approval_id = pending
    reader = make_api(scopes=["accounts:read", "accounts:write"], name="no-approvals")
    before = state()
    assert_problem(decide(reader, approval_id, "approve"), 403, "permission_denied")
    assert_problem(reader.get(f"/api/v1/approvals/{approval_id}/"), 403, "permission_denied")
    assert state() == before
    assert account_status(account) == AccountStatus.FROZEN


# --- customer-bound clients -------------------------------------------------------------------


def test_a_bound_client_cannot_unfreeze_an_account_the_bank_froze(api, make_api, make_customer, make_account):
    customer = make_customer()
    account = make_account(customer=customer)
    freeze(api, account)
    bound = make_api(customer=customer)
    before = state()
    response = bound.post(f"/api/v1/accounts/{account.public_id}/unfreeze/", {"reason": "mine"}, key=None)
    assert_problem(response, 403, "permission_denied")
    assert state() == before
    assert account_status(account) == AccountStatus.FROZEN


def test_a_bound_client_can_ask_to_unfreeze_an_account_it_froze_and_the_bank_approves(
    api, make_api, make_customer, make_account
):
    customer = make_customer()
    account = make_account(customer=customer)
    bound = make_api(customer=customer)
    freeze(bound, account)
    account.refresh_from_db()
    assert account.frozen_by_bank is False

    approval_id = request_unfreeze(bound, account)

    shown = bound.get(f"/api/v1/approvals/{approval_id}/").json()
    assert (shown["status"], shown["requested_by"]) == ("pending", f"client:{bound.client_id}")
    before = state()
    assert_problem(decide(bound, approval_id, "approve"), 403, "permission_denied")
    assert state() == before
    response = decide(api, approval_id, "approve")
    assert response.status_code == 200, response.content
    assert response.json()["decided_by"] == f"client:{api.client_id}"
    assert account_status(account) == AccountStatus.ACTIVE
