"""Housekeeping tasks of the shared kernel."""

from celery import shared_task

from apps.common.idempotency import idempotency_purge_expired


@shared_task(name="apps.common.tasks.purge_expired_idempotency_keys")
def purge_expired_idempotency_keys() -> int:
    return idempotency_purge_expired()
