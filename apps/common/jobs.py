"""Enqueueing background jobs after commit, without failing the business action.

Services never import another app's tasks: they name the task and this helper sends it once
the transaction commits. A broker that is down does not fail the request that committed: the
job is only a nudge, and the scheduled sweeps that read the database state pick the work up
when the broker is back (every finsys task is idempotent: the database decides what to do).
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction

logger = logging.getLogger(__name__)


def job_send(name: str, *args: Any, countdown: float | None = None) -> bool:
    """Send the task called `name` now (eagerly in development). False when the broker refused."""
    from celery import current_app
    from kombu.exceptions import OperationalError

    task = current_app.tasks.get(name)
    if task is None:
        # Import the task modules only when the task is missing: in a worker every
        # import_default_modules() also runs all of Django's system checks (Celery's Django
        # fixup), which made each job a sweep re-sent cost milliseconds of CPU.
        current_app.loader.import_default_modules()
        # Still None in a fresh web process whose threads race the lazy task autodiscovery (seen
        # under load in tests/reliability): then it is sent by its name, which needs no registry.
        task = current_app.tasks.get(name)
    if current_app.conf.task_always_eager:
        (task or current_app.tasks[name]).apply_async(args=args, countdown=countdown)
        return True
    try:
        # Publishing on a broker that is down would wait for it to come back (kombu retries the
        # connection without limit): connect once, and give up at the first refusal.
        with current_app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=0)
            if task is not None:
                task.apply_async(args=args, countdown=countdown, retry=False, connection=connection)
            else:
                current_app.send_task(name, args=args, countdown=countdown, retry=False, connection=connection)
    except (OperationalError, OSError) as exc:
        logger.warning("could not enqueue %s (%s); the scheduled sweep will pick it up", name, exc)
        return False
    return True


def job_enqueue_after_commit(name: str, *args: Any, countdown: float | None = None) -> None:
    """Send the task once the current transaction commits (at once outside a transaction).

    The business action has committed by then: whatever goes wrong in sending the nudge is
    logged, never turned into an error answer for work that was done."""

    def send() -> None:
        try:
            job_send(name, *args, countdown=countdown)
        except Exception:
            logger.exception("could not enqueue %s; the scheduled sweep will pick it up", name)

    transaction.on_commit(send)
