"""Facilities, exposures and FX position limits from the command line and in the admin."""

from __future__ import annotations

import json
from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import CommandError, call_command
from django.urls import reverse

from apps.common.money import Money
from apps.common.principals import SYSTEM_ACTOR
from apps.common.roles import roles_sync
from apps.compliance.models import Approval
from apps.compliance.services import approval_approve
from apps.risk.models import FacilityStatus, FxPositionLimit, OverdraftFacility
from apps.risk.tests.test_credit_facilities import CHECKER
from apps.transactions.services import transfer_create
from tests.support import verified_staff_client


def run(*args: str) -> list[dict]:
    out = StringIO()
    call_command(*args, stdout=out)
    return [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]


def test_a_facility_asked_for_by_command_lends_once_approved_and_shows_in_the_exposure(make_account):
    User.objects.create_user(username="maker", password="x", is_staff=True)
    account, sink = make_account(balance="10"), make_account()
    (score,) = run("risk_facility", "score", account.number)
    assert set(score["factors"]) == {"kyc", "tenure_months", "inflows", "average_balance", "risk_score"}
    (asked,) = run("risk_facility", "request", account.number, "--limit", "300", "--rate", "14.5", "--by", "maker")
    assert asked["status"] == "pending_approval"
    approval_approve(actor=CHECKER, approval=Approval.objects.get(public_id=asked["approval"]))
    transfer_create(
        actor=SYSTEM_ACTOR, from_account=account.public_id, to_account=sink.public_id, money=Money(Decimal(110), "CNY")
    )
    rows = run("risk_exposure", "--by", "currency")
    assert rows == [
        {"group": [], "currency": "CNY", "accounts": 1, "limit": "300.00", "drawn": "100.00", "unused": "200.00",
         "exposure": "300.00"},
    ]  # fmt: skip
    with pytest.raises(CommandError):
        run("risk_facility", "request", account.number, "--limit", "lots", "--rate", "1", "--by", "maker")
    with pytest.raises(CommandError):
        run("risk_facility", "request", account.number, "--limit", "300", "--rate", "1", "--by", "nobody")
    with pytest.raises(CommandError):
        run("risk_facility", "end", "not-an-id", "--reason", "x", "--by", "maker")
    (ended,) = run("risk_facility", "end", asked["facility"], "--reason", "closing", "--by", "maker")
    assert ended["status"] == FacilityStatus.ENDED
    assert run("risk_facility", "sync")[0]["lowered"] == 0


def test_fx_position_limit_command_sets_lowers_at_once_and_raises_through_approval(db):
    User.objects.create_user(username="maker", password="x", is_staff=True)
    assert run("fx_position_limit", "USD", "1000", "--by", "maker")[0]["status"] == "applied"
    assert run("fx_position_limit", "USD", "2000", "--by", "maker")[0]["status"] == "pending_approval"
    assert FxPositionLimit.objects.get().limit == Decimal(1000)
    assert run("fx_position_limit", "--check") == [{"alerts_opened": []}]
    assert run("risk_exposure", "--fx") == [
        {"currency": "USD", "position": "0.00", "limit": "1000.00", "breached": False}
    ]
    with pytest.raises(CommandError):
        run("fx_position_limit", "USD", "much", "--by", "maker")


def test_a_risk_officer_ends_a_facility_in_the_admin_an_auditor_only_looks(make_account):
    account = make_account()
    from apps.risk.services_credit import facility_request
    from apps.risk.tests.test_credit_facilities import MAKER

    facility = facility_request(actor=MAKER, account=account, limit=Money(Decimal(500), "CNY"), rate=Decimal(9))
    approval_approve(actor=CHECKER, approval=facility.approval)
    roles_sync()
    url = reverse("admin:risk_overdraftfacility_changelist")
    clients = {}
    for name, role in (("aud", "auditor"), ("risky", "risk_officer")):
        user = User.objects.create_user(username=name, password="x", is_staff=True)
        user.groups.add(Group.objects.get(name=role))
        clients[name] = verified_staff_client(user)
        assert clients[name].get(url).status_code == 200
    clients["aud"].post(url, {"action": "end_now", "_selected_action": [facility.pk]})
    assert OverdraftFacility.objects.get(pk=facility.pk).status == FacilityStatus.ACTIVE
    clients["risky"].post(url, {"action": "end_now", "_selected_action": [facility.pk]})
    ended = OverdraftFacility.objects.get(pk=facility.pk)
    assert (ended.status, ended.end_reason) == (FacilityStatus.ENDED, "ended in the admin by user:risky")
    account.refresh_from_db()
    assert account.overdraft_limit == 0
