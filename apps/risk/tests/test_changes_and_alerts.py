"""Maker-checker for limit raises and rule versions (through apps.compliance approvals), lowering
at once with a review afterwards, the alert workflow and the customer risk score's factors."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from apps.audit.models import AuditEvent
from apps.common.errors import ApprovalNotPending, PermissionDenied, ValidationFailed
from apps.common.principals import Actor, Channel
from apps.compliance.models import Approval, ApprovalStatus
from apps.compliance.services import approval_approve, approvals_expire
from apps.risk import selectors
from apps.risk.models import Alert, AlertStatus, LimitRule, RiskProfile, Rule, RuleStatus
from apps.risk.services import (
    alert_assign,
    alert_close,
    alert_comment,
    customer_risk_score,
    limit_set,
    risk_profile_set,
    rule_propose,
)

MAKER = Actor(label="user:maker", channel=Channel.BRANCH)
CHECKER = Actor(label="user:checker", channel=Channel.BRANCH)


def api_cny() -> selectors.EffectiveLimit:
    return selectors.limit_effective(channel="api", product="", tier="standard", currency="CNY")


def rules_state() -> list[tuple[Any, ...]]:
    return sorted(Rule.objects.values_list("code", "version", "status"))


def limits_state() -> list[tuple[Any, ...]]:
    return sorted(LimitRule.objects.values_list("pk", "per_transaction", "daily", "monthly"))


# --- limits ----------------------------------------------------------------------------------


def raise_daily(db: Any) -> Approval:
    result = limit_set(
        actor=MAKER, channel="api", currency="CNY", per_transaction=Decimal("50000"), daily=Decimal("300000"),
        monthly=Decimal("1000000"), reason="busy season",
    )  # fmt: skip
    assert isinstance(result, Approval)
    return result


def test_raising_a_limit_waits_for_a_second_person(db):
    before = limits_state()
    approval = raise_daily(db)
    assert approval.action == "risk.limit_set"
    assert limits_state() == before
    assert api_cny().daily == Decimal("200000")
    approval_approve(actor=CHECKER, approval=approval)
    assert api_cny().daily == Decimal("300000")


def test_the_maker_cannot_approve_their_own_limit_raise(db):
    approval = raise_daily(db)
    before = limits_state()
    with pytest.raises(PermissionDenied):
        approval_approve(actor=MAKER, approval=approval)
    assert limits_state() == before
    assert Approval.objects.get(pk=approval.pk).status == ApprovalStatus.PENDING


def test_a_limit_raise_approved_twice_runs_once(db):
    approval = raise_daily(db)
    approval_approve(actor=CHECKER, approval=approval)
    after = limits_state()
    with pytest.raises(ApprovalNotPending):
        approval_approve(actor=Actor(label="user:third", channel=Channel.BRANCH), approval=approval)
    assert limits_state() == after


def test_an_expired_limit_raise_does_nothing(db):
    approval = raise_daily(db)
    Approval.objects.filter(pk=approval.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    before = limits_state()
    with pytest.raises(ApprovalNotPending):
        approval_approve(actor=CHECKER, approval=approval)
    assert approvals_expire() == 1
    assert limits_state() == before
    assert api_cny().daily == Decimal("200000")


def test_making_a_limit_unlimited_is_a_raise(db):
    result = limit_set(actor=MAKER, channel="api", currency="CNY", per_transaction=Decimal("50000"))
    assert isinstance(result, Approval)


def test_lowering_a_limit_applies_at_once_and_is_reviewed_after(db):
    result = limit_set(
        actor=MAKER, channel="api", currency="CNY", per_transaction=Decimal("10000"), daily=Decimal("100000"),
        monthly=Decimal("500000"),
    )  # fmt: skip
    assert isinstance(result, LimitRule)
    assert api_cny().per_transaction == Decimal("10000")
    review = Approval.objects.get(action="risk.limit_review")
    assert review.payload["limit_rule"] == result.pk
    assert AuditEvent.objects.filter(action="risk.limit_set").exists()


def test_a_negative_limit_is_refused(db):
    before = limits_state()
    with pytest.raises(ValidationFailed):
        limit_set(actor=MAKER, channel="api", currency="CNY", daily=Decimal("-1"))
    assert limits_state() == before


def test_a_customer_bound_principal_cannot_set_limits(db, make_customer):
    customer = make_customer()
    before = limits_state(), Approval.objects.count()
    with pytest.raises(PermissionDenied):
        limit_set(actor=Actor("client:x", Channel.API, customer.pk), channel="api", currency="CNY", daily=Decimal(1))
    assert (limits_state(), Approval.objects.count()) == before


# --- rules -----------------------------------------------------------------------------------


def propose(db: Any) -> Rule:
    return rule_propose(
        actor=MAKER, code="velocity-20-in-10", kind="velocity", parameters={"count": 5, "minutes": 10}, action="block"
    )


def rule_approval(rule: Rule) -> Approval:
    return Approval.objects.get(action="risk.rule_activate", payload__rule=rule.pk)


def test_a_rule_change_is_a_new_version_activated_on_approval(db):
    rule = propose(db)
    assert (rule.version, rule.status) == (2, RuleStatus.PROPOSED)
    assert Rule.objects.get(code=rule.code, version=1).status == RuleStatus.ACTIVE
    approval_approve(actor=CHECKER, approval=rule_approval(rule))
    assert Rule.objects.get(code=rule.code, version=1).status == RuleStatus.RETIRED
    assert Rule.objects.get(code=rule.code, version=2).status == RuleStatus.ACTIVE


def test_the_maker_cannot_approve_their_own_rule_change(db):
    rule = propose(db)
    before = rules_state()
    with pytest.raises(PermissionDenied):
        approval_approve(actor=MAKER, approval=rule_approval(rule))
    assert rules_state() == before


def test_a_rule_change_approved_twice_runs_once(db):
    rule = propose(db)
    approval_approve(actor=CHECKER, approval=rule_approval(rule))
    after = rules_state(), AuditEvent.objects.filter(action="risk.rule_activate").count()
    with pytest.raises(ApprovalNotPending):
        approval_approve(actor=CHECKER, approval=rule_approval(rule))
    assert (rules_state(), AuditEvent.objects.filter(action="risk.rule_activate").count()) == after


def test_an_expired_rule_change_does_nothing(db):
    rule = propose(db)
    Approval.objects.filter(pk=rule_approval(rule).pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    before = rules_state()
    with pytest.raises(ApprovalNotPending):
        approval_approve(actor=CHECKER, approval=rule_approval(rule))
    assert rules_state() == before


def test_a_rule_with_missing_parameters_is_refused(db):
    before = rules_state(), Approval.objects.count()
    with pytest.raises(ValidationFailed):
        rule_propose(actor=MAKER, code="x", kind="structuring", parameters={"threshold": "1"}, action="review")
    assert (rules_state(), Approval.objects.count()) == before


# --- alerts ----------------------------------------------------------------------------------


@pytest.fixture
def alert(make_customer) -> Alert:
    return Alert.objects.create(
        customer=make_customer(), outcome="review", reason="structuring", kind="transfer", amount=Decimal(49000),
        currency="CNY",
    )  # fmt: skip


def test_alert_is_assigned_commented_and_closed_with_a_disposition_all_audited(alert):
    assert alert in selectors.alert_queue()
    alert = alert_assign(actor=CHECKER, alert=alert, assignee="risk-officer")
    assert (alert.status, alert.assignee) == (AlertStatus.ASSIGNED, "risk-officer")
    alert = alert_comment(actor=CHECKER, alert=alert, text="called the customer")
    assert "called the customer" in alert.notes
    alert = alert_close(actor=CHECKER, alert=alert, disposition="false_positive", note="invoices seen")
    assert (alert.status, alert.disposition, alert.closed_by) == (AlertStatus.CLOSED, "false_positive", CHECKER.label)
    assert alert not in selectors.alert_queue()
    actions = set(AuditEvent.objects.filter(object_id=str(alert.public_id)).values_list("action", flat=True))
    assert actions == {"risk.alert_assign", "risk.alert_comment", "risk.alert_close"}


def test_a_closed_alert_cannot_be_changed(alert):
    alert_close(actor=CHECKER, alert=alert, disposition="true_positive")
    with pytest.raises(ValidationFailed):
        alert_assign(actor=CHECKER, alert=alert, assignee="someone")
    assert Alert.objects.get(pk=alert.pk).assignee == ""


def test_closing_needs_a_known_disposition(alert):
    with pytest.raises(ValidationFailed):
        alert_close(actor=CHECKER, alert=alert, disposition="maybe")
    assert Alert.objects.get(pk=alert.pk).status == AlertStatus.OPEN


# --- customer risk score ---------------------------------------------------------------------


def test_risk_score_stores_each_factor_contribution(make_customer, alert):
    customer = alert.customer
    profile = customer_risk_score(customer=customer)
    assert set(profile.factors) == {"kyc", "country", "pep", "product", "volume_30d", "open_alerts"}
    assert profile.factors["open_alerts"] == {"value": 1, "points": 5}
    assert profile.factors["kyc"]["points"] == 0  # verified
    assert profile.score == sum(f["points"] for f in profile.factors.values())


def test_pep_flag_and_high_risk_country_raise_the_score_at_once(make_customer):
    customer = make_customer()
    base = customer_risk_score(customer=customer).score
    assert base is not None
    profile = risk_profile_set(actor=CHECKER, customer=customer, pep=True)
    assert profile.score == base + 25
    Rule.objects.filter(kind="high_risk_country").update(parameters={"countries": ["CN"]})
    assert customer_risk_score(customer=customer).factors["country"]["points"] == 25


def test_unverified_kyc_scores_higher(make_customer):
    assert customer_risk_score(customer=make_customer(verified=False)).factors["kyc"]["points"] == 20


def test_risk_score_command_scores_everyone(make_customer, capsys):
    make_customer()
    make_customer()
    call_command("risk_score")
    assert RiskProfile.objects.filter(score__isnull=False).count() == 2
