"""A real Celery worker on Redis and PostgreSQL is killed with SIGKILL in the middle of a
statement; the job it left `running` is found by beat (its heartbeat went silent), re-queued,
and finished exactly once by a new worker."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from celery import current_app
from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.db import transaction

from apps.accounts.models import Account, GlCode
from apps.accounts.services import accounts_lock
from apps.audit.models import AuditEvent
from apps.common.money import Money
from apps.common.principals import SYSTEM_ACTOR
from apps.reports import services
from apps.reports.models import ReportJob, ReportStatus
from apps.reports.services import GENERATE_TASK, report_request
from apps.transactions.models import EntryKind, Posting
from apps.transactions.services import BatchItem, Leg, entries_post_batch
from tests.processes import process_env, start_beat, start_worker, stop, unique_queue
from tests.processes import test_database_url as database_url

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
    # The test process itself runs tasks eagerly; this one message is for the real worker.
    pytest.mark.filterwarnings("ignore::celery.exceptions.AlwaysEagerIgnored"),
]

POSTINGS = 2500


@pytest.fixture
def processes() -> Iterator[list[Any]]:
    started: list[Any] = []
    yield started
    for process in reversed(started):
        stop(process)


def _wait(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def _history(account: Account) -> None:
    """POSTINGS deposits on the account, posted set-based in one transaction."""
    vault = Account.objects.get(is_internal=True, gl_code=GlCode.CASH_VAULT, currency="CNY")
    items = [
        BatchItem(
            kind=EntryKind.DEPOSIT,
            money=Money(Decimal("1.00"), "CNY"),
            reference=f"deposit {n}",
            legs=[Leg(vault.pk, Decimal("-1.00")), Leg(account.pk, Decimal("1.00"))],
        )
        for n in range(POSTINGS)
    ]
    with transaction.atomic():
        entries_post_batch(actor=SYSTEM_ACTOR, items=items, accounts=accounts_lock([account.pk, vault.pk]))


def _job(pk: int) -> ReportJob:
    return ReportJob.objects.get(pk=pk)


def test_a_worker_killed_mid_statement_leaves_a_job_that_is_requeued_and_finished_once(
    processes, make_account, monkeypatch, tmp_path
):
    account = make_account()
    _history(account)
    env = process_env(
        DATABASE_URL=database_url(),
        REDIS_URL=settings.REDIS_URL,
        CELERY_QUEUE=unique_queue(),
        CELERY_VISIBILITY_TIMEOUT="3",
        FINSYS_REPORT_PROGRESS_ROWS="1",  # a heartbeat (and a progress UPDATE) per posting
        FINSYS_REPORT_STALE_SECONDS="3",
        FINSYS_REPORT_REQUEUE_SECONDS="1",
        MEDIA_ROOT=str(tmp_path),  # the workers' file storage (the test process keeps files in memory)
    )
    # The job goes to this test's own queue (the test process routes to the default one).
    monkeypatch.setattr(services, "job_enqueue_after_commit", lambda *args, **kwargs: None)
    today = account.created_at.date()
    job = report_request(
        actor=SYSTEM_ACTOR,
        kind="statement",
        format="pdf",
        account_public_id=account.public_id,
        start_date=today,
        end_date=today,
    )
    current_app.send_task(GENERATE_TASK, args=[job.pk], queue=env["CELERY_QUEUE"])
    worker = start_worker(env, env["CELERY_QUEUE"])
    processes.append(worker)
    _wait(lambda: _job(job.pk).progress >= 5, 60, "the worker to be inside the statement")
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=10)
    killed = _job(job.pk)
    assert killed.status == ReportStatus.RUNNING, "the kill came too late to prove anything"
    assert (killed.attempts, killed.progress < 100) == (1, True)

    processes.append(start_worker(env, env["CELERY_QUEUE"]))
    processes.append(start_beat(env))
    _wait(lambda: _job(job.pk).status in (ReportStatus.DONE, ReportStatus.FAILED), 120, "the job to finish")
    done = _job(job.pk)
    assert (done.status, done.attempts, done.progress, done.error) == (ReportStatus.DONE, 2, 100, "")
    assert done.rows == Posting.objects.filter(account=account).count() >= POSTINGS
    assert AuditEvent.objects.filter(action="report.requeue", object_id=str(done.public_id)).count() == 1
    storage = FileSystemStorage(location=tmp_path)
    _dirs, files = storage.listdir(settings.FINSYS_REPORTS_DIR)
    assert files == [done.file_name.rsplit("/", 1)[-1]]  # the killed run stored nothing
    with storage.open(done.file_name, "rb") as handle:
        assert handle.read(5) == b"%PDF-"
