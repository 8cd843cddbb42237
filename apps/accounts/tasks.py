"""Scheduled work on accounts (thin: calls services)."""

from celery import shared_task

from apps.accounts.services import holds_release_expired


@shared_task(name="apps.accounts.tasks.release_expired_holds")
def release_expired_holds() -> int:
    return holds_release_expired()
