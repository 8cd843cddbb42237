"""django-auditlog: every finsys model's changes are logged with who and from where, personal
data masked; append-only rows and the transfer hot path write no log rows."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from auditlog.models import LogEntry
from auditlog.registry import auditlog
from django.apps import apps
from django.contrib.auth.models import User
from django.db import connection
from django.urls import reverse

from apps.accounts.models import Account
from apps.audit.auditlog import MASK
from apps.common.models import AppendOnlyModel
from apps.customers.models import Customer, KycStatus
from conftest import ApiCaller
from tests.support import verified_staff_client


def _entries(obj: Any) -> Any:
    return LogEntry.objects.get_for_object(obj).order_by("id")


def test_customer_creation_is_logged_with_personal_data_masked(make_customer: Callable[..., Customer]) -> None:
    customer = make_customer(verified=False)
    with connection.cursor() as cursor:
        cursor.execute("SELECT national_id, phone FROM customers_customer WHERE id = %s", [customer.pk])
        ciphertext, _phone = cursor.fetchone()

    created = _entries(customer).get(action=LogEntry.Action.CREATE)

    changes = created.changes
    assert changes["national_id"] == ["None", MASK]
    assert changes["date_of_birth"] == ["None", MASK]
    assert changes["full_name"] == ["None", customer.full_name]
    assert "national_id_index" not in changes
    logged = created.changes_text + str(changes) + created.object_repr
    for secret in (customer.national_id, customer.date_of_birth, ciphertext, customer.national_id_index):
        assert secret not in logged


def test_a_staff_change_in_the_admin_is_logged_with_the_user_and_the_connection_address(
    make_customer: Callable[..., Customer],
) -> None:
    customer = make_customer(verified=False)
    staff = User.objects.create_superuser("supervisor", "s@example.com", "pw")
    client = verified_staff_client(staff)
    client.defaults["REMOTE_ADDR"] = "10.1.2.3"

    response = client.post(
        reverse("admin:customers_customer_changelist"),
        {"action": "verify_kyc", "_selected_action": [customer.pk], "index": 0},
        HTTP_X_FORWARDED_FOR="6.6.6.6",  # a client's claim, not where it came from
    )

    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.kyc_status == KycStatus.VERIFIED
    update = _entries(customer).get(action=LogEntry.Action.UPDATE)
    assert update.actor == staff
    assert update.remote_addr == "10.1.2.3"
    assert update.changes["kyc_status"] == [KycStatus.PENDING, KycStatus.VERIFIED]


def test_an_api_change_is_logged_with_the_client_address_and_masked_personal_data(api: ApiCaller) -> None:
    from auditlog.context import auditlog_value

    from apps.api.tests.test_customers_api import individual

    response = api.post("/api/v1/customers/", individual())

    assert response.status_code == 201, response.content
    customer = Customer.objects.get(public_id=response.json()["id"])
    created = _entries(customer).get(action=LogEntry.Action.CREATE)
    assert created.remote_addr == "127.0.0.1"
    assert created.actor is None  # the API client is named by the audit event of the same transaction
    assert created.changes["phone"] == ["None", MASK]
    assert "+8613800138000" not in str(created.changes)
    with pytest.raises(LookupError):
        auditlog_value.get()  # nothing of the request is left for the next one on this thread


def test_money_movements_write_no_auditlog_rows(api: ApiCaller, make_account: Callable[..., Account]) -> None:
    source, target = make_account(balance="100.00"), make_account()
    before = LogEntry.objects.count()

    for amount in ("1.00", "2.00"):
        response = api.post(
            "/api/v1/transfers/",
            {
                "from_account": str(source.public_id),
                "to_account": str(target.public_id),
                "amount": amount,
                "currency": "CNY",
            },
        )
        assert response.status_code == 201, response.content
    response = api.post("/api/v1/deposits/", {"account": str(target.public_id), "amount": "5.00", "currency": "CNY"})
    assert response.status_code == 201, response.content

    assert LogEntry.objects.count() == before


def test_every_finsys_model_is_tracked_except_append_only_and_technical_rows() -> None:
    finsys_models = [m for c in apps.get_app_configs() if c.name.startswith("apps.") for m in c.get_models()]
    untracked = {m._meta.label_lower for m in finsys_models if not auditlog.contains(m)}

    assert untracked == {m._meta.label_lower for m in finsys_models if issubclass(m, AppendOnlyModel)} | {
        "common.idempotencyrecord",
        "audit.chainhead",
        "risk.limitusage",  # a counter locked and bumped by every screened movement
        "risk.customerbaseline",  # refitted from the ledger nightly
        "compliance.watchlistentry",
    }
    assert {"transactions.journalentry", "transactions.posting", "audit.auditevent"} <= untracked
    for label in ("auth.user", "auth.group", "oauth2_provider.application", "accounts.hold", "compliance.approval"):
        assert auditlog.contains(apps.get_model(label)), label
    account_fields = auditlog.get_model_fields(Account)
    assert {"balance", "available"} <= set(account_fields["exclude_fields"])
    assert set(auditlog.get_model_fields(Customer)["mask_fields"]) == {
        "national_id",
        "phone",
        "address",
        "date_of_birth",
    }


@pytest.mark.postgres
def test_postgresql_refuses_to_update_or_delete_audit_rows(make_customer: Callable[..., Customer]) -> None:
    from django.db import IntegrityError, transaction

    from apps.audit.services import chains_seal, checkpoint_create

    make_customer()
    chains_seal()
    checkpoint_create(actor="system:test")
    for sql in (
        "UPDATE audit_auditevent SET actor = 'x'",
        "DELETE FROM audit_auditevent",
        "UPDATE audit_chainlink SET content_hash = 'x'",
        "DELETE FROM audit_chainlink",
        "UPDATE audit_auditcheckpoint SET head_hash = 'x'",
        "DELETE FROM audit_auditcheckpoint",
    ):
        with pytest.raises(IntegrityError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql)
