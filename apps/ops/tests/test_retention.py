"""Retention: only what is past its period goes; ledger and audit rows are never touched."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from oauth2_provider.models import AccessToken

from apps.audit.models import AuditEvent
from apps.common.errors import PermissionDenied
from apps.common.models import IdempotencyRecord
from apps.common.principals import SYSTEM_ACTOR, Actor, Channel
from apps.customers.models import Customer
from apps.customers.services import PURGED_NAME, customer_decide_kyc, customers_purge_rejected_pii
from apps.ops.tasks import purge_expired_data
from tests.support import ledger_state

DAY = dt.timedelta(days=1)


@pytest.fixture
def retention(settings):
    settings.FINSYS_RETENTION_DAYS_SESSIONS = 7
    settings.FINSYS_RETENTION_DAYS_OAUTH_TOKENS = 30
    settings.FINSYS_RETENTION_DAYS_REJECTED_KYC = 1825
    settings.FINSYS_IDEMPOTENCY_TTL_HOURS = 48
    return settings


def _rejected(make_customer, days_ago: int) -> Customer:
    customer = customer_decide_kyc(
        actor=SYSTEM_ACTOR, customer=make_customer(verified=False), decision="rejected", note="no proof of address"
    )
    Customer.objects.filter(pk=customer.pk).update(kyc_decided_at=timezone.now() - days_ago * DAY)
    return customer


def _session(key: str, expired_days_ago: float) -> None:
    Session.objects.create(session_key=key, session_data="e30:1", expire_date=timezone.now() - expired_days_ago * DAY)


def _idempotency(key: str, hours_ago: int) -> None:
    record = IdempotencyRecord.objects.create(
        principal="client:x", key=key, fingerprint="f", status_code=201, response={}
    )
    IdempotencyRecord.objects.filter(pk=record.pk).update(created_at=timezone.now() - dt.timedelta(hours=hours_ago))


def _audit_rows() -> list[tuple]:
    return list(
        AuditEvent.objects.order_by("pk").values_list("pk", "actor", "action", "object_id", "detail", "created_at")
    )


@pytest.fixture
def bank(retention, make_account, make_customer, api):
    """A bank with money moved, audit events, and records on both sides of every retention limit."""
    rich = make_account(balance="500.00")
    old_rejected = _rejected(make_customer, days_ago=1900)
    recent_rejected = _rejected(make_customer, days_ago=100)
    # Verified, given an account, later rejected: the bank did business with it, its KYC stays.
    client = make_account(balance="20.00").customer
    client = customer_decide_kyc(actor=SYSTEM_ACTOR, customer=client, decision="rejected")
    Customer.objects.filter(pk=client.pk).update(kyc_decided_at=timezone.now() - 1900 * DAY)
    _session("old-session", expired_days_ago=8)
    _session("recently-expired", expired_days_ago=1)
    _session("live-session", expired_days_ago=-1)
    _idempotency("old-key", hours_ago=49)
    _idempotency("new-key", hours_ago=47)
    stale = AccessToken.objects.create(
        token=uuid.uuid4().hex,
        expires=timezone.now() - 31 * DAY,
        scope="x",
        application=AccessToken.objects.get().application,
    )
    return {"rich": rich, "old": old_rejected, "recent": recent_rejected, "client": client, "stale_token": stale}


def _everything() -> dict:
    return {
        "ledger": ledger_state(),
        "audit": _audit_rows(),
        "sessions": sorted(Session.objects.values_list("session_key", flat=True)),
        "idempotency": sorted(IdempotencyRecord.objects.values_list("key", flat=True)),
        "tokens": sorted(AccessToken.objects.values_list("pk", flat=True)),
        "customers": sorted(Customer.objects.values_list("pk", "full_name", "national_id_index", "kyc_note")),
    }


def test_dry_run_counts_what_is_past_retention_and_changes_nothing(bank, capsys):
    before = _everything()
    call_command("purge_expired_data", "--dry-run")
    out = capsys.readouterr().out
    assert "idempotency_records: 1" in out
    assert "sessions: 1" in out
    assert "oauth_access_tokens: 1" in out
    assert "rejected_kyc_personal_data: 1" in out
    assert "would purge 4 records" in out
    assert _everything() == before


def test_purge_removes_only_records_past_retention_and_leaves_ledger_and_audit_intact(bank, capsys):
    before = _everything()
    call_command("purge_expired_data")
    assert "purged 4 records" in capsys.readouterr().out

    after = _everything()
    assert after["ledger"] == before["ledger"]
    assert after["audit"][: len(before["audit"])] == before["audit"]  # every old audit row, unchanged
    new_events = [row[2] for row in after["audit"][len(before["audit"]) :]]
    assert new_events == ["customer.pii_purge", "retention.purge"]
    assert AuditEvent.objects.get(action="customer.pii_purge").object_id == str(bank["old"].public_id)
    assert after["sessions"] == ["live-session", "recently-expired"]
    assert after["idempotency"] == ["new-key"]
    assert bank["stale_token"].pk not in after["tokens"]
    assert len(after["tokens"]) == 1

    old = Customer.objects.get(pk=bank["old"].pk)  # the row stays, its personal data is gone
    assert (old.full_name, old.email, old.national_id, old.national_id_index) == (PURGED_NAME, "", "", "")
    assert (old.phone, old.address, old.date_of_birth, old.kyc_note) == ("", "", "", "")
    assert (old.kyc_status, old.country, old.kind) == ("rejected", "CN", "individual")
    with connection.cursor() as cursor:
        cursor.execute("SELECT national_id, date_of_birth FROM customers_customer WHERE id = %s", [old.pk])
        assert cursor.fetchone() == ("", "")  # no ciphertext left behind: erased, not just unreadable
    for kept in ("recent", "client"):
        customer = Customer.objects.get(pk=bank[kept].pk)
        assert customer.national_id == bank[kept].national_id
        assert customer.national_id_index

    call_command("purge_expired_data")
    assert "purged 0 records" in capsys.readouterr().out


def test_the_beat_task_runs_the_same_purge(bank):
    counts = purge_expired_data.delay().get()
    assert counts["rejected_kyc_personal_data"] == 1
    assert counts["sessions"] == 1
    assert Customer.objects.get(pk=bank["old"].pk).full_name == PURGED_NAME


def test_the_purge_is_scheduled_daily():
    from finsys.celery import app

    entries = {entry["task"]: entry["schedule"] for entry in app.conf.beat_schedule.values()}
    assert entries["apps.ops.tasks.purge_expired_data"] == 86400.0


def test_a_customer_bound_principal_may_not_purge_personal_data(bank):
    before = _everything()
    customer_bound = Actor(label="client:1", channel=Channel.API, customer_id=bank["old"].pk)
    with pytest.raises(PermissionDenied, match="Only the bank purges personal data"):
        customers_purge_rejected_pii(actor=customer_bound, decided_before=timezone.now())
    assert _everything() == before
