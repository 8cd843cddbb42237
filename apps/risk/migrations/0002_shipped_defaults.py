"""Shipped defaults (docs/risk.md): limits for customer-bound channels and the standard rules.

`system` gets no row: the bank's own clients are unlimited (API.md) and not screened by default
(FINSYS_RISK_CHANNELS). Amounts are per customer, summed across all their accounts."""

from decimal import Decimal

from django.db import migrations

LIMITS = [
    # channel, currency, per transaction, daily, monthly
    ("api", "CNY", "50000", "200000", "1000000"),
    ("api", "USD", "7000", "30000", "150000"),
    ("portal", "CNY", "50000", "200000", "1000000"),
    ("portal", "USD", "7000", "30000", "150000"),
]

RULES = [
    # code, kind, parameters, action
    ("velocity-20-in-10", "velocity", {"count": 20, "minutes": 10}, "review"),
    ("new-beneficiary-large", "new_beneficiary_large", {"amount": "50000", "currency": "CNY"}, "review"),
    (
        "structuring-cny-50000",
        "structuring",
        {"threshold": "50000", "currency": "CNY", "margin_percent": "10", "count": 3, "hours": 24},
        "review",
    ),
    ("dormant-365", "dormant_reactivated", {"days": 365}, "review"),
    ("high-risk-country", "high_risk_country", {"countries": ["KP", "IR"]}, "block"),
]


def forwards(apps, schema_editor):
    LimitRule = apps.get_model("risk", "LimitRule")
    Rule = apps.get_model("risk", "Rule")
    for channel, currency, per_tx, daily, monthly in LIMITS:
        LimitRule.objects.create(
            channel=channel,
            currency=currency,
            per_transaction=Decimal(per_tx),
            daily=Decimal(daily),
            monthly=Decimal(monthly),
            created_by="system:migration",
            approved_by="system:migration",
        )
    for code, kind, parameters, action in RULES:
        Rule.objects.create(
            code=code,
            version=1,
            kind=kind,
            parameters=parameters,
            action=action,
            status="active",
            created_by="system:migration",
            approved_by="system:migration",
        )


def backwards(apps, schema_editor):
    apps.get_model("risk", "LimitRule").objects.filter(created_by="system:migration").delete()
    apps.get_model("risk", "Rule").objects.filter(created_by="system:migration").delete()


class Migration(migrations.Migration):
    dependencies = [("risk", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
