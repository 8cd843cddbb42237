"""Operations tasks: thin wrappers around apps.ops services."""

from celery import shared_task

from apps.ops.services.retention import RETENTION_ACTOR, retention_purge


@shared_task(name="apps.ops.tasks.purge_expired_data")
def purge_expired_data() -> dict[str, int]:
    return retention_purge(actor=RETENTION_ACTOR).counts
