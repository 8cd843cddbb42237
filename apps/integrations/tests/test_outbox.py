"""The transactional outbox: events exist only when their transaction commits; the relay turns
them into deliveries; webhooks reach a real HTTP server on 127.0.0.1 signed with HMAC-SHA256,
are retried with exponential backoff, dead-lettered and replayable; e-mail and SMS go out."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.core import mail
from django.db import transaction
from django.test import override_settings
from django.utils import timezone

from apps.common.principals import SYSTEM_ACTOR, Actor, Channel
from apps.integrations.channels import ConsoleSmsProvider
from apps.integrations.models import Delivery, DeliveryChannel, DeliveryStatus, OutboxEvent
from apps.integrations.services import (
    backoff_delay,
    deliveries_send_due,
    delivery_replay,
    outbox_emit,
    outbox_relay,
    webhook_endpoint_create,
)
from apps.integrations.signing import SIGNATURE_HEADER, signature_header, signature_valid
from tests.processes import Receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


def _emit(**kw: Any) -> OutboxEvent:
    return outbox_emit(kind=kw.pop("kind", "payment.status_changed"), payload=kw.pop("payload", {"n": 1}), **kw)


def test_an_event_exists_only_if_its_transaction_commits(db):
    class Boom(Exception):
        pass

    def change_that_fails() -> None:
        with transaction.atomic():
            _emit()
            raise Boom

    with pytest.raises(Boom):
        change_that_fails()
    assert not OutboxEvent.objects.exists()
    _emit()
    assert OutboxEvent.objects.count() == 1


def test_a_webhook_is_delivered_signed_once_per_subscribed_endpoint(db, receiver):
    endpoint, secret = webhook_endpoint_create(actor=SYSTEM_ACTOR, url=receiver.url, event_kinds=[])
    webhook_endpoint_create(actor=SYSTEM_ACTOR, url=receiver.url + "/other-kind", event_kinds=["transaction.large"])
    customer_bound = Actor(label="client:c", channel=Channel.API, customer_id=999)
    webhook_endpoint_create(actor=customer_bound, url=receiver.url + "/customer", event_kinds=[])
    event = _emit(payload={"payment": "p1", "status": "held"}, customer_id=1)
    assert outbox_relay() == 1
    assert outbox_relay() == 0
    assert deliveries_send_due() == 1
    assert deliveries_send_due() == 0
    [(headers, raw)] = receiver.received
    assert signature_valid(secret, raw, headers[SIGNATURE_HEADER])
    assert not signature_valid("whsec_other", raw, headers[SIGNATURE_HEADER])
    document = json.loads(raw)
    assert document == {
        "id": str(event.public_id),
        "kind": "payment.status_changed",
        "created_at": document["created_at"],
        "data": {"payment": "p1", "status": "held"},
    }
    delivery = Delivery.objects.get(endpoint=endpoint)
    assert headers["X-Finsys-Delivery"] == str(delivery.public_id)
    assert headers["X-Finsys-Event"] == "payment.status_changed"
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.DELIVERED, 1)


def test_a_failing_webhook_is_retried_with_backoff_then_dead_lettered_and_replayable(db, receiver):
    webhook_endpoint_create(actor=SYSTEM_ACTOR, url=receiver.url, event_kinds=[])
    receiver.status = 500
    _emit()
    outbox_relay()
    now = timezone.now()
    with override_settings(FINSYS_WEBHOOK_MAX_ATTEMPTS=3, FINSYS_WEBHOOK_BACKOFF_SECONDS=10):
        assert deliveries_send_due(now=now) == 0
        delivery = Delivery.objects.get()
        assert (delivery.status, delivery.attempts, delivery.last_error) == ("pending", 1, "HTTP 500")
        wait = delivery.next_attempt_at - timezone.now()
        assert dt.timedelta(seconds=8) < wait <= dt.timedelta(seconds=10)
        assert deliveries_send_due(now=now) == 0  # not due yet: nothing sent
        assert len(receiver.received) == 1
        assert deliveries_send_due(now=now + dt.timedelta(seconds=11)) == 0
        delivery.refresh_from_db()
        wait = delivery.next_attempt_at - timezone.now()
        assert dt.timedelta(seconds=18) < wait <= dt.timedelta(seconds=20)  # doubled
        deliveries_send_due(now=now + dt.timedelta(seconds=40))
        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts) == (DeliveryStatus.DEAD, 3)
        assert deliveries_send_due(now=now + dt.timedelta(days=1)) == 0
        assert len(receiver.received) == 3
    receiver.status = 204
    delivery_replay(actor=SYSTEM_ACTOR, delivery=delivery)
    assert deliveries_send_due() == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.DELIVERED, 1)
    assert len({h["X-Finsys-Delivery"] for h, _raw in receiver.received}) == 1  # one id: receivers de-duplicate


def test_backoff_doubles_up_to_its_cap():
    with override_settings(FINSYS_WEBHOOK_BACKOFF_SECONDS=30, FINSYS_WEBHOOK_BACKOFF_MAX_SECONDS=100):
        assert [backoff_delay(n).total_seconds() for n in (1, 2, 3, 4)] == [30, 60, 100, 100]


def test_an_unreachable_or_slow_webhook_fails_within_its_timeout(db, receiver):
    webhook_endpoint_create(actor=SYSTEM_ACTOR, url="http://127.0.0.1:9/closed", event_kinds=[])
    _emit()
    outbox_relay()
    started = time.monotonic()
    with override_settings(FINSYS_WEBHOOK_TIMEOUT_SECONDS=2):
        assert deliveries_send_due() == 0
    assert time.monotonic() - started < 5
    assert Delivery.objects.get().last_error


def test_email_and_sms_notifications_are_delivered(db):
    ConsoleSmsProvider.sent = []
    _emit(
        kind="security.login_alert", notify_email="li@example.com", notify_phone="+8613800000000", message="New login"
    )
    outbox_relay()
    assert sorted(Delivery.objects.values_list("channel", flat=True)) == [DeliveryChannel.EMAIL, DeliveryChannel.SMS]
    assert deliveries_send_due() == 2
    assert [(m.to, m.body) for m in mail.outbox] == [(["li@example.com"], "New login")]
    assert ConsoleSmsProvider.sent == [("+8613800000000", "New login")]
    # The addresses are personal data: encrypted in their columns.
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT notify_email, notify_phone FROM integrations_outboxevent")
        stored = cursor.fetchone()
    assert "li@example.com" not in stored[0]
    assert "13800000000" not in stored[1]


def test_a_signature_is_refused_when_malformed_or_outside_its_tolerance():
    raw = b'{"a":1}'
    good = signature_header("s3cret", raw)
    assert signature_valid("s3cret", raw, good)
    assert not signature_valid("s3cret", raw + b" ", good)
    assert not signature_valid("", raw, good)
    assert not signature_valid("s3cret", raw, None)
    for header in ("", "garbage", "t=abc,v1=00", "v1=00", good + ",t=1", "t=1" + "0" * 20 + ",v1=00"):
        assert not signature_valid("s3cret", raw, header)
    old = signature_header("s3cret", raw, timestamp=int(time.time()) - 301)
    assert not signature_valid("s3cret", raw, old)
