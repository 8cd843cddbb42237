"""Maker-checker approvals: an action held until a second principal decides it."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from apps.common.models import PublicIdModel, TimestampedModel


class ApprovalStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    EXPIRED = "expired", _("Expired")


class Approval(PublicIdModel, TimestampedModel):
    action = models.CharField(max_length=60)
    payload = models.JSONField(default=dict)
    summary = models.CharField(max_length=255, blank=True)
    status = models.CharField(
        max_length=8, choices=ApprovalStatus.choices, default=ApprovalStatus.PENDING, db_index=True
    )
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.PROTECT, related_name="approvals"
    )
    requested_by = models.CharField(max_length=150)
    requested_channel = models.CharField(max_length=10)
    requested_for_customer_id = models.BigIntegerField(null=True, blank=True)
    request_reason = models.CharField(max_length=255, blank=True)
    decided_by = models.CharField(max_length=150, blank=True)
    decision_reason = models.CharField(max_length=255, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(db_index=True)
    result = models.JSONField(null=True, blank=True)

    class Meta:
        verbose_name = _("approval")
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.action} ({self.status})"
