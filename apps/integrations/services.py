"""The transactional outbox and its deliveries.

`outbox_emit` is called by any app inside the transaction of the change it reports, so an
event exists exactly when the change committed. The beat tasks then run `outbox_relay` (one
delivery per subscribed webhook endpoint, e-mail or SMS recipient) and `deliveries_send_due`
(send, retry with exponential backoff, dead-letter after the last attempt). Delivery is at
least once: a receiver de-duplicates on the `X-Finsys-Delivery` header."""

from __future__ import annotations

import datetime as dt
import secrets
import urllib.parse
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.audit.services import audit_record
from apps.common.errors import ValidationFailed
from apps.common.principals import Actor
from apps.integrations.channels import DeliveryFailed, email_send, sms_send, webhook_send
from apps.integrations.models import Delivery, DeliveryChannel, DeliveryStatus, OutboxEvent, WebhookEndpoint

# The event kinds finsys emits; integrators subscribe to some or all of them.
EVENT_KINDS = (
    "payment.status_changed",
    "transaction.large",
    "security.login_alert",
    "ops.ledger_check_failed",  # the end-of-day close found the ledger inconsistent (apps.eod)
)
# A claimed delivery is retried by another sender if the first did not finish in this time.
CLAIM_SECONDS = 120


def outbox_emit(
    *,
    kind: str,
    payload: dict[str, Any],
    customer_id: int | None = None,
    notify_email: str = "",
    notify_phone: str = "",
    message: str = "",
) -> OutboxEvent:
    """Record an event in the caller's transaction; it is delivered only if that commits."""
    assert kind in EVENT_KINDS, f"unknown event kind {kind}"
    return OutboxEvent.objects.create(
        kind=kind,
        payload=payload,
        customer_id=customer_id,
        notify_email=notify_email,
        notify_phone=notify_phone,
        message=message,
    )


def outbox_emit_many(*, events: list[OutboxEvent]) -> None:
    """Record unsaved events in one INSERT (batch services)."""
    for event in events:
        assert event.kind in EVENT_KINDS, f"unknown event kind {event.kind}"
    OutboxEvent.objects.bulk_create(events)


# Kinds about a person, not a customer's money: without a customer (a staff login alert) they go
# only to that person (e-mail, SMS), never to an integrator's webhook.
PERSONAL_KINDS = frozenset({"security.login_alert"})


def _subscribed(endpoint: WebhookEndpoint, event: OutboxEvent) -> bool:
    if endpoint.event_kinds and event.kind not in endpoint.event_kinds:
        return False
    if event.kind in PERSONAL_KINDS and event.customer_id is None:
        return False
    return endpoint.customer_id is None or endpoint.customer_id == event.customer_id


def outbox_relay(*, batch_size: int = 500) -> int:
    """Turn committed, not yet relayed events into deliveries. Safe to run in several workers
    at once: each claims its events with SKIP LOCKED (PostgreSQL)."""
    now = timezone.now()
    with transaction.atomic():
        events = list(
            OutboxEvent.objects.select_for_update(skip_locked=True)
            .filter(relayed_at__isnull=True)
            .order_by("id")[:batch_size]
        )
        if not events:
            return 0
        endpoints = list(WebhookEndpoint.objects.filter(is_active=True))
        deliveries: list[Delivery] = []
        for event in events:
            for endpoint in endpoints:
                if _subscribed(endpoint, event):
                    deliveries.append(
                        Delivery(event=event, channel=DeliveryChannel.WEBHOOK, endpoint=endpoint, next_attempt_at=now)
                    )
            if event.notify_email:
                deliveries.append(Delivery(event=event, channel=DeliveryChannel.EMAIL, next_attempt_at=now))
            if event.notify_phone:
                deliveries.append(Delivery(event=event, channel=DeliveryChannel.SMS, next_attempt_at=now))
        Delivery.objects.bulk_create(deliveries)
        OutboxEvent.objects.filter(pk__in=[event.pk for event in events]).update(relayed_at=now)
    return len(events)


def backoff_delay(attempts: int) -> dt.timedelta:
    """Exponential: base, 2x base, 4x base ... capped at FINSYS_WEBHOOK_BACKOFF_MAX_SECONDS."""
    base = settings.FINSYS_WEBHOOK_BACKOFF_SECONDS
    return dt.timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), settings.FINSYS_WEBHOOK_BACKOFF_MAX_SECONDS))


def _claim_due(now: dt.datetime, limit: int) -> list[Delivery]:
    """Lease due deliveries to this sender (a short transaction; sending happens outside)."""
    with transaction.atomic():
        due = list(
            Delivery.objects.select_for_update(skip_locked=True)
            .filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
            .order_by("next_attempt_at", "id")[:limit]
        )
        Delivery.objects.filter(pk__in=[d.pk for d in due]).update(
            next_attempt_at=now + dt.timedelta(seconds=CLAIM_SECONDS)
        )
    return due


def event_document(event: OutboxEvent) -> dict[str, Any]:
    """What a webhook receives: the event's id, kind, time and payload."""
    created = event.created_at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    return {"id": str(event.public_id), "kind": event.kind, "created_at": created, "data": event.payload}


def _send(delivery: Delivery) -> None:
    event = delivery.event
    if delivery.channel == DeliveryChannel.WEBHOOK:
        endpoint = delivery.endpoint
        assert endpoint is not None
        webhook_send(
            url=endpoint.url,
            secret=endpoint.secret,
            delivery_id=str(delivery.public_id),
            kind=event.kind,
            document=event_document(event),
        )
    elif delivery.channel == DeliveryChannel.EMAIL:
        email_send(to=event.notify_email, subject=_("finsys notification"), text=event.message or event.kind)
    else:
        sms_send(to=event.notify_phone, text=event.message or event.kind)


def deliveries_send_due(*, now: dt.datetime | None = None, limit: int = 100) -> int:
    """Send what is due; returns how many were delivered in this run."""
    moment = now or timezone.now()
    delivered = 0
    for claimed in _claim_due(moment, limit):
        delivery = Delivery.objects.select_related("event", "endpoint").get(pk=claimed.pk)
        error = ""
        try:
            _send(delivery)
        except DeliveryFailed as exc:
            error = str(exc)[:500] or "failed"
        finished = timezone.now()
        with transaction.atomic():
            current = Delivery.objects.select_for_update().get(pk=delivery.pk)
            if current.status != DeliveryStatus.PENDING:
                continue  # replayed or finished by someone else meanwhile
            current.attempts += 1
            if not error:
                current.status = DeliveryStatus.DELIVERED
                current.delivered_at = finished
                current.last_error = ""
                delivered += 1
            elif current.attempts >= settings.FINSYS_WEBHOOK_MAX_ATTEMPTS:
                current.status = DeliveryStatus.DEAD
                current.last_error = error
            else:
                current.last_error = error
                current.next_attempt_at = finished + backoff_delay(current.attempts)
            current.save(
                update_fields=["attempts", "status", "delivered_at", "last_error", "next_attempt_at", "updated_at"]
            )
    return delivered


def delivery_replay(*, actor: Actor, delivery: Delivery) -> Delivery:
    """Send a delivery again (a dead-lettered one, or one the receiver lost), from attempt one."""
    with transaction.atomic():
        current = Delivery.objects.select_for_update().get(pk=delivery.pk)
        current.status = DeliveryStatus.PENDING
        current.attempts = 0
        current.next_attempt_at = timezone.now()
        current.save(update_fields=["status", "attempts", "next_attempt_at", "updated_at"])
        audit_record(
            actor=actor.label, action="delivery.replay", object_type="delivery", object_id=str(current.public_id)
        )
    return current


def _check_url(url: str) -> None:
    parsed = urllib.parse.urlsplit(url)
    allowed = ("https", "http") if settings.FINSYS_WEBHOOK_ALLOW_HTTP else ("https",)
    if parsed.scheme not in allowed or not parsed.hostname or parsed.username or parsed.password:
        raise ValidationFailed({"url": [_("Enter an https URL without credentials.")]})


def webhook_endpoint_create(
    *, actor: Actor, url: str, event_kinds: list[str], owner: Actor | None = None
) -> tuple[WebhookEndpoint, str]:
    """Register an integrator's URL; returns it with its signing secret (shown only now).
    `owner`: the API client it is registered for when staff register it (default: `actor`)."""
    owner = owner or actor
    _check_url(url)
    unknown = sorted(set(event_kinds) - set(EVENT_KINDS))
    if unknown:
        raise ValidationFailed({"event_kinds": [_("Unknown event kind: %(kind)s.") % {"kind": unknown[0]}]})
    secret = "whsec_" + secrets.token_urlsafe(32)
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.create(
            url=url,
            secret=secret,
            event_kinds=sorted(set(event_kinds)),
            owner=owner.label,
            customer_id=owner.customer_id,
        )
        audit_record(
            actor=actor.label,
            action="webhook.register",
            object_type="webhook_endpoint",
            object_id=str(endpoint.public_id),
            detail={"url": url, "event_kinds": endpoint.event_kinds, "owner": owner.label},
        )
    return endpoint, secret


def webhook_endpoint_deactivate(*, actor: Actor, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    with transaction.atomic():
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(is_active=False, updated_at=timezone.now())
        audit_record(
            actor=actor.label,
            action="webhook.deactivate",
            object_type="webhook_endpoint",
            object_id=str(endpoint.public_id),
        )
    endpoint.refresh_from_db()
    return endpoint
