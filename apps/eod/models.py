"""End of day (docs/end-of-day.md): the business day, each step's single run per date, and the
high-volume rows the steps write (snapshots, accruals, capitalisations, fee charges).

The high-volume rows are AppendOnlyModel (never updated, so django-auditlog skips them) and
carry a unique (account, date) key: a step that is re-run for a date cannot write them twice.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.common.fields import CurrencyField, MoneyAmountField
from apps.common.models import AppendOnlyModel, TimestampedModel


class DayState(models.TextChoices):
    OPEN = "open", _("Open")
    CLOSING = "closing", _("Closing")
    CLOSED = "closed", _("Closed")
    FAILED = "failed", _("Close failed")


class Step(models.TextChoices):
    """The close's steps, in the order they run."""

    SNAPSHOT = "snapshot", _("Day-end balance snapshots")
    INTEREST_ACCRUAL = "interest_accrual", _("Interest accrual")
    INTEREST_CAPITALISATION = "interest_capitalisation", _("Interest capitalisation (month end)")
    MONTHLY_FEES = "monthly_fees", _("Monthly fees (month end)")
    DORMANCY = "dormancy", _("Dormancy")
    LEDGER_CHECK = "ledger_check", _("Ledger check")


class BusinessDay(TimestampedModel):
    date = models.DateField(unique=True)
    state = models.CharField(max_length=8, choices=DayState.choices, default=DayState.OPEN, db_index=True)
    started_by = models.CharField(max_length=150, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    results = models.JSONField(default=dict, blank=True)
    error = models.CharField(max_length=255, blank=True)

    class Meta:
        verbose_name = _("business day")
        ordering = ["-date"]

    def __str__(self) -> str:
        return f"{self.date} ({self.state})"


class StepRun(AppendOnlyModel):
    """Written in the same transaction as the step's effects: its presence means "done"."""

    business_date = models.DateField()
    step = models.CharField(max_length=24, choices=Step.choices)
    result = models.JSONField(default=dict)
    finished_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("end-of-day step run")
        ordering = ["-business_date", "id"]
        constraints = [models.UniqueConstraint(fields=["business_date", "step"], name="eod_step_once_per_date")]

    def __str__(self) -> str:
        return f"{self.business_date} {self.step}"


class BalanceSnapshot(AppendOnlyModel):
    """An account's ledger balance at the end of a business day (local time), for reports."""

    account = models.ForeignKey("accounts.Account", on_delete=models.PROTECT, related_name="+", db_index=False)
    date = models.DateField()
    balance = MoneyAmountField()
    currency = CurrencyField()

    class Meta:
        verbose_name = _("balance snapshot")
        ordering = ["-date", "account_id"]
        constraints = [models.UniqueConstraint(fields=["account", "date"], name="eod_snapshot_once")]
        indexes = [models.Index(fields=["date", "account"], name="eod_snapshot_by_date")]

    def __str__(self) -> str:
        return f"{self.account_id} {self.date} {self.balance} {self.currency}"


# Accruals are kept unrounded to 10 decimal places (a finer column than the ledger's 4).
ACCRUAL_PLACES = Decimal("1E-10")


class InterestAccrual(AppendOnlyModel):
    """One day's interest on a savings account: day-end balance x annual rate / 365."""

    account = models.ForeignKey("accounts.Account", on_delete=models.PROTECT, related_name="+", db_index=False)
    date = models.DateField()
    balance = MoneyAmountField()
    rate = models.DecimalField(max_digits=7, decimal_places=4)
    amount = models.DecimalField(max_digits=30, decimal_places=10)
    currency = CurrencyField()

    class Meta:
        verbose_name = _("interest accrual")
        ordering = ["-date", "account_id"]
        constraints = [models.UniqueConstraint(fields=["account", "date"], name="eod_accrual_once")]
        indexes = [models.Index(fields=["date", "account"], name="eod_accrual_by_date")]

    def __str__(self) -> str:
        return f"{self.account_id} {self.date} {self.amount}"


class InterestCapitalisation(AppendOnlyModel):
    """A month's accruals, rounded half-even to the minor unit and posted to the account."""

    account = models.ForeignKey("accounts.Account", on_delete=models.PROTECT, related_name="+", db_index=False)
    month_end = models.DateField()
    accrued = models.DecimalField(max_digits=30, decimal_places=10)
    posted = MoneyAmountField()
    currency = CurrencyField()
    entry = models.OneToOneField(
        "transactions.JournalEntry", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("interest capitalisation")
        ordering = ["-month_end", "account_id"]
        constraints = [models.UniqueConstraint(fields=["account", "month_end"], name="eod_capitalisation_once")]

    def __str__(self) -> str:
        return f"{self.account_id} {self.month_end} {self.posted}"


class FeeOutcome(models.TextChoices):
    CHARGED = "charged", _("Charged")
    PARTIAL = "partial", _("Partly charged (funds short)")
    SKIPPED = "skipped", _("Skipped")


class FeeCharge(AppendOnlyModel):
    """A product's monthly fee for one account and month end: what was due, what was taken."""

    account = models.ForeignKey("accounts.Account", on_delete=models.PROTECT, related_name="+", db_index=False)
    date = models.DateField()
    due = MoneyAmountField()
    charged = MoneyAmountField()
    currency = CurrencyField()
    outcome = models.CharField(max_length=8, choices=FeeOutcome.choices)
    reason = models.CharField(max_length=100, blank=True)
    entry = models.OneToOneField(
        "transactions.JournalEntry", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("fee charge")
        ordering = ["-date", "account_id"]
        constraints = [models.UniqueConstraint(fields=["account", "date"], name="eod_fee_once")]

    def __str__(self) -> str:
        return f"{self.account_id} {self.date} {self.charged}/{self.due} {self.outcome}"
