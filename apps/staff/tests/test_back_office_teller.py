"""The counter: a cash deposit posts once however often the form is sent, bad input posts
nothing, a withdrawal beyond the balance is refused with a message, transfers post or wait for
approval when the risk rules ask, and the receipt shows what was posted."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.conf import settings

from apps.common.roles import OPERATIONS, RELATIONSHIP_MANAGER, TELLER
from apps.compliance.models import Approval
from apps.risk.services import movement_check
from apps.staff.tests.support_backoffice import client_of, form_token, page_messages
from apps.transactions.models import JournalEntry
from apps.transactions.screening import register_movement_checker
from tests.support import balance, ledger_state

pytestmark = pytest.mark.django_db


def test_a_cash_deposit_posts_once_when_the_form_is_sent_twice(make_account):
    account = make_account()
    user, client = client_of(TELLER)
    token = form_token(client.get("/staff/teller/"))
    form = {"form_token": token, "kind": "deposit", "account": account.number, "amount": "1250.50", "reference": "cash"}
    first = client.post("/staff/teller/", form)
    second = client.post("/staff/teller/", form)  # a double click, or the page sent again
    entry = JournalEntry.objects.get(kind="deposit", created_by=f"user:{user.username}")
    assert first["Location"] == second["Location"] == f"/staff/teller/receipts/{entry.public_id}/"
    assert balance(account) == Decimal("1250.50")
    receipt = client.get(first["Location"])
    assert receipt.status_code == 200
    html = receipt.content.decode()
    assert "1,250.50 CNY" in html
    assert account.number in html


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"amount": "0"}, "amount"),
        ({"amount": "-3"}, "amount"),
        ({"amount": "1.001"}, "amount"),
        ({"amount": "abc"}, "amount"),
        ({"account": "0000"}, "account"),
        ({"kind": "gift"}, "kind"),
        ({"form_token": "not-a-token"}, "form_token"),
    ],
)
def test_bad_counter_input_posts_nothing(make_account, change, field):
    account = make_account(balance="10.00")
    _u, client = client_of(TELLER)
    token = form_token(client.get("/staff/teller/"))
    before = ledger_state()
    form = {"form_token": token, "kind": "deposit", "account": account.number, "amount": "5.00"} | change
    answer = client.post("/staff/teller/", form)
    assert answer.status_code == 200
    assert field in answer.context["form"].errors
    assert ledger_state() == before


def test_a_withdrawal_beyond_the_balance_is_refused_and_the_form_can_be_sent_again(make_account):
    account = make_account(balance="10.00")
    _u, client = client_of(TELLER)
    token = form_token(client.get("/staff/teller/"))
    before = ledger_state()
    form = {"form_token": token, "kind": "withdrawal", "account": account.number, "amount": "50.00"}
    refused = client.post("/staff/teller/", form)
    assert refused.status_code == 200
    assert "Available 10.00 CNY is less than 50.00" in str(refused.context["form"].non_field_errors())
    assert ledger_state() == before
    fresh = refused.context["form"]["form_token"].value()
    assert fresh != token  # a new token: the corrected form is a new request
    paid = client.post("/staff/teller/", form | {"form_token": fresh, "amount": "4.00"})
    assert paid.status_code == 302
    assert balance(account) == Decimal("6.00")


def test_the_counter_needs_its_permission(make_account):
    _m, rm = client_of(RELATIONSHIP_MANAGER)
    assert rm.get("/staff/teller/").status_code == 403
    assert rm.get("/staff/teller/transfer/").status_code == 403
    _o, ops = client_of(OPERATIONS)
    assert ops.get("/staff/teller/").status_code == 403  # operations send transfers, not cash
    assert ops.get("/staff/teller/transfer/").status_code == 200


def test_a_transfer_posts_and_shows_its_receipt(make_account):
    source, target = make_account(balance="300.00"), make_account()
    _o, ops = client_of(OPERATIONS)
    token = form_token(ops.get("/staff/teller/transfer/"))
    done = ops.post(
        "/staff/teller/transfer/",
        {"form_token": token, "from_account": source.number, "to_account": target.number, "amount": "120.00"},
    )
    assert done.status_code == 302
    assert (balance(source), balance(target)) == (Decimal("180.00"), Decimal("120.00"))
    same = ops.post(
        "/staff/teller/transfer/",
        {"form_token": token, "from_account": source.number, "to_account": target.number, "amount": "120.00"},
    )
    assert same["Location"] == done["Location"]
    assert balance(source) == Decimal("180.00")


def test_a_transfer_to_the_same_account_is_refused(make_account):
    source = make_account(balance="300.00")
    _o, ops = client_of(OPERATIONS)
    token = form_token(ops.get("/staff/teller/transfer/"))
    before = ledger_state()
    answer = ops.post(
        "/staff/teller/transfer/",
        {"form_token": token, "from_account": source.number, "to_account": source.number, "amount": "1.00"},
    )
    assert "to_account" in answer.context["form"].errors
    assert ledger_state() == before


@pytest.fixture
def branch_screened():
    """The risk rules screen the branch channel too (FINSYS_RISK_CHANNELS=api,portal,branch)."""
    register_movement_checker(movement_check, channels=[*settings.FINSYS_RISK_CHANNELS, "branch"])
    yield
    register_movement_checker(movement_check, channels=settings.FINSYS_RISK_CHANNELS)


def test_a_large_transfer_the_rules_review_waits_for_approval(make_account, branch_screened):
    source, target = make_account(balance="80000.00"), make_account()
    _o, ops = client_of(OPERATIONS)
    token = form_token(ops.get("/staff/teller/transfer/"))
    before = ledger_state()
    held = ops.post(
        "/staff/teller/transfer/",
        {"form_token": token, "from_account": source.number, "to_account": target.number, "amount": "60000.00"},
        follow=True,
    )
    approval = Approval.objects.get(action="risk.transfer_review")
    assert held.redirect_chain[-1][0] == f"/staff/approvals/{approval.public_id}/"
    assert any("waits for approval" in m for m in page_messages(held))
    assert ledger_state() == before
