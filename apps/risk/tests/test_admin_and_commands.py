"""The risk pages of the back office and the rule/limit commands."""

from __future__ import annotations

import json
from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from apps.common.roles import roles_sync
from apps.compliance.models import Approval
from apps.risk.models import Alert, AlertStatus, Rule, RuleStatus
from tests.support import verified_staff_client


def _staff(username: str, role: str) -> Client:
    roles_sync()
    user = User.objects.create_user(username=username, password="x", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return verified_staff_client(user)


@pytest.fixture
def alert(make_customer) -> Alert:
    return Alert.objects.create(
        customer=make_customer(), outcome="review", reason="structuring", kind="transfer", amount=Decimal(1),
        currency="CNY",
    )  # fmt: skip


def test_a_risk_officer_assigns_and_closes_alerts_in_the_admin_an_auditor_only_looks(alert):
    url = reverse("admin:risk_alert_changelist")
    auditor = _staff("aud", "auditor")
    assert auditor.get(url).status_code == 200
    auditor.post(url, {"action": "assign_to_me", "_selected_action": [alert.pk]})
    assert Alert.objects.get(pk=alert.pk).status == AlertStatus.OPEN
    officer = _staff("risky", "risk_officer")
    officer.post(url, {"action": "assign_to_me", "_selected_action": [alert.pk]})
    assert Alert.objects.get(pk=alert.pk).assignee == "risky"
    officer.post(url, {"action": "close_false_positive", "_selected_action": [alert.pk]})
    closed = Alert.objects.get(pk=alert.pk)
    assert (closed.status, closed.disposition, closed.closed_by) == ("closed", "false_positive", "user:risky")


def test_risk_rule_command_proposes_a_version_for_approval(db):
    User.objects.create_user(username="maker", password="x", is_staff=True)
    out = StringIO()
    call_command(
        "risk_rule", "velocity-20-in-10", "--kind", "velocity", "--parameters", '{"count": 5, "minutes": 10}',
        "--action", "review", "--by", "maker", stdout=out,
    )  # fmt: skip
    assert json.loads(out.getvalue()) == {"rule": "velocity-20-in-10", "version": 2, "status": "pending_approval"}
    assert Rule.objects.get(code="velocity-20-in-10", version=2).status == RuleStatus.PROPOSED
    assert Approval.objects.filter(action="risk.rule_activate").count() == 1


def test_risk_commands_refuse_bad_input_and_change_nothing(db):
    User.objects.create_user(username="maker", password="x", is_staff=True)
    before = Rule.objects.count(), Approval.objects.count()
    with pytest.raises(CommandError):
        call_command("risk_rule", "x", "--kind", "velocity", "--parameters", "{", "--action", "review", "--by", "maker")
    with pytest.raises(CommandError):
        call_command(
            "risk_rule", "x", "--kind", "velocity", "--parameters", "{}", "--action", "review", "--by", "nobody"
        )
    with pytest.raises(CommandError):
        call_command("risk_limit", "--currency", "CNY", "--daily", "lots", "--by", "maker")
    with pytest.raises(CommandError):
        call_command("risk_limit", "--currency", "CNY", "--daily", "-5", "--by", "maker")
    assert (Rule.objects.count(), Approval.objects.count()) == before


def test_risk_limit_command_raise_waits_lowering_applies(db):
    User.objects.create_user(username="maker", password="x", is_staff=True)
    out = StringIO()
    call_command("risk_limit", "--currency", "CNY", "--channel", "api", "--per-transaction", "60000", "--daily",
                 "200000", "--monthly", "1000000", "--by", "maker", stdout=out)  # fmt: skip
    assert json.loads(out.getvalue())["status"] == "pending_approval"
    out = StringIO()
    call_command("risk_limit", "--currency", "CNY", "--channel", "api", "--per-transaction", "1000", "--daily",
                 "200000", "--monthly", "1000000", "--by", "maker", stdout=out)  # fmt: skip
    assert json.loads(out.getvalue())["status"] == "applied"
