"""Accounts in the back office: opening (KYC-verified only), freeze, unfreeze through a second
person, close, holds, and the postings list with filters and its audited CSV export."""

from __future__ import annotations

from decimal import Decimal

import pytest

from apps.accounts.models import Account, Hold
from apps.audit.models import AuditEvent
from apps.common.money import Money
from apps.common.principals import SYSTEM_ACTOR
from apps.common.roles import OPERATIONS, RELATIONSHIP_MANAGER, RISK_OFFICER, TELLER
from apps.compliance.models import Approval
from apps.staff.tests.support_backoffice import client_of, page_messages
from apps.transactions.services import withdrawal_create

pytestmark = pytest.mark.django_db


def test_a_teller_opens_an_account_for_a_verified_customer_only(make_customer):
    _u, client = client_of(TELLER)
    pending = make_customer(verified=False)
    page = client.get(f"/staff/customers/{pending.public_id}/open-account/")
    product = page.context["form"].fields["product"].queryset.get(code="CURRENT-CNY")
    refused = client.post(f"/staff/customers/{pending.public_id}/open-account/", {"product": product.pk})
    assert refused.status_code == 200
    assert refused.context["form"].non_field_errors()
    assert not Account.objects.filter(customer=pending).exists()
    verified = make_customer()
    assert (
        client.post(f"/staff/customers/{verified.public_id}/open-account/", {"product": "nonsense"}).status_code == 200
    )
    opened = client.post(f"/staff/customers/{verified.public_id}/open-account/", {"product": product.pk})
    account = Account.objects.get(customer=verified)
    assert opened["Location"] == f"/staff/accounts/{account.public_id}/"
    assert (account.currency, account.status) == ("CNY", "active")


def test_a_relationship_manager_cannot_open_accounts_or_see_other_accounts(make_account):
    account = make_account()
    _m, rm = client_of(RELATIONSHIP_MANAGER)
    assert rm.get(f"/staff/customers/{account.customer.public_id}/open-account/").status_code == 403
    assert rm.get(f"/staff/accounts/{account.public_id}/").status_code == 404


def test_freeze_then_unfreeze_waits_for_a_second_person(make_account):
    account = make_account()
    _o, ops = client_of(OPERATIONS)
    assert ops.post(f"/staff/accounts/{account.public_id}/freeze/", {"reason": ""}).status_code == 302
    account.refresh_from_db()
    assert account.status == "active"  # no reason: nothing done
    frozen = ops.post(f"/staff/accounts/{account.public_id}/freeze/", {"reason": "lost card"}, follow=True)
    account.refresh_from_db()
    assert account.status == "frozen"
    assert any("frozen" in m for m in page_messages(frozen))
    ops.post(f"/staff/accounts/{account.public_id}/unfreeze/", {"reason": "card found"})
    account.refresh_from_db()
    assert account.status == "frozen"
    approval = Approval.objects.get(action="account.unfreeze", status="pending")
    _r, risk = client_of(RISK_OFFICER)
    risk.post(f"/staff/approvals/{approval.public_id}/decide/", {"decision": "approve", "note": "checked"})
    account.refresh_from_db()
    assert account.status == "active"


def test_a_teller_may_not_change_an_account_status(make_account):
    account = make_account()
    _t, teller = client_of(TELLER)
    assert teller.post(f"/staff/accounts/{account.public_id}/freeze/", {"reason": "x"}).status_code == 403
    account.refresh_from_db()
    assert account.status == "active"


def test_close_refuses_a_balance_and_closes_an_empty_account(make_account):
    funded, empty = make_account(balance="10.00"), make_account()
    _o, ops = client_of(OPERATIONS)
    refused = ops.post(f"/staff/accounts/{funded.public_id}/close/", {"reason": "moving"}, follow=True)
    funded.refresh_from_db()
    assert funded.status == "active"
    assert page_messages(refused)
    ops.post(f"/staff/accounts/{empty.public_id}/close/", {"reason": "moving"})
    empty.refresh_from_db()
    assert empty.status == "closed"


def test_holds_are_placed_validated_and_released(make_account):
    account = make_account(balance="100.00")
    _o, ops = client_of(OPERATIONS)
    ops.post(f"/staff/accounts/{account.public_id}/holds/", {"amount": "-5"})
    ops.post(f"/staff/accounts/{account.public_id}/holds/", {"amount": "1.234"})  # CNY has two places
    ops.post(f"/staff/accounts/{account.public_id}/holds/", {"amount": "500"})  # more than available
    assert not Hold.objects.filter(account=account).exists()
    ops.post(f"/staff/accounts/{account.public_id}/holds/", {"amount": "30", "reference": "card auth"})
    hold = Hold.objects.get(account=account)
    account.refresh_from_db()
    assert account.available == Decimal("70.00")
    ops.post(f"/staff/accounts/{account.public_id}/holds/{hold.public_id}/release/")
    account.refresh_from_db()
    assert account.available == Decimal("100.00")


def test_postings_filter_and_the_csv_export_is_audited(make_account):
    account = make_account(balance="100.00")
    withdrawal_create(actor=SYSTEM_ACTOR, account=account.public_id, money=Money(Decimal("40.00"), "CNY"))
    withdrawal_create(actor=SYSTEM_ACTOR, account=account.public_id, money=Money(Decimal("5.00"), "CNY"))
    user, client = client_of(TELLER)
    url = f"/staff/accounts/{account.public_id}/"
    assert [p.amount for p in client.get(url).context["page"]] == [
        Decimal("-5.00"),
        Decimal("-40.00"),
        Decimal("100.00"),
    ]
    assert [p.amount for p in client.get(url, {"direction": "in"}).context["page"]] == [Decimal("100.00")]
    assert [p.amount for p in client.get(url, {"direction": "out", "min_amount": "10"}).context["page"]] == [
        Decimal("-40.00")
    ]
    bad = client.get(url, {"start": "2026-02-01", "end": "2026-01-01"})
    assert "end" in bad.context["form"].errors
    export = client.get(f"{url}postings.csv", {"direction": "out"})
    body = b"".join(export.streaming_content).decode()
    lines = body.strip().splitlines()
    assert lines[0].startswith("booked_at,transaction,kind,amount")
    assert [Decimal(line.split(",")[3]) for line in lines[1:]] == [Decimal("-5.00"), Decimal("-40.00")]
    event = AuditEvent.objects.get(action="account.postings_export")
    assert (event.actor, event.object_id, event.detail["rows"]) == (f"user:{user.username}", str(account.public_id), 2)
