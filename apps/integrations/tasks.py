"""Beat tasks of the outbox (thin: they call services)."""

from celery import shared_task

from apps.integrations.services import deliveries_send_due, outbox_relay


@shared_task(name="apps.integrations.tasks.relay_outbox")
def relay_outbox() -> int:
    """Expand committed events into deliveries, then send what is due."""
    outbox_relay()
    return deliveries_send_due()
