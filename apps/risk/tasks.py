"""Scheduled risk work (thin: calls services)."""

from celery import shared_task

from apps.risk.services import anomaly_train, customers_risk_score_all
from apps.risk.services_credit import facilities_sync
from apps.risk.services_market import fx_positions_check


@shared_task(name="apps.risk.tasks.score_customers")
def score_customers() -> int:
    """Nightly: recompute every customer's risk score (volume and alerts change without an event)."""
    return customers_risk_score_all()


@shared_task(name="apps.risk.tasks.train_anomaly_model")
def train_anomaly_model() -> int:
    """Nightly: refit the per-customer anomaly baselines from the ledger."""
    return anomaly_train()


@shared_task(name="apps.risk.tasks.sync_facilities")
def sync_facilities() -> dict[str, int]:
    """Daily: start, end and decline overdraft facilities by their dates and approvals."""
    return facilities_sync()


@shared_task(name="apps.risk.tasks.check_fx_positions")
def check_fx_positions() -> int:
    """Every few minutes: an alert for each currency whose net open position is over its limit."""
    return len(fx_positions_check())
