"""Housekeeping tasks of the shared kernel."""

import logging

from celery import shared_task

from apps.common.heartbeat import heartbeat_write
from apps.common.idempotency import idempotency_purge_expired

logger = logging.getLogger(__name__)


@shared_task(name="apps.common.tasks.purge_expired_idempotency_keys")
def purge_expired_idempotency_keys() -> int:
    return idempotency_purge_expired()


@shared_task(name="apps.common.tasks.worker_heartbeat", ignore_result=True)
def worker_heartbeat() -> None:
    heartbeat_write()
    logger.info("worker heartbeat")
