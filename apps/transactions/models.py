"""The double-entry ledger: one JournalEntry per movement, two or more Postings summing to zero.

Sign convention: a posting's amount is signed from the account's point of view, credit
positive. A deposit credits the customer (+) and debits the cash vault (-). Every account's
balance is the sum of its postings; the bank's own books may go negative.
Entries and postings are append-only (model guards, and triggers on PostgreSQL).
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.common.fields import CurrencyField, MoneyAmountField
from apps.common.models import AppendOnlyModel, PublicIdModel


class EntryKind(models.TextChoices):
    DEPOSIT = "deposit", _("Deposit")
    WITHDRAWAL = "withdrawal", _("Withdrawal")
    TRANSFER = "transfer", _("Transfer")
    REVERSAL = "reversal", _("Reversal")
    HOLD_CAPTURE = "hold_capture", _("Hold capture")


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
