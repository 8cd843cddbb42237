"""The Celery app: Redis broker when REDIS_URL is set, eager in-process otherwise."""

import os

from celery import Celery

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
}
