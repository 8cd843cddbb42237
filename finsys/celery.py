"""The Celery app: Redis broker when REDIS_URL is set, eager in-process otherwise."""

import os
from typing import Any

from celery import Celery, Task
from celery.schedules import crontab
from celery.signals import before_task_publish, task_postrun, task_prerun, worker_ready

from finsys.settings import default_module

os.environ.setdefault("DJANGO_SETTINGS_MODULE", default_module())

app = Celery("finsys")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.conf.beat_schedule = {
    # Delete report files past FINSYS_REPORT_TTL_HOURS and mark their jobs expired (apps/reports).
    "expire-reports": {
        "task": "apps.reports.tasks.expire_reports",
        "schedule": 3600.0,
    },
    # Re-queue report jobs whose worker died mid-run (no heartbeat for FINSYS_REPORT_STALE_SECONDS).
    "requeue-stuck-reports": {
        "task": "apps.reports.tasks.requeue_stuck_reports",
        "schedule": float(os.environ.get("FINSYS_REPORT_REQUEUE_SECONDS", "60")),
    },
    # Approvals past their expiry: marked expired (a payment held for review is rejected with it).
    "expire-approvals": {
        "task": "apps.compliance.tasks.expire_approvals",
        "schedule": 300.0,
    },
    "release-expired-holds": {
        "task": "apps.accounts.tasks.release_expired_holds",
        "schedule": 60.0,
    },
    "purge-expired-idempotency-keys": {
        "task": "apps.common.tasks.purge_expired_idempotency_keys",
        "schedule": 3600.0,
    },
    # Hash-chain new audit events and journal entries (docs/audit.md); hourly, also late rows.
    "seal-audit-chains": {
        "task": "apps.audit.tasks.seal_audit_chains",
        "schedule": 5.0,
        "options": {"expires": 5.0},
    },
    "seal-audit-chains-full": {
        "task": "apps.audit.tasks.seal_audit_chains",
        "schedule": 3600.0,
        "kwargs": {"full": True},
    },
    # Sign both chain heads once a day (UTC).
    "create-audit-checkpoint": {
        "task": "apps.audit.tasks.create_audit_checkpoint",
        "schedule": crontab(minute=5, hour=0),
    },
    # AML: yesterday's large-value and suspicious transaction reports (apps/compliance/reports.py).
    "generate-transaction-reports": {
        "task": "apps.compliance.tasks.generate_transaction_reports",
        "schedule": crontab(minute=30, hour=1),
    },
    # Retention (docs/data-governance.md): sessions, OAuth2 tokens, rejected applicants' personal data.
    "purge-expired-data": {
        "task": "apps.ops.tasks.purge_expired_data",
        "schedule": 86400.0,
    },
    # Proves to /readyz and /metrics that beat schedules and a worker consumes (apps/ops).
    "worker-heartbeat": {
        "task": "apps.common.tasks.worker_heartbeat",
        "schedule": float(os.environ.get("FINSYS_WORKER_HEARTBEAT_SECONDS", "30")),
        "options": {"expires": float(os.environ.get("FINSYS_WORKER_HEARTBEAT_SECONDS", "30"))},
    },
    # Risk (docs/risk.md): every customer's risk score, nightly (local time).
    "score-customers": {
        "task": "apps.risk.tasks.score_customers",
        "schedule": crontab(minute=30, hour=1),
    },
    "train-anomaly-model": {
        "task": "apps.risk.tasks.train_anomaly_model",
        "schedule": crontab(minute=0, hour=1),
    },
    # Credit and market risk (docs/adr/0014): facilities start and end by their dates; the net
    # open FX positions are compared with their limits; last month's risk report on the 1st.
    "sync-facilities": {
        "task": "apps.risk.tasks.sync_facilities",
        "schedule": crontab(minute=15, hour=0),
    },
    "check-fx-positions": {
        "task": "apps.risk.tasks.check_fx_positions",
        "schedule": float(os.environ.get("FINSYS_FX_POSITION_CHECK_SECONDS", "300")),
    },
    "risk-report-monthly": {
        "task": "apps.reports.tasks.risk_report_monthly",
        "schedule": crontab(minute=0, hour=3, day_of_month=1),
    },
    # Book gateway answers in batches and re-send payment jobs that were lost.
    "sweep-payments": {
        "task": "apps.transactions.tasks.sweep_payments",
        "schedule": float(os.environ.get("FINSYS_PAYMENT_SWEEP_SECONDS", "10")),
    },
    # Deliver outbox events: webhooks, e-mail, SMS.
    "relay-outbox": {
        "task": "apps.integrations.tasks.relay_outbox",
        "schedule": float(os.environ.get("FINSYS_OUTBOX_RELAY_SECONDS", "5")),
    },
    # End of day (docs/end-of-day.md): close yesterday's business date (yesterday in TIME_ZONE,
    # Asia/Shanghai by default, whatever clock beat runs on); idempotent per date.
    "close-business-day": {
        "task": "apps.eod.tasks.close_business_day",
        "schedule": crontab(minute=30, hour=0),
    },
}


# The request id of the HTTP request that sent a task travels in a message header and is bound
# while the task runs, so the task's log lines carry it (apps/common/request_context.py).


@before_task_publish.connect
def _carry_request_id(headers: dict[str, Any] | None = None, **kwargs: Any) -> None:
    from apps.common.request_context import TASK_HEADER, request_id_current

    request_id = request_id_current()
    if request_id and headers is not None:
        headers.setdefault(TASK_HEADER, request_id)


_bound: dict[str, Any] = {}


@task_prerun.connect
def _bind_request_id(task_id: str = "", task: Task | None = None, **kwargs: Any) -> None:
    from apps.common.request_context import TASK_HEADER, request_id_bind, request_id_current, request_id_is_valid

    carried = getattr(task.request, TASK_HEADER, None) if task is not None else None
    if not (isinstance(carried, str) and request_id_is_valid(carried)):
        carried = request_id_current()  # eager: still inside the request; beat: none
    if carried:
        _bound[task_id] = request_id_bind(carried, task_id=task_id, task=task.name if task else "")


@task_postrun.connect
def _unbind_request_id(task_id: str = "", **kwargs: Any) -> None:
    from apps.common.request_context import request_id_unbind

    tokens = _bound.pop(task_id, None)
    if tokens is not None:
        request_id_unbind(tokens)


@worker_ready.connect
def _first_heartbeat(**kwargs: Any) -> None:
    from apps.common.heartbeat import heartbeat_write

    heartbeat_write()
