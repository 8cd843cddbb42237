"""Reads on webhook endpoints and deliveries, scoped to the principal that registered them."""

from __future__ import annotations

import uuid

from django.db.models import QuerySet

from apps.common.errors import NotFound
from apps.common.principals import Actor
from apps.integrations.models import Delivery, DeliveryStatus, OutboxEvent, WebhookEndpoint


def webhook_endpoints_visible_to(actor: Actor) -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.filter(owner=actor.label).order_by("-id")


def webhook_endpoint_get(*, actor: Actor, public_id: uuid.UUID | str) -> WebhookEndpoint:
    try:
        return webhook_endpoints_visible_to(actor).get(public_id=public_id)
    except (WebhookEndpoint.DoesNotExist, ValueError):
        raise NotFound() from None


def deliveries_of(*, endpoint: WebhookEndpoint) -> QuerySet[Delivery]:
    return Delivery.objects.filter(endpoint=endpoint).select_related("event").order_by("-id")


def delivery_get(*, actor: Actor, public_id: uuid.UUID | str) -> Delivery:
    try:
        return (
            Delivery.objects.select_related("event", "endpoint")
            .filter(endpoint__owner=actor.label)
            .get(public_id=public_id)
        )
    except (Delivery.DoesNotExist, ValueError):
        raise NotFound() from None


def outbox_backlog() -> float:
    """Outbox events not yet relayed plus deliveries still pending (undelivered work)."""
    unrelayed = OutboxEvent.objects.filter(relayed_at__isnull=True).count()
    pending = Delivery.objects.filter(status=DeliveryStatus.PENDING).count()
    return float(unrelayed + pending)
