"""Customers and their KYC state. Personal data is encrypted at rest."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from apps.common.fields import EncryptedTextField
from apps.common.models import PublicIdModel, TimestampedModel


class CustomerKind(models.TextChoices):
    INDIVIDUAL = "individual", _("Individual")
    CORPORATE = "corporate", _("Corporate")


class KycStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    VERIFIED = "verified", _("Verified")
    REJECTED = "rejected", _("Rejected")


class RiskRating(models.TextChoices):
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")


class Customer(PublicIdModel, TimestampedModel):
    kind = models.CharField(max_length=12, choices=CustomerKind.choices)
    full_name = models.CharField(max_length=200, db_index=True)
    email = models.EmailField(blank=True)
    country = models.CharField(max_length=2)
    # Personal data: ciphertext in the column, plaintext in Python.
    national_id = EncryptedTextField()
    national_id_index = models.CharField(max_length=64, db_index=True, editable=False)
    phone = EncryptedTextField(blank=True)
    address = EncryptedTextField(blank=True)
    date_of_birth = EncryptedTextField(blank=True)  # ISO date; individuals only
    kyc_status = models.CharField(max_length=10, choices=KycStatus.choices, default=KycStatus.PENDING, db_index=True)
    kyc_decided_by = models.CharField(max_length=150, blank=True)
    kyc_decided_at = models.DateTimeField(null=True, blank=True)
    kyc_note = models.TextField(blank=True)
    risk_rating = models.CharField(max_length=6, choices=RiskRating.choices, blank=True)
    created_by = models.CharField(max_length=150, blank=True)

    class Meta:
        verbose_name = _("customer")
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.full_name} ({self.get_kind_display()})"
