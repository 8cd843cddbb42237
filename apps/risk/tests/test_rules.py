"""The rules engine: each rule kind at its boundary, the strongest action wins, review holds a
transfer for a risk officer (202 pending_approval) and block refuses it (422)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from apps.common.errors import BlockedByScreening, PermissionDenied
from apps.common.money import Money
from apps.common.principals import Actor, Channel
from apps.compliance.models import Approval, ApprovalStatus
from apps.compliance.services import approval_approve
from apps.customers.models import Customer
from apps.risk.models import Alert, AlertStatus, Rule, RuleStatus
from apps.risk.services import rules_evaluate
from apps.risk.tests.conftest import api_actor
from apps.transactions.models import JournalEntry, Posting
from apps.transactions.screening import Movement
from apps.transactions.services import PendingReview, transfer_submit

pytestmark = pytest.mark.usefixtures("no_rules", "no_limits")

OFFICER = Actor(label="user:risk-officer", channel=Channel.BRANCH)


def activate(code: str, kind: str, parameters: dict[str, Any], action: str = "review") -> Rule:
    return Rule.objects.create(code=code, version=1, kind=kind, parameters=parameters, action=action, status="active")


def foreign(make_customer: Any, country: str) -> Any:
    customer = make_customer()
    Customer.objects.filter(pk=customer.pk).update(country=country)
    customer.refresh_from_db()
    return customer


def movement(source: Any, target: Any, amount: str) -> Movement:
    return Movement(
        kind="transfer", actor=api_actor(source.customer), money=Money(Decimal(amount), source.currency),
        source=source, target=target,
    )  # fmt: skip


def test_velocity_allows_the_nth_and_reviews_the_next(make_account, send):
    activate("velocity", "velocity", {"count": 3, "minutes": 10})
    source, target = make_account(balance="100"), make_account()
    for _ in range(3):
        send(source, target, "1")  # the third is still within "3 in 10 minutes"
    action, hits = rules_evaluate(movement(source, target, "1"))
    assert action == "review"
    assert "more than 3 movements in 10 minutes" in hits[0].reason


def test_velocity_forgets_movements_older_than_its_window(make_account, send):
    activate("velocity", "velocity", {"count": 1, "minutes": 10})
    source, target = make_account(balance="100"), make_account()
    send(source, target, "1")
    later = timezone.now() + dt.timedelta(minutes=10, seconds=1)
    assert rules_evaluate(movement(source, target, "1"), now=later)[0] == "allow"


def test_new_beneficiary_with_a_large_amount_is_reviewed_at_the_threshold_not_below(make_account, send):
    activate("new-ben", "new_beneficiary_large", {"amount": "50000", "currency": "CNY"})
    source, target = make_account(balance="100000"), make_account()
    assert rules_evaluate(movement(source, target, "49999.99"))[0] == "allow"
    assert rules_evaluate(movement(source, target, "50000.00"))[0] == "review"


def test_a_beneficiary_paid_before_is_not_new(make_account, send):
    activate("new-ben", "new_beneficiary_large", {"amount": "100", "currency": "CNY"})
    source, target = make_account(balance="1000"), make_account()
    send(source, target, "10")
    assert rules_evaluate(movement(source, target, "500"))[0] == "allow"


def test_own_accounts_are_never_a_new_beneficiary(make_customer, make_account):
    activate("new-ben", "new_beneficiary_large", {"amount": "100", "currency": "CNY"})
    customer = make_customer()
    source, own = make_account(customer=customer, balance="1000"), make_account(customer=customer)
    assert rules_evaluate(movement(source, own, "500"))[0] == "allow"


STRUCTURING = {"threshold": "50000", "currency": "CNY", "margin_percent": "10", "count": 3, "hours": 24}


def test_structuring_band_boundaries(make_account, send):
    activate("structuring", "structuring", {**STRUCTURING, "count": 1})
    source, target = make_account(balance="200000"), make_account()
    assert rules_evaluate(movement(source, target, "44999.99"))[0] == "allow"  # below the band
    assert rules_evaluate(movement(source, target, "45000.00"))[0] == "review"  # 10% under: in
    assert rules_evaluate(movement(source, target, "49999.99"))[0] == "review"
    assert rules_evaluate(movement(source, target, "50000.00"))[0] == "allow"  # reported anyway


def test_structuring_scenario_several_amounts_just_under_50000_in_a_day_are_held(make_customer, make_account, send):
    """Two 49,000 CNY transfers pass; the third of the day is held for a risk officer, with an alert."""
    activate("structuring", "structuring", STRUCTURING)
    customer = make_customer()
    source = make_account(customer=customer, balance="200000")
    targets = [make_account() for _ in range(3)]
    send(source, targets[0], "49000")
    send(source, targets[1], "48500")
    before = Posting.objects.count()
    result = transfer_submit(
        actor=api_actor(customer), from_account=source.public_id, to_account=targets[2].public_id,
        money=Money(Decimal("49500"), "CNY"),
    )  # fmt: skip
    assert isinstance(result, PendingReview)
    assert "structuring" in result.reason
    assert Posting.objects.count() == before  # nothing posted
    approval = Approval.objects.get(public_id=result.approval)
    assert approval.action == "risk.transfer_review"
    alert = Alert.objects.get(reference=result.approval)
    assert (alert.outcome, alert.status, alert.customer_id) == ("review", AlertStatus.OPEN, customer.pk)


def test_structuring_as_block_refuses_the_third(make_account, send):
    activate("structuring", "structuring", STRUCTURING, action="block")
    source = make_account(balance="200000")
    target = make_account()
    send(source, target, "49000")
    send(source, target, "49000")
    before = JournalEntry.objects.count()
    with pytest.raises(BlockedByScreening) as refused:
        send(source, target, "49000")
    assert "structuring" in refused.value.extra["reason"]
    assert JournalEntry.objects.count() == before


def test_dormant_account_suddenly_active_is_reviewed_after_the_number_of_days(make_account, send):
    activate("dormant", "dormant_reactivated", {"days": 180})
    source, target = make_account(balance="100"), make_account()
    last = Posting.objects.filter(account=source).latest("created_at").created_at
    assert rules_evaluate(movement(source, target, "1"), now=last + dt.timedelta(days=180))[0] == "allow"
    assert rules_evaluate(movement(source, target, "1"), now=last + dt.timedelta(days=180, seconds=1))[0] == "review"


def test_high_risk_country_blocks_with_the_country_named(make_customer, make_account, send):
    activate("hrc", "high_risk_country", {"countries": ["SG"]}, action="block")
    cn_source = make_account(balance="100")
    sg_target = make_account(customer=foreign(make_customer, "SG"))
    action, hits = rules_evaluate(movement(cn_source, sg_target, "1"))
    assert action == "block"
    assert "SG" in hits[0].reason
    assert rules_evaluate(movement(cn_source, make_account(), "1"))[0] == "allow"


def test_the_strongest_action_wins_and_every_reason_is_given(make_customer, make_account):
    activate("hrc", "high_risk_country", {"countries": ["SG"]}, action="block")
    activate("new-ben", "new_beneficiary_large", {"amount": "1", "currency": "CNY"})
    source = make_account(balance="100")
    target = make_account(customer=foreign(make_customer, "SG"))
    action, hits = rules_evaluate(movement(source, target, "5"))
    assert action == "block"
    assert {hit.rule.code for hit in hits} == {"hrc", "new-ben"}


def test_retired_and_proposed_rules_do_not_apply(make_account):
    rule = activate("new-ben", "new_beneficiary_large", {"amount": "1", "currency": "CNY"})
    source, target = make_account(balance="100"), make_account()
    for status in (RuleStatus.RETIRED, RuleStatus.PROPOSED):
        Rule.objects.filter(pk=rule.pk).update(status=status)
        assert rules_evaluate(movement(source, target, "5"))[0] == "allow"


def test_a_rule_limited_to_other_channels_does_not_apply(make_account):
    rule = activate("new-ben", "new_beneficiary_large", {"amount": "1", "currency": "CNY"})
    Rule.objects.filter(pk=rule.pk).update(channels=["portal"])
    assert rules_evaluate(movement(make_account(balance="100"), make_account(), "5"))[0] == "allow"


def test_review_then_approved_by_another_principal_posts_once(make_customer, make_account, make_api):
    activate("new-ben", "new_beneficiary_large", {"amount": "1000", "currency": "CNY"})
    customer = make_customer()
    source, target = make_account(customer=customer, balance="5000"), make_account()
    caller = make_api(customer=customer, scopes=["payments:write", "accounts:read"])
    body = {
        "from_account": str(source.public_id),
        "to_account": str(target.public_id),
        "amount": "2000",
        "currency": "CNY",
    }
    response = caller.post("/api/v1/transfers/", body)
    assert response.status_code == 202, response.content
    assert response.json()["status"] == "pending_approval"
    approval = Approval.objects.get(public_id=response.json()["approval"])
    requester = Actor(label=approval.requested_by, channel=Channel.API, customer_id=customer.pk)
    with pytest.raises(PermissionDenied):
        approval_approve(actor=requester, approval=approval)
    assert Posting.objects.filter(account=target).count() == 0
    approved = approval_approve(actor=OFFICER, approval=approval, reason="known supplier")
    assert approved.status == ApprovalStatus.APPROVED
    assert Posting.objects.filter(account=target).count() == 1
    target.refresh_from_db()
    assert target.balance == Decimal("2000")
    from apps.common.errors import ApprovalNotPending

    with pytest.raises(ApprovalNotPending):
        approval_approve(actor=OFFICER, approval=approval)
    assert Posting.objects.filter(account=target).count() == 1


def test_block_through_the_api_is_422_blocked_by_screening_with_the_reason(make_customer, make_account, make_api):
    activate("hrc", "high_risk_country", {"countries": ["SG"]}, action="block")
    customer = make_customer()
    source = make_account(customer=customer, balance="5000")
    target = make_account(customer=foreign(make_customer, "SG"))
    caller = make_api(customer=customer, scopes=["payments:write", "accounts:read"])
    before = JournalEntry.objects.count(), Approval.objects.count()
    body = {
        "from_account": str(source.public_id),
        "to_account": str(target.public_id),
        "amount": "20",
        "currency": "CNY",
    }
    response = caller.post("/api/v1/transfers/", body)
    assert response.status_code == 422
    assert response.json()["code"] == "blocked_by_screening"
    assert "SG" in response.json()["reason"]
    assert (JournalEntry.objects.count(), Approval.objects.count()) == before


def test_a_withdrawal_sent_to_review_is_refused_as_withdrawals_cannot_wait(make_account):
    activate("velocity", "velocity", {"count": 0, "minutes": 10})
    from django.db import transaction

    from apps.transactions.services import withdrawal_create

    source = make_account(balance="100")
    before = JournalEntry.objects.count()
    with pytest.raises(BlockedByScreening), transaction.atomic():
        withdrawal_create(actor=api_actor(source.customer), account=source.public_id, money=Money(Decimal("1"), "CNY"))
    assert JournalEntry.objects.count() == before
