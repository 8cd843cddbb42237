"""Scheduled compliance work (thin: calls services)."""

from celery import shared_task

from apps.compliance.services import approvals_expire


@shared_task(name="apps.compliance.tasks.expire_approvals")
def expire_approvals() -> int:
    return approvals_expire()
