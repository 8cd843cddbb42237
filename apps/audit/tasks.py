"""Scheduled audit work (thin: calls services): sealing the chains, the daily checkpoint."""

from celery import shared_task

from apps.audit.services import chains_seal, checkpoint_create

TASK_ACTOR = "system:audit_checkpoint"


@shared_task(name="apps.audit.tasks.seal_audit_chains")
def seal_audit_chains(full: bool = False) -> dict[str, int]:
    return chains_seal(full=full)


@shared_task(name="apps.audit.tasks.create_audit_checkpoint")
def create_audit_checkpoint() -> list[int]:
    return [checkpoint.pk for checkpoint in checkpoint_create(actor=TASK_ACTOR)]
