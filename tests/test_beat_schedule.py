"""The beat schedule as django-celery-beat's DatabaseScheduler stores and sends it.

After a Redis restart the payment sweep re-sends every payment accepted while Redis was down,
every FINSYS_PAYMENT_SWEEP_SECONDS. A worker that falls behind used to run every queued sweep, each
re-sending all of them again: the queue grew faster than the worker drained it and payments stayed
`held` (docs/reliability.md). A queued sweep now expires when the next one is due."""

from __future__ import annotations

import pytest
from django_celery_beat.schedulers import ModelEntry

from finsys.celery import app

FREQUENT = ("sweep-payments", "relay-outbox", "seal-audit-chains", "worker-heartbeat")


@pytest.mark.django_db
@pytest.mark.parametrize("name", FREQUENT)
def test_a_frequent_periodic_task_expires_when_the_next_run_is_due(name: str) -> None:
    entry = dict(app.conf.beat_schedule[name])
    stored = ModelEntry.from_entry(name, app=app, **entry)  # what beat sends, from the database
    period = float(entry["schedule"])
    assert stored.options.get("expires") == pytest.approx(period, abs=1)
    assert stored.options["expires"] > 0


def test_no_entry_uses_an_option_the_database_scheduler_drops() -> None:
    kept = {"queue", "exchange", "routing_key", "priority", "headers", "expire_seconds"}
    for name, entry in app.conf.beat_schedule.items():
        assert set(entry.get("options", {})) <= kept, name
