"""Scheduled risk work (thin: calls services)."""

from celery import shared_task

from apps.risk.services import anomaly_train, customers_risk_score_all


@shared_task(name="apps.risk.tasks.score_customers")
def score_customers() -> int:
    """Nightly: recompute every customer's risk score (volume and alerts change without an event)."""
    return customers_risk_score_all()


@shared_task(name="apps.risk.tasks.train_anomaly_model")
def train_anomaly_model() -> int:
    """Nightly: refit the per-customer anomaly baselines from the ledger."""
    return anomaly_train()
