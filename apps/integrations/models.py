"""The bank's connections to the outside: the transactional outbox and its deliveries
(webhooks to integrators, e-mail, SMS), and the payment gateway simulator's own books."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from apps.common.fields import EncryptedTextField
from apps.common.models import PublicIdModel, TimestampedModel


class OutboxEvent(PublicIdModel):
    """Something that happened, written in the same transaction as the change it reports.

    The relay turns each event into deliveries once it has committed; the event itself never
    changes after that except for `relayed_at`."""

    kind = models.CharField(max_length=64, db_index=True)
    payload = models.JSONField(default=dict)
    # The customer the event concerns, if any: a customer-bound integrator sees only these.
    customer_id = models.BigIntegerField(null=True, blank=True)
    # Direct notifications to a person (login alerts, large transactions): encrypted at rest.
    notify_email = EncryptedTextField(blank=True)
    notify_phone = EncryptedTextField(blank=True)
    message = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    relayed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("outbox event")
        ordering = ["-id"]
        indexes = [models.Index(fields=["id"], condition=Q(relayed_at__isnull=True), name="outbox_unrelayed")]

    def __str__(self) -> str:
        return f"{self.kind} {self.public_id}"


class WebhookEndpoint(PublicIdModel, TimestampedModel):
    """An integrator's URL that receives events, signed with its own secret (HMAC-SHA256)."""

    url = models.URLField(max_length=500)
    secret = EncryptedTextField()
    # Empty: every kind the owner may see.
    event_kinds = models.JSONField(default=list, blank=True)
    owner = models.CharField(max_length=150)  # the actor label that registered it
    customer_id = models.BigIntegerField(null=True, blank=True)  # set for a customer-bound owner
    is_active = models.BooleanField(default=True)

    class Meta:
        verbose_name = _("webhook endpoint")
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.url


class DeliveryChannel(models.TextChoices):
    WEBHOOK = "webhook", _("Webhook")
    EMAIL = "email", _("E-mail")
    SMS = "sms", _("SMS")


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    DELIVERED = "delivered", _("Delivered")
    DEAD = "dead", _("Dead-lettered")


class Delivery(PublicIdModel, TimestampedModel):
    """One event to one destination: retried with exponential backoff, dead-lettered after the
    last attempt, and replayable."""

    event = models.ForeignKey(OutboxEvent, on_delete=models.PROTECT, related_name="deliveries")
    channel = models.CharField(max_length=8, choices=DeliveryChannel.choices)
    endpoint = models.ForeignKey(
        WebhookEndpoint, null=True, blank=True, on_delete=models.PROTECT, related_name="deliveries"
    )
    status = models.CharField(
        max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING, db_index=True
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(db_index=True)
    last_error = models.CharField(max_length=500, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["event", "endpoint"], name="delivery_once_per_endpoint"),
        ]

    def __str__(self) -> str:
        return f"{self.channel} {self.event_id} ({self.status})"


class SimulatedGatewayPayment(models.Model):
    """The simulated gateway's own record of what it received, by idempotency key: a second
    submission with the same key gets the first answer, so money never leaves twice."""

    key = models.CharField(max_length=64, unique=True)
    amount = models.CharField(max_length=40)
    currency = models.CharField(max_length=3)
    outcome = models.CharField(max_length=10)
    reference = models.CharField(max_length=40)
    reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("simulated gateway payment")

    def __str__(self) -> str:
        return f"{self.key} {self.outcome}"
