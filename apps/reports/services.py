"""Report jobs: asking for one (`report_request`), generating it in a worker
(`report_generate`), re-queueing one whose worker died (`reports_requeue_stuck`), downloading
it (`report_download`, audited) and expiring it (`reports_expire`). docs/reports.md describes
formats, periods and limits."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import tempfile
import uuid
from collections.abc import Callable
from typing import IO, Any

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.accounts.selectors import account_get, balances_by_product
from apps.audit.services import audit_record
from apps.common.errors import PermissionDenied, ValidationFailed
from apps.common.jobs import job_enqueue_after_commit
from apps.common.money import format_amount
from apps.common.principals import Actor, Channel
from apps.reports import render
from apps.reports.exceptions import ReportExpired, ReportNotReady
from apps.reports.models import (
    FILE_EXTENSIONS,
    MANAGEMENT_FORMATS,
    RISK_FORMATS,
    STATEMENT_FORMATS,
    ReportFormat,
    ReportJob,
    ReportKind,
    ReportStatus,
)
from apps.reports.risk_report import risk_report_pdf, risk_report_sections, risk_report_xlsx
from apps.reports.selectors import report_by_pk, reports_due_for_expiry
from apps.transactions.selectors import (
    account_balance_before,
    daily_volumes,
    payments_by_state,
    statement_lines,
    statement_posting_count,
)

logger = logging.getLogger(__name__)

GENERATE_TASK = "apps.reports.tasks.generate_report"
_CHUNK = 1 << 16


def period_bounds(start_date: dt.date, end_date: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """A period of whole UTC days, both named days included: [start 00:00, day after end 00:00)."""
    start = dt.datetime.combine(start_date, dt.time.min, tzinfo=dt.UTC)
    end = dt.datetime.combine(end_date + dt.timedelta(days=1), dt.time.min, tzinfo=dt.UTC)
    return start, end


def _check_period(start_date: dt.date | None, end_date: dt.date | None) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if start_date is None:
        errors["from"] = [_("This field is required.")]
    if end_date is None:
        errors["to"] = [_("This field is required.")]
    if errors or start_date is None or end_date is None:
        return errors
    today = timezone.now().astimezone(dt.UTC).date()
    if start_date > end_date:
        errors["from"] = [_("The period starts after it ends.")]
    elif end_date > today:
        errors["to"] = [_("The period may not end in the future.")]
    elif (end_date - start_date).days + 1 > settings.FINSYS_REPORT_MAX_DAYS:
        errors["to"] = [
            _("The period is longer than %(days)d days.") % {"days": settings.FINSYS_REPORT_MAX_DAYS},
        ]
    return errors


def report_request(
    *,
    actor: Actor,
    kind: str,
    format: str,
    account_public_id: Any = None,
    start_date: dt.date | None = None,
    end_date: dt.date | None = None,
) -> ReportJob:
    """Queue a report; a worker generates it after commit. A statement only for an account the
    actor sees (else 404); management reports only for the bank's own principals (else 403).
    Nothing is created when the request is refused."""
    errors: dict[str, list[str]] = {}
    account = None
    if kind == ReportKind.STATEMENT:
        if format not in STATEMENT_FORMATS:
            errors["format"] = [_("A statement is made as pdf, csv or camt053.")]
        if account_public_id is None:
            errors["account"] = [_("This field is required.")]
        errors |= _check_period(start_date, end_date)
    elif kind == ReportKind.RISK_MONTHLY:
        if format not in RISK_FORMATS:
            errors["format"] = [_("The risk report is made as pdf or xlsx.")]
        errors |= _check_period(start_date, end_date)
    elif kind in ReportKind.values:
        if format not in MANAGEMENT_FORMATS:
            errors["format"] = [_("A management report is made as xlsx or csv.")]
        if kind == ReportKind.DAILY_VOLUMES:
            errors |= _check_period(start_date, end_date)
    else:
        errors["kind"] = [_("Unknown report kind.")]
    if errors:
        raise ValidationFailed(errors)
    if kind != ReportKind.STATEMENT and not actor.is_bank:
        raise PermissionDenied(_("Management reports are for the bank's own clients."))
    if kind == ReportKind.STATEMENT:
        account = account_get(actor=actor, public_id=account_public_id)  # 404 for others' accounts
    parameters: dict[str, Any] = {}
    if start_date is not None and end_date is not None:
        parameters = {"from": start_date.isoformat(), "to": end_date.isoformat()}
    if account is not None:
        parameters["account"] = str(account.public_id)
    with transaction.atomic(durable=True):
        job = ReportJob.objects.create(
            kind=kind,
            format=format,
            parameters=parameters,
            account=account,
            requested_by=actor.label,
            requested_for_customer_id=actor.customer_id,
        )
        audit_record(
            actor=actor.label,
            action="report.request",
            object_type="report",
            object_id=str(job.public_id),
            detail={"kind": kind, "format": format, **parameters},
        )
        job_enqueue_after_commit(GENERATE_TASK, job.pk)
    return job


# --- generation (in a worker) ------------------------------------------------------------------------


def _run(job_id: int, token: uuid.UUID) -> Any:
    """The job while this run still holds it (not re-queued as stale meanwhile)."""
    return ReportJob.objects.filter(pk=job_id, status=ReportStatus.RUNNING, run_token=token)


def _progress_set(job_id: int, token: uuid.UUID, percent: int) -> None:
    """One UPDATE, outside any transaction, so pollers see it at once; it is also the run's
    heartbeat (a job whose heartbeat stops is re-queued by `reports_requeue_stuck`)."""
    now = timezone.now()
    _run(job_id, token).update(progress=percent, heartbeat_at=now, updated_at=now)


def _pdf_labels() -> dict[str, str]:
    return {
        "title": _("Account statement"),
        "account": _("Account"),
        "holder": _("Account holder"),
        "period": _("Period"),
        "statement": _("Statement"),
        "generated": _("Generated"),
        "page": _("Page"),
        "opening": _("Opening balance"),
        "closing": _("Closing balance"),
        "booked": _("Booked (UTC)"),
        "reference": _("Reference"),
        "kind": _("Kind"),
        "amount": _("Amount"),
        "balance": _("Balance"),
    }


def _write_statement(job: ReportJob, out: IO[bytes], progress: Callable[[int], None]) -> int:
    account = job.account
    assert account is not None
    start, end = period_bounds(
        dt.date.fromisoformat(job.parameters["from"]), dt.date.fromisoformat(job.parameters["to"])
    )
    generated_at = timezone.now()
    # A period ending today covers what was booked until generation began (one consistent cut).
    end = min(end, generated_at)
    total = statement_posting_count(account=account, start=start, end=end)
    header = render.StatementHeader(
        statement_id=job.public_id.hex,
        bank_name=settings.FINSYS_BANK_NAME,
        account_number=account.number,
        holder_name=account.customer.full_name if account.customer else account.number,
        currency=account.currency,
        start=start,
        end=end,
        opening=account_balance_before(account=account, at=start),
        closing=account_balance_before(account=account, at=end),
        generated_at=generated_at,
    )
    every = max(1, settings.FINSYS_REPORT_PROGRESS_ROWS)
    lines = render.counted(
        statement_lines(account=account, start=start, end=end),
        every,
        lambda done: progress(min(99, done * 100 // max(total, 1))),
    )
    if job.format == ReportFormat.CSV:
        return render.statement_csv(out, header, lines)
    if job.format == ReportFormat.CAMT053:
        return render.statement_camt053(out, header, lines)
    with timezone.override(dt.UTC):
        return render.statement_pdf(out, header, lines, _pdf_labels())


def _management_table(job: ReportJob) -> tuple[str, list[str], list[list[Any]]]:
    if job.kind == ReportKind.DAILY_VOLUMES:
        start, end = period_bounds(
            dt.date.fromisoformat(job.parameters["from"]), dt.date.fromisoformat(job.parameters["to"])
        )
        rows = [
            [r["day"].isoformat(), r["kind"], r["currency"], r["count"], format_amount(r["total"], str(r["currency"]))]
            for r in daily_volumes(start=start, end=end)
        ]
        return "daily volumes", ["day", "kind", "currency", "entries", "total"], rows
    if job.kind == ReportKind.BALANCES_BY_PRODUCT:
        rows = [
            [
                r["product__code"],
                r["product__name"],
                r["currency"],
                r["accounts"],
                format_amount(r["balance"], str(r["currency"])),
            ]
            for r in balances_by_product()
        ]
        return "balances by product", ["product", "name", "currency", "accounts", "balance"], rows
    rows = [
        [r["status"], r["currency"], r["count"], format_amount(r["total"], str(r["currency"]))]
        for r in payments_by_state()
    ]
    return "payments by state", ["status", "currency", "payments", "total"], rows


def _write_management(job: ReportJob, out: IO[bytes]) -> int:
    title, columns, rows = _management_table(job)
    if job.format == ReportFormat.XLSX:
        return render.table_xlsx(out, title, columns, rows)
    return render.table_csv(out, columns, rows)


def _write_risk(job: ReportJob, out: IO[bytes]) -> int:
    first, last = dt.date.fromisoformat(job.parameters["from"]), dt.date.fromisoformat(job.parameters["to"])
    start, end = period_bounds(first, last)
    title = f"finsys risk report {first.isoformat()} - {last.isoformat()}"
    sections = risk_report_sections(start=start, end=end)
    if job.format == ReportFormat.PDF:
        return risk_report_pdf(out, title, sections)
    return risk_report_xlsx(out, title, sections)


REPORTS_ACTOR = Actor(label="system:reports", channel=Channel.SYSTEM)


def previous_month(today: dt.date) -> tuple[dt.date, dt.date]:
    last = today.replace(day=1) - dt.timedelta(days=1)
    return last.replace(day=1), last


def risk_report_monthly(*, today: dt.date | None = None, actor: Actor = REPORTS_ACTOR) -> list[ReportJob]:
    """Queue last month's risk report as PDF and XLSX, once per month and format: a job already
    queued, running or done for the month is not asked for again (beat may fire twice)."""
    first, last = previous_month(today or timezone.now().astimezone(dt.UTC).date())
    parameters = {"from": first.isoformat(), "to": last.isoformat()}
    jobs = []
    for format in RISK_FORMATS:
        exists = ReportJob.objects.filter(
            kind=ReportKind.RISK_MONTHLY,
            format=format,
            parameters=parameters,
            status__in=[ReportStatus.QUEUED, ReportStatus.RUNNING, ReportStatus.DONE],
        ).exists()
        if not exists:
            jobs.append(
                report_request(
                    actor=actor, kind=ReportKind.RISK_MONTHLY, format=format, start_date=first, end_date=last
                )
            )
    return jobs


def report_generate(*, job_id: int) -> str:
    """Generate a queued job's file into the default storage. Idempotent: a job that is not
    queued (already taken by another worker, finished, expired) is left alone. Not one
    transaction on purpose: progress must be visible while it runs, and the postings are read
    by one streaming query (a consistent snapshot of the append-only ledger)."""
    token = uuid.uuid4()
    now = timezone.now()
    claimed = ReportJob.objects.filter(pk=job_id, status=ReportStatus.QUEUED).update(
        status=ReportStatus.RUNNING,
        attempts=F("attempts") + 1,
        run_token=token,
        progress=0,
        heartbeat_at=now,
        updated_at=now,
    )
    job = report_by_pk(job_id)
    if not claimed or job is None:
        return job.status if job is not None else "missing"
    try:
        with tempfile.TemporaryFile() as out:
            if job.kind == ReportKind.STATEMENT:
                rows = _write_statement(job, out, lambda percent: _progress_set(job_id, token, percent))
            elif job.kind == ReportKind.RISK_MONTHLY:
                rows = _write_risk(job, out)
            else:
                rows = _write_management(job, out)
            out.seek(0)
            digest = hashlib.sha256()
            for chunk in iter(lambda: out.read(_CHUNK), b""):
                digest.update(chunk)
            size = out.tell()
            out.seek(0)
            name = default_storage.save(
                f"{settings.FINSYS_REPORTS_DIR}/{job.public_id.hex}.{FILE_EXTENSIONS[job.format]}", File(out)
            )
    except Exception as exc:
        logger.exception("report %s failed", job.public_id)
        now = timezone.now()
        _run(job_id, token).update(
            status=ReportStatus.FAILED,
            error=f"{type(exc).__name__}: {exc}"[:255],
            finished_at=now,
            expires_at=now + dt.timedelta(hours=settings.FINSYS_REPORT_TTL_HOURS),
            updated_at=now,
        )
        return ReportStatus.FAILED
    now = timezone.now()
    finished = _run(job_id, token).update(
        status=ReportStatus.DONE,
        progress=100,
        file_name=name,
        size=size,
        sha256=digest.hexdigest(),
        rows=rows,
        finished_at=now,
        expires_at=now + dt.timedelta(hours=settings.FINSYS_REPORT_TTL_HOURS),
        updated_at=now,
    )
    if not finished:
        # This run was taken for lost and the job re-queued (or finished by the new run): its
        # file is not the job's. The job finishes once, by the run that holds it.
        default_storage.delete(name)
        current = report_by_pk(job_id)
        return current.status if current is not None else "missing"
    return ReportStatus.DONE


def reports_requeue_stuck(*, now: dt.datetime | None = None) -> int:
    """Jobs left `running` by a worker that died (no heartbeat for FINSYS_REPORT_STALE_SECONDS)
    go back to `queued` with a new job sent, or, after FINSYS_REPORT_MAX_ATTEMPTS runs, fail with
    the reason. Each under the job's row lock with the staleness checked again: re-runnable, and
    two detectors at once re-queue a job once. Returns how many jobs it re-queued or failed."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(seconds=settings.FINSYS_REPORT_STALE_SECONDS)
    stale = Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, updated_at__lt=cutoff)
    handled = 0
    for pk in ReportJob.objects.filter(stale, status=ReportStatus.RUNNING).order_by("pk").values_list("pk", flat=True):
        with transaction.atomic():
            job = ReportJob.objects.select_for_update().filter(stale, pk=pk, status=ReportStatus.RUNNING).first()
            if job is None:
                continue  # finished, or another detector re-queued it meanwhile
            if job.attempts >= settings.FINSYS_REPORT_MAX_ATTEMPTS:
                job.status = ReportStatus.FAILED
                job.error = f"the worker generating it stopped {job.attempts} times; not retried"
                job.finished_at = now
                job.expires_at = now + dt.timedelta(hours=settings.FINSYS_REPORT_TTL_HOURS)
            else:
                job.status = ReportStatus.QUEUED
                job_enqueue_after_commit(GENERATE_TASK, job.pk)
            job.run_token = None
            job.progress = 0
            job.save(
                update_fields=["status", "error", "finished_at", "expires_at", "run_token", "progress", "updated_at"]
            )
            audit_record(
                actor="system:reports",
                action="report.requeue" if job.status == ReportStatus.QUEUED else "report.fail",
                object_type="report",
                object_id=str(job.public_id),
                detail={"attempts": job.attempts, "reason": job.error or "worker lost, re-queued"},
            )
            handled += 1
    if handled:
        logger.warning("re-queued or failed %d report jobs left running by a lost worker", handled)
    return handled


# --- download and expiry ------------------------------------------------------------------------------


def report_download(*, actor: Actor, job: ReportJob) -> File:  # type: ignore[type-arg]
    """Open a finished report's file for `actor` (who may see `job`: the caller checked), and
    record the download as an audit event. 409 while it is not done, 410 once expired."""
    if job.status == ReportStatus.EXPIRED or (job.expires_at is not None and job.expires_at <= timezone.now()):
        raise ReportExpired()
    if job.status != ReportStatus.DONE:
        raise ReportNotReady()
    with transaction.atomic(durable=True):
        audit_record(
            actor=actor.label,
            action="export.report_download",
            object_type="report",
            object_id=str(job.public_id),
            detail={"kind": job.kind, "format": job.format, "size": job.size, "sha256": job.sha256},
        )
    return default_storage.open(job.file_name, "rb")


def reports_expire(*, now: dt.datetime | None = None) -> int:
    """Delete the files of jobs past their expiry and mark the jobs expired. Re-runnable: a file
    already gone is skipped, an expired job is not selected again."""
    now = now or timezone.now()
    expired = 0
    for pk, name in reports_due_for_expiry(now=now):
        if name and default_storage.exists(name):
            default_storage.delete(name)
        expired += ReportJob.objects.filter(pk=pk).update(
            status=ReportStatus.EXPIRED, file_name="", updated_at=timezone.now()
        )
    if expired:
        logger.info("expired %d reports", expired)
    return expired
