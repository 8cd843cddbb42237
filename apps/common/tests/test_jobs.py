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
