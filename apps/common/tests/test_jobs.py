"""Enqueueing after commit never turns work that was done into an error answer."""

from __future__ import annotations

import pytest
from django.db import transaction

from apps.common.jobs import job_enqueue_after_commit
from apps.common.models import IdempotencyRecord


@pytest.mark.django_db(transaction=True)
def test_a_failure_to_send_after_commit_is_logged_not_raised(capfd: pytest.CaptureFixture[str]) -> None:
    with transaction.atomic():
        IdempotencyRecord.objects.create(principal="test", key="k", fingerprint="f")
        job_enqueue_after_commit("apps.common.no_such_module.no_such_task")

    assert IdempotencyRecord.objects.filter(key="k").exists()  # committed, and no exception
    assert "could not enqueue apps.common.no_such_module.no_such_task" in capfd.readouterr().err


@pytest.mark.django_db
def test_sending_a_registered_task_does_not_import_the_task_modules_again() -> None:
    # In a worker every import of the task modules also runs all of Django's system checks
    # (Celery's Django fixup listens to this signal): a sweep re-sending hundreds of payments
    # did that hundreds of times.
    from celery import current_app
    from celery.exceptions import NotRegistered
    from celery.signals import import_modules

    from apps.common.jobs import job_send

    current_app.loader.import_default_modules()
    imports: list[object] = []

    def count(sender: object = None, **kwargs: object) -> None:
        imports.append(sender)

    import_modules.connect(count, weak=False)
    try:
        assert job_send("apps.common.tasks.purge_expired_idempotency_keys")
        assert imports == []
        with pytest.raises(NotRegistered):  # missing (eager here): the modules are imported first
            job_send("apps.common.no_such_module.no_such_task")
        assert len(imports) == 1
    finally:
        import_modules.disconnect(count)
