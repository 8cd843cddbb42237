"""Customers and their KYC state. Personal data is encrypted at rest."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from apps.common.fields import CurrencyField, EncryptedTextField, MoneyAmountField
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
    # The staff user who looks after this customer; they hold django-guardian's view_customer on it.
    relationship_manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="managed_customers",
    )
    # Corporate mandates: a payment above this amount needs a second portal user's approval.
    approval_threshold = MoneyAmountField(null=True, blank=True)
    approval_threshold_currency = CurrencyField(blank=True)

    class Meta:
        verbose_name = _("customer")
        ordering = ["-id"]
        permissions = [
            ("view_pii", _("Can see personal data unmasked (every view is audited)")),
            ("view_assigned_customer", _("Can see the customers assigned to them as relationship manager")),
            ("assign_relationship_manager", _("Can assign a relationship manager to a customer")),
        ]

    def __str__(self) -> str:
        return f"{self.full_name} ({self.get_kind_display()})"


class PortalUser(TimestampedModel):
    """A person who logs in to the portal for one customer (a corporate customer has several).

    What they may do on each of the customer's accounts is held as django-guardian object
    permissions on the account (`accounts.view_account_portal`, `initiate_payment`,
    `approve_payment`), granted through `apps.accounts.services.mandate_grant`.
    """

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="portal_user")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="portal_users")

    class Meta:
        verbose_name = _("portal user")
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.user} @ {self.customer}"
