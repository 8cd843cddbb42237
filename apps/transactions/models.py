"""The double-entry ledger: one JournalEntry per movement, two or more Postings summing to zero.

Sign convention: a posting's amount is signed from the account's point of view, credit
positive. A deposit credits the customer (+) and debits the cash vault (-). Every account's
balance is the sum of its postings; the bank's own books may go negative.
Entries and postings are append-only (model guards, and triggers on PostgreSQL).
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.common.fields import CurrencyField, MoneyAmountField
from apps.common.models import AppendOnlyModel, PublicIdModel, TimestampedModel


class EntryKind(models.TextChoices):
    DEPOSIT = "deposit", _("Deposit")
    WITHDRAWAL = "withdrawal", _("Withdrawal")
    TRANSFER = "transfer", _("Transfer")
    REVERSAL = "reversal", _("Reversal")
    HOLD_CAPTURE = "hold_capture", _("Hold capture")
    PAYMENT = "payment", _("Outgoing payment")
    PAYMENT_RETURN = "payment_return", _("Returned payment")
    INTEREST = "interest", _("Interest")
    FEE = "fee", _("Fee")


class JournalEntry(AppendOnlyModel, PublicIdModel):
    kind = models.CharField(max_length=16, choices=EntryKind.choices)
    amount = MoneyAmountField()
    currency = CurrencyField()
    reference = models.CharField(max_length=140, blank=True)
    channel = models.CharField(max_length=10)
    created_by = models.CharField(max_length=150)
    reverses = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversal")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("journal entry")
        verbose_name_plural = _("journal entries")
        ordering = ["-id"]
        # The back office's counter and transfer forms (apps/staff): who may move money there.
        permissions = [
            ("post_cash", _("Can take cash deposits and pay out cash withdrawals at the counter")),
            ("post_transfer", _("Can send transfers between customer accounts from the back office")),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount} {self.currency} ({self.public_id})"


class Posting(AppendOnlyModel, PublicIdModel):
    entry = models.ForeignKey(JournalEntry, on_delete=models.PROTECT, related_name="postings")
    account = models.ForeignKey("accounts.Account", on_delete=models.PROTECT, related_name="postings", db_index=False)
    amount = MoneyAmountField()
    currency = CurrencyField()
    balance_after = MoneyAmountField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("posting")
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["account", "id"], name="posting_account_history"),
            models.Index(fields=["account", "created_at", "id"], name="posting_account_at"),
        ]

    def __str__(self) -> str:
        return f"{self.amount} {self.currency} on {self.account_id}"


class PaymentStatus(models.TextChoices):
    """ARCHITECTURE.md: received -> screened -> (pending_approval) -> held -> submitted ->
    settled | rejected | returned."""

    RECEIVED = "received", _("Received")
    SCREENED = "screened", _("Screened")
    PENDING_APPROVAL = "pending_approval", _("Pending approval")
    HELD = "held", _("Funds held")
    SUBMITTED = "submitted", _("Submitted to the gateway")
    SETTLED = "settled", _("Settled")
    REJECTED = "rejected", _("Rejected")
    RETURNED = "returned", _("Returned")


FINAL_PAYMENT_STATUSES = (PaymentStatus.SETTLED, PaymentStatus.REJECTED, PaymentStatus.RETURNED)


class Payment(PublicIdModel, TimestampedModel):
    """An outgoing payment to another bank. Its funds are held on the account from `held` until
    the gateway's answer settles the payment (the hold is captured into clearing) or rejects it
    (the hold is released). Every change of `status` is a PaymentEvent."""

    account = models.ForeignKey("accounts.Account", on_delete=models.PROTECT, related_name="payments")
    amount = MoneyAmountField()
    currency = CurrencyField()
    beneficiary_name = models.CharField(max_length=140)
    beneficiary_account = models.CharField(max_length=34)
    beneficiary_bank = models.CharField(max_length=12)
    beneficiary_country = models.CharField(max_length=2)
    reference = models.CharField(max_length=140, blank=True)
    status = models.CharField(
        max_length=16, choices=PaymentStatus.choices, default=PaymentStatus.RECEIVED, db_index=True
    )
    hold = models.OneToOneField(
        "accounts.Hold", null=True, blank=True, on_delete=models.PROTECT, related_name="payment"
    )
    settlement_entry = models.OneToOneField(
        JournalEntry, null=True, blank=True, on_delete=models.PROTECT, related_name="settled_payment"
    )
    return_entry = models.OneToOneField(
        JournalEntry, null=True, blank=True, on_delete=models.PROTECT, related_name="returned_payment"
    )
    # The gateway's final answer, recorded when it arrives and booked by the settlement batch.
    gateway_outcome = models.CharField(max_length=10, blank=True)
    gateway_reference = models.CharField(max_length=64, blank=True)
    gateway_reason = models.CharField(max_length=200, blank=True)
    submit_attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=200, blank=True)
    channel = models.CharField(max_length=10)
    created_by = models.CharField(max_length=150)
    # A payment in another currency than its account's (docs/treasury.md): the account gives
    # `fx_debit_amount` of its own currency, converted at `fx_customer_rate` (1 account currency =
    # rate x payment currency, the mid rate less the spread) fixed when the payment was accepted.
    # Empty for a payment in the account's currency.
    fx_debit_amount = MoneyAmountField(null=True, blank=True)
    fx_debit_currency = CurrencyField(blank=True)
    fx_mid_rate = models.DecimalField(max_digits=20, decimal_places=10, null=True, blank=True)
    fx_customer_rate = models.DecimalField(max_digits=20, decimal_places=10, null=True, blank=True)
    fx_spread_bps = models.PositiveIntegerField(null=True, blank=True)
    fx_rate = models.UUIDField(null=True, blank=True, help_text=_("The exchange rate (FxRate) used."))
    # The maker-checker approval that decides a payment a screener sent to review.
    approval = models.UUIDField(null=True, blank=True)

    class Meta:
        verbose_name = _("payment")
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="payment_amount_positive"),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(status__in=["held", "submitted"]),
                name="payment_open_due",
            ),
        ]

    def __str__(self) -> str:
        return f"payment {self.amount} {self.currency} ({self.status})"

    @property
    def is_fx(self) -> bool:
        return self.fx_debit_amount is not None

    @property
    def debit_amount(self) -> Decimal:
        """What leaves the account, in the account's currency."""
        return self.fx_debit_amount if self.fx_debit_amount is not None else self.amount

    @property
    def debit_currency(self) -> str:
        return self.fx_debit_currency or self.currency


class PaymentEvent(AppendOnlyModel):
    """One transition of a payment: from which status to which, when, why and by whom."""

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="events")
    from_status = models.CharField(max_length=16, blank=True)
    to_status = models.CharField(max_length=16)
    cause = models.CharField(max_length=255)
    actor = models.CharField(max_length=150)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("payment event")
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.from_status or '-'} -> {self.to_status}: {self.cause}"


class SavedBeneficiary(PublicIdModel, TimestampedModel):
    """A customer's address book entry: someone at another bank they pay (portal beneficiaries).

    The same shape rules as a payment's beneficiary (services_payments.beneficiary_check).
    `first_used_at` is when a payment (or a corporate payment awaiting approval) first went to
    it: until then it is a new beneficiary, and paying it asks for the customer's second factor
    when they use one (step-up)."""

    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="saved_beneficiaries")
    name = models.CharField(max_length=140)
    account_number = models.CharField(max_length=34)
    bank_code = models.CharField(max_length=12)
    country = models.CharField(max_length=2)
    nickname = models.CharField(max_length=60, blank=True)
    first_used_at = models.DateTimeField(null=True, blank=True)
    created_by = models.CharField(max_length=150)

    class Meta:
        verbose_name = _("saved beneficiary")
        verbose_name_plural = _("saved beneficiaries")
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "account_number", "bank_code"], name="saved_beneficiary_once_per_customer"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.bank_code}/{self.account_number}"


class InstructionKind(models.TextChoices):
    TRANSFER = "transfer", _("Transfer within the bank")
    PAYMENT = "payment", _("Payment to a beneficiary")


class InstructionStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for approval")
    APPROVED = "approved", _("Approved and executed")
    REJECTED = "rejected", _("Rejected")


class PaymentInstruction(PublicIdModel, TimestampedModel):
    """A corporate customer's transfer or payment that its mandate rules send to a second portal
    user (apps.accounts.services.mandate_requires_second_approval). Nothing moves and nothing is
    held until an approver with the approve right, who is not the initiator, approves it; the
    approval then performs the movement once (services_instructions)."""

    kind = models.CharField(max_length=10, choices=InstructionKind.choices)
    account = models.ForeignKey("accounts.Account", on_delete=models.PROTECT, related_name="payment_instructions")
    amount = MoneyAmountField()
    currency = CurrencyField()
    reference = models.CharField(max_length=140, blank=True)
    to_account = models.ForeignKey(
        "accounts.Account", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    beneficiary = models.ForeignKey(
        SavedBeneficiary, null=True, blank=True, on_delete=models.SET_NULL, related_name="instructions"
    )
    # What the initiator saw and confirmed: kept even when the address book entry is deleted.
    beneficiary_name = models.CharField(max_length=140, blank=True)
    beneficiary_account = models.CharField(max_length=34, blank=True)
    beneficiary_bank = models.CharField(max_length=12, blank=True)
    beneficiary_country = models.CharField(max_length=2, blank=True)
    status = models.CharField(
        max_length=10, choices=InstructionStatus.choices, default=InstructionStatus.PENDING, db_index=True
    )
    initiated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(max_length=255, blank=True)
    payment = models.OneToOneField(Payment, null=True, blank=True, on_delete=models.PROTECT, related_name="instruction")
    entry = models.OneToOneField(
        JournalEntry, null=True, blank=True, on_delete=models.PROTECT, related_name="instruction"
    )
    review_approval = models.CharField(max_length=36, blank=True)  # a risk review the transfer went to

    class Meta:
        verbose_name = _("payment instruction")
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="instruction_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount} {self.currency} ({self.status})"
