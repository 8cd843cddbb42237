"""The admin: every page renders, ledger and audit rows cannot be added, changed or deleted,
personal data is shown masked, and the actions that change state go through the services."""

from __future__ import annotations

from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
from django.contrib import admin
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.urls import reverse

from apps.accounts.models import Account, AccountStatus
from apps.accounts.services import hold_create
from apps.audit.models import AuditEvent
from apps.common.idempotency import run_idempotent
from apps.common.models import IdempotencyRecord
from apps.common.money import Money
from apps.common.principals import SYSTEM_ACTOR, Actor, Channel
from apps.compliance.models import Approval, ApprovalStatus
from apps.compliance.services import account_unfreeze_request
from apps.customers.identity import mask_identifier
from apps.customers.models import Customer, KycStatus
from apps.integrations.models import Delivery, OutboxEvent, WebhookEndpoint
from apps.integrations.services import outbox_relay, webhook_endpoint_create
from apps.transactions.models import EntryKind, JournalEntry, Payment, PaymentEvent, Posting
from apps.transactions.services_payments import Beneficiary, payment_create
from tests.support import verified_staff_client

APPEND_ONLY = [JournalEntry, Posting, AuditEvent, IdempotencyRecord]


@pytest.fixture
def bank(db: Any) -> None:
    """A small demo bank, plus a row for each model the seed does not fill."""
    call_command("seed_demo", "--customers", "6", "--transactions", "30", stdout=StringIO())
    funded = Account.objects.filter(is_internal=False, status=AccountStatus.ACTIVE, balance__gt=10).first()
    assert funded is not None
    hold_create(actor=SYSTEM_ACTOR, account=funded, amount=Money(Decimal("1.00"), funded.currency), reference="h")
    frozen = Account.objects.get(status=AccountStatus.FROZEN)  # the seed freezes one
    account_unfreeze_request(actor=Actor(label="user:operations", channel=Channel.BRANCH), account=frozen)
    call_command("create_api_client", "admin test", "--scopes", "accounts:read", stdout=StringIO())
    run_idempotent(
        principal="client:test", key="k-1", fingerprint="f", action=lambda: (201, {}), on_refusal=lambda e: (422, {})
    )
    payment_create(
        actor=SYSTEM_ACTOR,
        from_account=funded.public_id,
        money=Money(Decimal("1.00"), funded.currency),
        beneficiary=Beneficiary(name="Li Wei", account_number="6222020200112233", bank_code="ICBKCNBJ", country="CN"),
    )
    webhook_endpoint_create(actor=SYSTEM_ACTOR, url="https://example.com/hook", event_kinds=[])
    outbox_relay()


def _login(username: str) -> Client:
    return verified_staff_client(username)


def _url(model: Any, view: str, *args: Any) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def _act(client: Client, model: Any, action: str, objects: list[Any]) -> Any:
    return client.post(
        _url(model, "changelist"),
        {"action": action, "_selected_action": [obj.pk for obj in objects], "index": 0, "select_across": 0},
    )


def test_every_admin_page_renders_for_the_superuser(bank: None) -> None:
    client = _login("admin")
    assert client.get(reverse("admin:index")).status_code == 200
    failures = []
    for model, model_admin in admin.site._registry.items():
        pages = [_url(model, "changelist")]
        if model_admin.search_fields:
            pages.append(_url(model, "changelist") + "?q=1")
        obj = model._default_manager.order_by("pk").first()
        if obj is not None:
            pages.append(_url(model, "change", obj.pk))
        for page in pages:
            status = client.get(page).status_code
            if status != 200:
                failures.append(f"{page}: {status}")
    assert failures == []
    for model in (
        Customer, Account, JournalEntry, Posting, AuditEvent, IdempotencyRecord, Approval, Payment, PaymentEvent,
        OutboxEvent, WebhookEndpoint, Delivery,
    ):  # fmt: skip
        assert model._default_manager.exists(), f"no {model.__name__} row: the change page went untested"


@pytest.mark.parametrize("model", APPEND_ONLY, ids=lambda m: m.__name__)
def test_ledger_and_audit_rows_refuse_add_change_and_delete_in_the_admin(bank: None, model: Any) -> None:
    client = _login("admin")
    obj = model._default_manager.order_by("pk").first()
    before = model._default_manager.count()

    assert client.get(_url(model, "add")).status_code == 403
    assert client.post(_url(model, "add"), {}).status_code == 403
    assert client.get(_url(model, "delete", obj.pk)).status_code == 403
    assert client.post(_url(model, "delete", obj.pk), {"post": "yes"}).status_code == 403
    page = client.get(_url(model, "change", obj.pk))
    assert page.status_code == 200
    assert b'name="_save"' not in page.content
    assert client.post(_url(model, "change", obj.pk), {}).status_code == 403
    changelist = client.get(_url(model, "changelist"))
    assert b"delete_selected" not in changelist.content
    _act(client, model, "delete_selected", [obj])

    assert model._default_manager.count() == before


def test_customer_pages_show_the_national_id_masked_never_plain_or_encrypted(bank: None) -> None:
    client = _login("auditor")  # sees every customer, does not hold customers.view_pii
    customer = Customer.objects.order_by("pk").first()
    assert customer is not None
    with connection.cursor() as cursor:
        cursor.execute("SELECT national_id FROM customers_customer WHERE id = %s", [customer.pk])
        ciphertext = cursor.fetchone()[0]
    for page in (_url(Customer, "changelist"), _url(Customer, "change", customer.pk)):
        html = client.get(page).content.decode()
        assert mask_identifier(customer.national_id) in html
        assert customer.national_id not in html
        assert ciphertext not in html
        assert customer.national_id_index not in html
    # Search by the exact national id works through the blind index.
    found = client.get(_url(Customer, "changelist"), {"q": customer.national_id}).content.decode()
    assert customer.full_name in found


def test_kyc_action_calls_the_service_for_permitted_staff_only(bank: None) -> None:
    pending = Customer.objects.filter(kyc_status=KycStatus.PENDING).first()
    assert pending is not None

    _act(_login("auditor"), Customer, "verify_kyc", [pending])  # an auditor may look, not decide
    pending.refresh_from_db()
    assert pending.kyc_status == KycStatus.PENDING

    response = _act(_login("compliance_officer"), Customer, "verify_kyc", [pending])
    assert response.status_code == 302
    pending.refresh_from_db()
    assert pending.kyc_status == KycStatus.VERIFIED
    assert pending.kyc_decided_by == "user:compliance_officer"
    assert AuditEvent.objects.filter(
        action="customer.kyc_decide", actor="user:compliance_officer", object_id=str(pending.public_id)
    ).exists()


def test_freeze_and_unfreeze_go_through_services_and_maker_checker(bank: None) -> None:
    account = Account.objects.filter(is_internal=False, status=AccountStatus.ACTIVE).first()
    assert account is not None
    operations = _login("operations")

    _act(operations, Account, "freeze_accounts", [account])
    account.refresh_from_db()
    assert account.status == AccountStatus.FROZEN
    assert AuditEvent.objects.filter(action="account.freeze", actor="user:operations").exists()

    _act(operations, Account, "request_unfreeze", [account])
    approval = Approval.objects.get(action="account.unfreeze", payload__account=str(account.public_id))
    assert approval.requested_by == "user:operations"

    _act(_login("compliance_officer"), Approval, "approve", [approval])
    approval.refresh_from_db()
    account.refresh_from_db()
    assert approval.status == ApprovalStatus.APPROVED
    assert approval.decided_by == "user:compliance_officer"
    assert account.status == AccountStatus.ACTIVE


def test_the_requester_cannot_approve_their_own_request(bank: None) -> None:
    frozen = Account.objects.get(status=AccountStatus.FROZEN)
    client = _login("admin")
    _act(client, Account, "request_unfreeze", [frozen])
    approval = Approval.objects.get(action="account.unfreeze", requested_by="user:admin")

    response = _act(client, Approval, "approve", [approval])
    assert response.status_code == 302
    approval.refresh_from_db()
    frozen.refresh_from_db()
    assert approval.status == ApprovalStatus.PENDING
    assert frozen.status == AccountStatus.FROZEN


def test_reversal_action_posts_one_compensating_entry(bank: None) -> None:
    # The newest deposit whose account is active and still holds the amount: reversible.
    entry = next(
        e
        for e in JournalEntry.objects.filter(kind=EntryKind.DEPOSIT).order_by("-id")
        for p in e.postings.filter(account__is_internal=False, account__status=AccountStatus.ACTIVE)
        if p.account.available >= e.amount
    )
    client = _login("operations")
    _act(client, JournalEntry, "reverse_entries", [entry])
    _act(client, JournalEntry, "reverse_entries", [entry])  # refused the second time: already reversed
    assert JournalEntry.objects.filter(reverses=entry).count() == 1
    call_command("check_ledger", stdout=StringIO())

    before = JournalEntry.objects.count()
    _act(_login("auditor"), JournalEntry, "reverse_entries", [entry])  # may look, may not post
    assert JournalEntry.objects.count() == before
