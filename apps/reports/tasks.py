"""Report jobs (thin: the services decide)."""

from celery import shared_task

from apps.reports.services import (
    GENERATE_TASK,
    report_generate,
    reports_expire,
    reports_requeue_stuck,
    risk_report_monthly,
)


@shared_task(name=GENERATE_TASK)
def generate_report(job_id: int) -> str:
    return report_generate(job_id=job_id)


@shared_task(name="apps.reports.tasks.expire_reports")
def expire_reports() -> int:
    return reports_expire()


@shared_task(name="apps.reports.tasks.risk_report_monthly")
def monthly_risk_report() -> int:
    """On the first of the month: last month's risk report, PDF and XLSX (once per month)."""
    return len(risk_report_monthly())


@shared_task(name="apps.reports.tasks.requeue_stuck_reports")
def requeue_stuck_reports() -> int:
    return reports_requeue_stuck()
