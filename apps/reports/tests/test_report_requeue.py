"""Report jobs left `running` by a worker that died: detected by their silent heartbeat,
re-queued (counting attempts) or failed with the reason after the last attempt, idempotently;
a lost run that wakes up late cannot finish the job a second time."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from django.core.files.storage import default_storage
from django.test import override_settings
from django.utils import timezone

from apps.audit.models import AuditEvent
from apps.common.principals import SYSTEM_ACTOR
from apps.reports import services
from apps.reports.models import ReportJob, ReportStatus
from apps.reports.services import report_generate, report_request, reports_requeue_stuck

pytestmark = [pytest.mark.django_db]
STALE = 600


@pytest.fixture(autouse=True)
def _limits() -> Any:
    with override_settings(FINSYS_REPORT_STALE_SECONDS=STALE, FINSYS_REPORT_MAX_ATTEMPTS=3):
        yield


def _job() -> ReportJob:
    return report_request(actor=SYSTEM_ACTOR, kind="payments_by_state", format="csv")


def _lost_run(job: ReportJob, *, attempts: int = 1, silent_for: int = STALE + 1) -> None:
    """A worker claimed the job and died: `running`, its heartbeat silent since then."""
    beat = timezone.now() - dt.timedelta(seconds=silent_for)
    ReportJob.objects.filter(pk=job.pk).update(
        status=ReportStatus.RUNNING, attempts=attempts, run_token=uuid.uuid4(), heartbeat_at=beat, updated_at=beat
    )


def _stored_files(job: ReportJob) -> list[str]:
    _dirs, files = default_storage.listdir(services.settings.FINSYS_REPORTS_DIR)
    return [name for name in files if name.startswith(job.public_id.hex)]


def test_a_stuck_job_is_requeued_once_and_finishes_once(django_capture_on_commit_callbacks):
    job = _job()
    _lost_run(job)
    alive = _job()
    _lost_run(alive, silent_for=STALE - 30)  # still beating: its worker is alive
    with django_capture_on_commit_callbacks(execute=False) as jobs:
        assert reports_requeue_stuck() == 1
        assert reports_requeue_stuck() == 0  # re-runnable: nothing twice
    job.refresh_from_db()
    assert (job.status, job.attempts, job.run_token, job.progress) == (ReportStatus.QUEUED, 1, None, 0)
    assert ReportJob.objects.get(pk=alive.pk).status == ReportStatus.RUNNING
    assert len(jobs) == 1  # one generation job sent
    assert AuditEvent.objects.filter(action="report.requeue", object_id=str(job.public_id)).count() == 1
    jobs[0]()  # the worker runs it (eager here)
    job.refresh_from_db()
    assert (job.status, job.attempts, job.progress) == (ReportStatus.DONE, 2, 100)
    assert job.error == ""
    assert report_generate(job_id=job.pk) == ReportStatus.DONE  # a redelivered job changes nothing
    job.refresh_from_db()
    assert job.attempts == 2
    assert _stored_files(job) == [job.file_name.rsplit("/", 1)[-1]]


def test_after_the_last_attempt_the_job_fails_with_the_reason(django_capture_on_commit_callbacks):
    job = _job()
    _lost_run(job, attempts=3)
    with django_capture_on_commit_callbacks(execute=False) as jobs:
        assert reports_requeue_stuck() == 1
    job.refresh_from_db()
    assert job.status == ReportStatus.FAILED
    assert job.error == "the worker generating it stopped 3 times; not retried"
    assert job.finished_at is not None
    assert job.expires_at is not None  # its row expires like any finished job
    assert jobs == []
    assert reports_requeue_stuck() == 0


def test_a_lost_run_that_wakes_up_late_does_not_finish_the_job_twice(monkeypatch):
    job = _job()
    original = services._write_management
    second_run: list[str] = []

    def stalls_then_finishes(claimed: ReportJob, out: Any) -> int:
        # While this run hangs, its heartbeat goes silent; the job is re-queued and a new run
        # finishes it. Then this run wakes up and tries to finish too.
        ReportJob.objects.filter(pk=claimed.pk).update(heartbeat_at=timezone.now() - dt.timedelta(seconds=STALE + 5))
        assert reports_requeue_stuck() == 1
        monkeypatch.setattr(services, "_write_management", original)
        second_run.append(report_generate(job_id=claimed.pk))
        return original(claimed, out)

    monkeypatch.setattr(services, "_write_management", stalls_then_finishes)
    assert report_generate(job_id=job.pk) == ReportStatus.DONE  # the job's status: done by the new run
    assert second_run == [ReportStatus.DONE]
    job.refresh_from_db()
    assert (job.status, job.attempts) == (ReportStatus.DONE, 2)
    # Only the new run's file is stored; the late run deleted its own.
    assert _stored_files(job) == [job.file_name.rsplit("/", 1)[-1]]


def test_a_job_that_never_beat_is_judged_by_its_last_update(django_capture_on_commit_callbacks):
    job = _job()
    old = timezone.now() - dt.timedelta(seconds=STALE + 1)
    ReportJob.objects.filter(pk=job.pk).update(status=ReportStatus.RUNNING, attempts=1, updated_at=old)
    with django_capture_on_commit_callbacks(execute=False):
        assert reports_requeue_stuck() == 1
    assert ReportJob.objects.get(pk=job.pk).status == ReportStatus.QUEUED
