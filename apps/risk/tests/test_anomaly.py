"""The anomaly score: a per-customer baseline trained from the ledger, features scored as robust
z-scores with the unusual one named, used by the `anomaly` rule; no baseline: rules only."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from apps.common.money import Money
from apps.risk.models import CustomerBaseline, Rule
from apps.risk.services import anomaly_score, anomaly_train, rules_evaluate
from apps.risk.tests.conftest import api_actor
from apps.transactions.screening import Movement

pytestmark = pytest.mark.usefixtures("no_rules", "no_limits")


@pytest.fixture
def regular(make_customer, make_account, send):
    """A customer who sent 100-120 CNY ten times."""
    customer = make_customer()
    source = make_account(customer=customer, balance="5000")
    target = make_account()
    for i in range(10):
        send(source, target, str(100 + 2 * i))
    return customer, source, target


def test_training_needs_enough_history(regular):
    customer, _source, _target = regular
    assert anomaly_train(min_samples=11) == 0
    assert not CustomerBaseline.objects.exists()
    assert anomaly_train(min_samples=10) == 1
    baseline = CustomerBaseline.objects.get(customer=customer)
    assert baseline.samples == 10
    assert abs(baseline.log_amount_median - Decimal(109).ln()) < Decimal("0.01")


def test_an_unusual_amount_is_named_and_a_usual_one_is_not(regular):
    customer, _source, _target = regular
    anomaly_train()
    now = timezone.now()
    usual = anomaly_score(customer_id=customer.pk, amount=Decimal(110), at=now)
    unusual = anomaly_score(customer_id=customer.pk, amount=Decimal(20000), at=now)
    assert usual is not None
    assert unusual is not None
    assert usual["amount"] < 1
    assert unusual["amount"] > 10
    assert max(unusual, key=lambda k: unusual[k]) == "amount"


def test_an_unusual_hour_is_named(regular):
    customer, _source, _target = regular
    anomaly_train()
    baseline = CustomerBaseline.objects.get(customer=customer)
    far = (int(baseline.hour_median) + 12) % 24
    at = timezone.localtime().replace(hour=far, minute=0)
    features = anomaly_score(customer_id=customer.pk, amount=Decimal(110), at=at)
    assert features is not None
    assert features["hour"] > 3


def test_anomaly_rule_fires_at_its_threshold_with_the_feature_named(regular):
    customer, source, target = regular
    anomaly_train()
    Rule.objects.create(
        code="anomaly", version=1, kind="anomaly", parameters={"threshold": "4"}, action="review", status="active"
    )
    move = Movement(
        kind="transfer", actor=api_actor(customer), money=Money(Decimal("20000"), "CNY"), source=source, target=target
    )
    action, hits = rules_evaluate(move)
    assert action == "review"
    assert "unusual amount" in hits[0].reason
    same = Movement(
        kind="transfer", actor=api_actor(customer), money=Money(Decimal("110"), "CNY"), source=source, target=target
    )
    assert (
        rules_evaluate(same, now=timezone.localtime().replace(hour=int(CustomerBaseline.objects.get().hour_median)))[0]
        == "allow"
    )


def test_without_a_baseline_the_anomaly_rule_stays_silent(make_account):
    Rule.objects.create(
        code="anomaly", version=1, kind="anomaly", parameters={"threshold": "0"}, action="block", status="active"
    )
    source, target = make_account(balance="100"), make_account()
    move = Movement(
        kind="transfer",
        actor=api_actor(source.customer),
        money=Money(Decimal("99"), "CNY"),
        source=source,
        target=target,
    )
    assert rules_evaluate(move)[0] == "allow"


def test_train_command_reports_the_baselines(regular):
    out = StringIO()
    call_command("train_anomaly_model", "--min-samples", "5", stdout=out)
    assert '"baselines": 1' in out.getvalue()
    assert anomaly_train(now=timezone.now() + dt.timedelta(days=400)) == 0  # history too old: none left
    assert not CustomerBaseline.objects.exists()
