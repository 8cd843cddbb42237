"""Payment jobs (thin: the services and the database state decide what is left to do)."""

from celery import shared_task
from django.utils import timezone

from apps.common.jobs import job_send
from apps.transactions.models import PaymentStatus
from apps.transactions.selectors import payments_due
from apps.transactions.services_payments import PROCESS_TASK, payment_submit, payments_settle


@shared_task(name=PROCESS_TASK)
def process_payment(payment_id: int) -> str:
    """Submit a held payment (or retry, or ask for its answer); book the answer when it is final."""
    result = payment_submit(payment_id=payment_id)
    if result.status == PaymentStatus.SUBMITTED and result.retry_in is not None:
        job_send(PROCESS_TASK, payment_id, countdown=result.retry_in)  # backoff; the sweep is the safety net
    return result.status


@shared_task(name="apps.transactions.tasks.sweep_payments")
def sweep_payments() -> dict[str, int]:
    """Book every recorded answer in set-based batches, and send out the jobs that are due (ones
    whose message was lost: a broker that was down, a worker that died)."""
    settled = payments_settle()
    due = payments_due(now=timezone.now())
    for payment_id in due:
        job_send(PROCESS_TASK, payment_id)
    return {"settled": settled, "enqueued": len(due)}
