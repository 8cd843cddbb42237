"""Rules and limits editors: versioned rule proposals and limit changes, maker-checked."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from apps.compliance.models import Approval, ApprovalStatus
from apps.risk.models import LimitRule, Rule, RuleStatus
from apps.risk.selectors import limit_effective
from apps.staff.tests.queues_support import client_of

pytestmark = pytest.mark.django_db


def _messages(response) -> str:
    return " ".join(str(m) for m in response.context["messages"])


def _propose(client, **overrides):
    body = {
        "code": "velocity-20-in-10",
        "kind": "velocity",
        "action": "block",
        "parameters": json.dumps({"count": 10, "minutes": 5}),
        "channels": ["api", "portal"],
        "reason": "tighter",
        **overrides,
    }
    return client.post("/staff/risk/rules/", body, follow=True)


def test_a_rule_change_is_a_new_version_the_maker_cannot_approve():
    _m, maker = client_of("risk_officer", "rita")
    _c, checker = client_of("risk_officer", "ravi")
    before = Rule.objects.get(code="velocity-20-in-10", status=RuleStatus.ACTIVE)
    prefill = maker.get("/staff/risk/rules/", {"edit": "velocity-20-in-10"})
    assert json.loads(prefill.context["form"].initial["parameters"]) == before.parameters
    response = _propose(maker)
    assert "version 2 is proposed" in _messages(response)
    proposed = Rule.objects.get(code="velocity-20-in-10", version=before.version + 1)
    assert proposed.status == RuleStatus.PROPOSED
    assert proposed.channels == ["api", "portal"]
    approval = Approval.objects.get(action="risk.rule_activate", status=ApprovalStatus.PENDING)

    own = maker.post(f"/staff/risk/changes/{approval.public_id}/decide/", {"decision": "approve"}, follow=True)
    assert "another person must decide" in _messages(own)
    proposed.refresh_from_db()
    assert proposed.status == RuleStatus.PROPOSED

    checker.post(f"/staff/risk/changes/{approval.public_id}/decide/", {"decision": "approve"})
    proposed.refresh_from_db()
    before.refresh_from_db()
    assert (proposed.status, before.status) == (RuleStatus.ACTIVE, RuleStatus.RETIRED)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"parameters": "{count: 10"}, "This is not valid JSON"),
        ({"parameters": "[1, 2]"}, "Write a JSON object"),
        ({"parameters": json.dumps({"count": 10})}, "Missing: minutes"),
        ({"parameters": json.dumps({"count": "ten", "minutes": 5})}, "count must be a whole number"),
        ({"kind": "high_risk_country", "parameters": json.dumps({"countries": ["North Korea"]})}, "two-letter"),
        ({"kind": "structuring", "parameters": json.dumps(
            {"threshold": "-5", "currency": "cny", "margin_percent": "10", "count": 3, "hours": 24})}, "threshold must be"),
        ({"code": "Not A Slug!"}, "Enter a valid"),
        ({"action": "maybe"}, "Select a valid choice"),
    ],
)  # fmt: skip
def test_bad_rule_proposals_are_form_errors_and_change_nothing(overrides, message):
    _m, maker = client_of("risk_officer", "rita")
    rules, approvals = Rule.objects.count(), Approval.objects.count()
    response = _propose(maker, **overrides)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert (Rule.objects.count(), Approval.objects.count()) == (rules, approvals)


def test_raising_a_limit_waits_for_a_second_person_lowering_applies_at_once():
    _m, maker = client_of("risk_officer", "rita")
    _c, checker = client_of("risk_officer", "ravi")
    scope = {"channel": "portal", "product": "", "tier": "standard", "currency": "CNY"}
    base = {"currency": "CNY", "channel": "portal", "product": "", "tier": ""}
    raised = maker.post(
        "/staff/risk/limits/",
        {**base, "per_transaction": "80000", "daily": "200000", "monthly": "1000000", "reason": "premium push"},
        follow=True,
    )
    assert "waits for another person" in _messages(raised)
    assert limit_effective(**scope).per_transaction == Decimal("50000")
    approval = Approval.objects.get(action="risk.limit_set", status=ApprovalStatus.PENDING)
    own = maker.post(f"/staff/risk/changes/{approval.public_id}/decide/", {"decision": "approve"}, follow=True)
    assert "another person must decide" in _messages(own)
    assert limit_effective(**scope).per_transaction == Decimal("50000")
    checker.post(f"/staff/risk/changes/{approval.public_id}/decide/", {"decision": "approve"})
    assert limit_effective(**scope).per_transaction == Decimal("80000")

    lowered = maker.post(
        "/staff/risk/limits/",
        {**base, "per_transaction": "1000", "daily": "5000", "monthly": "20000", "reason": "incident"},
        follow=True,
    )
    assert "lowered now" in _messages(lowered)
    assert limit_effective(**scope).per_transaction == Decimal("1000")
    assert Approval.objects.filter(action="risk.limit_review", status=ApprovalStatus.PENDING).count() == 1
    page = checker.get("/staff/risk/limits/", {"channel": "portal", "currency": "CNY"})
    assert page.context["page"].paginator.count == 3
    assert len(page.context["in_force"] & {r.pk for r in page.context["page"]}) == 1


def test_bad_limits_are_form_errors():
    _m, maker = client_of("risk_officer", "rita")
    count = LimitRule.objects.count()
    for body, message in [
        ({"currency": "CNY", "daily": "-1", "reason": "x"}, "greater than or equal to 0"),
        ({"currency": "CNY", "daily": "500", "monthly": "100", "reason": "x"}, "monthly limit cannot be lower"),
        ({"currency": "XXX", "reason": "x"}, "Select a valid choice"),
        ({"currency": "CNY", "daily": "abc"}, "Enter a number."),
    ]:
        response = maker.post("/staff/risk/limits/", body)
        assert response.status_code == 400, body
        assert message in response.content.decode(), body
    assert LimitRule.objects.count() == count


def test_who_may_see_and_edit_rules_and_limits():
    _a, auditor = client_of("auditor")
    assert auditor.get("/staff/risk/rules/").status_code == 200
    assert auditor.get("/staff/risk/limits/").status_code == 200
    assert "Propose a rule version" not in auditor.get("/staff/risk/rules/").content.decode()
    count = Rule.objects.count()
    assert _propose(auditor).status_code == 403
    assert Rule.objects.count() == count
    _t, teller = client_of("teller")
    assert teller.get("/staff/risk/rules/").status_code == 403
    _c, compliance = client_of("compliance_officer")
    assert compliance.get("/staff/risk/limits/").status_code == 403


def test_a_double_submitted_rule_change_is_proposed_once():
    _m, maker = client_of("risk_officer", "rita")
    _propose(maker)
    again = _propose(maker)
    assert again.status_code == 400
    assert "already waiting for approval" in again.content.decode()
    assert Rule.objects.filter(code="velocity-20-in-10", status=RuleStatus.PROPOSED).count() == 1
    assert Approval.objects.filter(action="risk.rule_activate", status=ApprovalStatus.PENDING).count() == 1
