"""Products, accounts and holds. Balances are cached here and changed only by the ledger."""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from apps.common.fields import CurrencyField, MoneyAmountField
from apps.common.models import PublicIdModel, TimestampedModel


class ProductKind(models.TextChoices):
    CURRENT = "current", _("Current account")
    SAVINGS = "savings", _("Savings account")
    INTERNAL = "internal", _("Internal (general ledger)")


class Product(TimestampedModel):
    code = models.CharField(max_length=40, unique=True)
    name = models.CharField(max_length=120)
    currency = CurrencyField()
    kind = models.CharField(max_length=10, choices=ProductKind.choices)
    overdraft_limit = MoneyAmountField(default=Decimal(0))
    is_active = models.BooleanField(default=True)
    # End of day (docs/end-of-day.md): annual interest in percent, accrued daily on actual/365
    # and capitalised monthly; a fee charged on the last day of each month.
    interest_rate = models.DecimalField(
        _("annual interest rate (%)"), max_digits=7, decimal_places=4, default=Decimal(0)
    )
    monthly_fee = MoneyAmountField(_("monthly fee"), default=Decimal(0))

    class Meta:
        verbose_name = _("product")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=Q(interest_rate__gte=0), name="product_interest_rate_not_negative"),
            models.CheckConstraint(condition=Q(monthly_fee__gte=0), name="product_monthly_fee_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class AccountStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    ACTIVE = "active", _("Active")
    FROZEN = "frozen", _("Frozen")
    CLOSED = "closed", _("Closed")
    # No customer activity for 12 months (end of day): receives money, sends nothing until
    # staff reactivate it with a second person's approval.
    DORMANT = "dormant", _("Dormant")


class GlCode(models.TextChoices):
    """The bank's own books, one account per code and currency."""

    CASH_VAULT = "cash_vault", _("Cash vault")
    CLEARING = "clearing", _("Clearing")
    FEE_INCOME = "fee_income", _("Fee income")
    INTEREST_EXPENSE = "interest_expense", _("Interest expense")
    SUSPENSE = "suspense", _("Suspense")
    FX_POSITION = "fx_position", _("FX position")


class Account(PublicIdModel, TimestampedModel):
    number = models.CharField(max_length=34, unique=True)
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.PROTECT, related_name="accounts"
    )
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="accounts")
    currency = CurrencyField()
    status = models.CharField(max_length=8, choices=AccountStatus.choices, default=AccountStatus.PENDING, db_index=True)
    is_internal = models.BooleanField(default=False)
    gl_code = models.CharField(max_length=20, choices=GlCode.choices, blank=True)
    # Cached from the ledger, changed only with the postings, under a row lock.
    balance = MoneyAmountField(default=Decimal(0))
    available = MoneyAmountField(default=Decimal(0))
    overdraft_limit = MoneyAmountField(default=Decimal(0))
    status_reason = models.CharField(max_length=255, blank=True)
    frozen_by_bank = models.BooleanField(default=False)
    opened_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("account")
        ordering = ["-id"]
        # Portal users' rights on one account (corporate mandates): django-guardian object permissions.
        permissions = [
            ("view_account_portal", _("Can see the account in the portal")),
            ("initiate_payment", _("Can initiate payments from the account")),
            ("approve_payment", _("Can approve payments from the account")),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["gl_code", "currency"], condition=Q(is_internal=True), name="account_one_gl_per_currency"
            ),
            # A customer account never goes below its overdraft limit, whatever the code does.
            models.CheckConstraint(
                condition=Q(is_internal=True) | Q(available__gte=-F("overdraft_limit")),
                name="account_available_within_overdraft",
            ),
            models.CheckConstraint(
                condition=Q(is_internal=True) | Q(customer__isnull=False), name="account_customer_required"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.currency}"


class HoldStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    CAPTURED = "captured", _("Captured")
    RELEASED = "released", _("Released")
    EXPIRED = "expired", _("Expired")


class Hold(PublicIdModel, TimestampedModel):
    """Funds reserved on an account: they leave `available` but not `balance` until captured."""

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="holds")
    amount = MoneyAmountField()
    currency = CurrencyField()
    captured_amount = MoneyAmountField(default=Decimal(0))
    status = models.CharField(max_length=8, choices=HoldStatus.choices, default=HoldStatus.ACTIVE, db_index=True)
    reference = models.CharField(max_length=140, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True, db_index=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    created_by = models.CharField(max_length=150, blank=True)

    class Meta:
        verbose_name = _("hold")
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="hold_amount_positive"),
            models.CheckConstraint(condition=Q(captured_amount__lte=F("amount")), name="hold_capture_within_amount"),
        ]

    def __str__(self) -> str:
        return f"hold {self.amount} {self.currency} on {self.account_id} ({self.status})"
