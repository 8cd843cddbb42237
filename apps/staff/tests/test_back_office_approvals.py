"""The approvals queue: who may see and decide it, what an item shows, a maker refused on their
own request (the service's refusal shown as a message), rejection needs a reason."""

from __future__ import annotations

import pytest

from apps.accounts.services import account_freeze
from apps.common.principals import SYSTEM_ACTOR, Actor, Channel
from apps.common.roles import AUDITOR, RELATIONSHIP_MANAGER, RISK_OFFICER, TELLER
from apps.compliance.models import Approval
from apps.compliance.services import account_unfreeze_request
from apps.customers.services import customer_assign_relationship_manager
from apps.staff.tests.support_backoffice import client_of, page_messages

pytestmark = pytest.mark.django_db


def pending_unfreeze(make_account, by: str) -> Approval:
    account = make_account()
    account_freeze(actor=SYSTEM_ACTOR, account=account, reason="test")
    account.refresh_from_db()
    return account_unfreeze_request(
        actor=Actor(label=f"user:{by}", channel=Channel.BRANCH), account=account, reason="ok"
    )


def test_a_teller_gets_403_on_the_approvals_queue(make_account):
    approval = pending_unfreeze(make_account, "someone")
    _t, teller = client_of(TELLER)
    assert teller.get("/staff/approvals/").status_code == 403
    assert teller.get(f"/staff/approvals/{approval.public_id}/").status_code == 403
    assert teller.post(f"/staff/approvals/{approval.public_id}/decide/", {"decision": "approve"}).status_code == 403


def test_the_queue_lists_pending_items_with_what_they_are(make_account):
    approval = pending_unfreeze(make_account, "someone")
    _a, auditor = client_of(AUDITOR)
    page = auditor.get("/staff/approvals/")
    assert [row["approval"].pk for row in page.context["rows"]] == [approval.pk]
    assert "Unfreeze an account" in page.content.decode()
    detail = auditor.get(f"/staff/approvals/{approval.public_id}/")
    assert detail.status_code == 200
    assert not detail.context["may_decide"]  # an auditor sees, never decides
    assert auditor.post(f"/staff/approvals/{approval.public_id}/decide/", {"decision": "approve"}).status_code == 403
    assert auditor.get("/staff/approvals/", {"status": "approved"}).context["rows"] == []


def test_the_maker_cannot_approve_their_own_request(make_account):
    officer, client = client_of(RISK_OFFICER, "maker")
    approval = pending_unfreeze(make_account, officer.username)
    answer = client.post(f"/staff/approvals/{approval.public_id}/decide/", {"decision": "approve"}, follow=True)
    assert any("another person must decide" in m for m in page_messages(answer))
    approval.refresh_from_db()
    assert approval.status == "pending"


def test_reject_needs_a_reason_then_rejects(make_account):
    approval = pending_unfreeze(make_account, "someone")
    _r, client = client_of(RISK_OFFICER)
    client.post(f"/staff/approvals/{approval.public_id}/decide/", {"decision": "reject", "note": " "})
    approval.refresh_from_db()
    assert approval.status == "pending"
    client.post(f"/staff/approvals/{approval.public_id}/decide/", {"decision": "maybe"})
    approval.refresh_from_db()
    assert approval.status == "pending"
    done = client.post(
        f"/staff/approvals/{approval.public_id}/decide/", {"decision": "reject", "note": "no"}, follow=True
    )
    approval.refresh_from_db()
    assert approval.status == "rejected"
    assert any("Rejected" in m for m in page_messages(done))


def test_a_relationship_manager_sees_the_approvals_of_their_customers_only(make_account):
    mine, other = pending_unfreeze(make_account, "a"), pending_unfreeze(make_account, "b")
    manager, client = client_of(RELATIONSHIP_MANAGER)
    customer_assign_relationship_manager(actor=SYSTEM_ACTOR, customer=mine.customer, manager=manager)
    assert [row["approval"].pk for row in client.get("/staff/approvals/").context["rows"]] == [mine.pk]
    assert client.get(f"/staff/approvals/{other.public_id}/").status_code == 404
