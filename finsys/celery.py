"""The Celery app: Redis broker when REDIS_URL is set, eager in-process otherwise."""

import os

from celery import Celery
from celery.schedules import crontab

from finsys.settings import default_module

os.environ.setdefault("DJANGO_SETTINGS_MODULE", default_module())

app = Celery("finsys")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.conf.beat_schedule = {
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
    # Retention (docs/data-governance.md): sessions, OAuth2 tokens, rejected applicants' personal data.
    "purge-expired-data": {
        "task": "apps.ops.tasks.purge_expired_data",
        "schedule": 86400.0,
    },
}
