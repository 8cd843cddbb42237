"""Treasury: exchange rates and cross-currency deals, and reconciliation of the gateway's
settlement files against our payments (docs/treasury.md, ADR 0011)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.common.fields import CurrencyField, MoneyAmountField
from apps.common.models import AppendOnlyModel, PublicIdModel, TimestampedModel

RATE_DIGITS = 20
RATE_PLACES = 10


class FxRate(PublicIdModel, TimestampedModel):
    """A mid rate: 1 `base` = `mid` `quote`, valid from `valid_from` until `valid_to` (open when
    empty). A row exists only once a second person approved it (maker-checker); a newer rate of
    the same pair closes the open one at its own `valid_from`."""

    base = CurrencyField()
    quote = CurrencyField()
    mid = models.DecimalField(max_digits=RATE_DIGITS, decimal_places=RATE_PLACES)
    valid_from = models.DateTimeField(db_index=True)
    valid_to = models.DateTimeField(null=True, blank=True)
    set_by = models.CharField(max_length=150)
    approved_by = models.CharField(max_length=150)
    approval = models.UUIDField(null=True, blank=True, help_text=_("The approval that put this rate in force."))

    class Meta:
        verbose_name = _("exchange rate")
        ordering = ["base", "quote", "-valid_from"]
        constraints = [
            models.CheckConstraint(condition=models.Q(mid__gt=0), name="fxrate_mid_positive"),
            models.CheckConstraint(condition=~models.Q(base=models.F("quote")), name="fxrate_two_currencies"),
        ]

    def __str__(self) -> str:
        return f"{self.base}/{self.quote} {self.mid}"


class FxDeal(AppendOnlyModel, PublicIdModel):
    """What one cross-currency entry converted: the rate and spread it used and both amounts."""

    entry = models.OneToOneField("transactions.JournalEntry", on_delete=models.PROTECT, related_name="fx_deal")
    sell_currency = CurrencyField()  # what the customer gave
    sell_amount = MoneyAmountField()
    buy_currency = CurrencyField()  # what the customer got
    buy_amount = MoneyAmountField()
    mid_rate = models.DecimalField(max_digits=RATE_DIGITS, decimal_places=RATE_PLACES)  # 1 sell = mid buy
    customer_rate = models.DecimalField(max_digits=RATE_DIGITS, decimal_places=RATE_PLACES)
    spread_bps = models.PositiveIntegerField()
    rate = models.ForeignKey(FxRate, on_delete=models.PROTECT, related_name="deals")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("FX deal")
        ordering = ["-id"]

    def __str__(self) -> str:
        return (
            f"{self.sell_amount} {self.sell_currency} -> {self.buy_amount} {self.buy_currency} @ {self.customer_rate}"
        )


class SettlementFormat(models.TextChoices):
    CSV = "csv", _("CSV")
    CAMT053 = "camt053", _("ISO 20022 camt.053")


class SettlementFile(AppendOnlyModel, PublicIdModel):
    """One imported settlement file of the gateway; the same bytes are imported once."""

    sha256 = models.CharField(max_length=64, unique=True)
    filename = models.CharField(max_length=255)
    format = models.CharField(max_length=8, choices=SettlementFormat.choices)
    statement_date = models.DateField()
    line_count = models.PositiveIntegerField()
    imported_by = models.CharField(max_length=150)
    imported_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("settlement file")
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.filename} ({self.statement_date})"


class LineStatus(models.TextChoices):
    SETTLED = "settled", _("Settled")
    REJECTED = "rejected", _("Rejected")
    RETURNED = "returned", _("Returned")


class LineOutcome(models.TextChoices):
    SETTLE = "settle", _("Settled by this file")
    REJECT = "reject", _("Rejected by this file")
    RETURN = "return", _("Returned by this file")
    AGREED = "agreed", _("Already in this state")
    BREAK = "break", _("Break")


class SettlementLine(AppendOnlyModel):
    file = models.ForeignKey(SettlementFile, on_delete=models.PROTECT, related_name="lines")
    line_no = models.PositiveIntegerField()
    payment_key = models.CharField(max_length=64)
    gateway_reference = models.CharField(max_length=64, blank=True)
    amount = MoneyAmountField()
    currency = CurrencyField()
    status = models.CharField(max_length=8, choices=LineStatus.choices)
    value_date = models.DateField()
    payment = models.ForeignKey(
        "transactions.Payment", null=True, blank=True, on_delete=models.PROTECT, related_name="settlement_lines"
    )
    outcome = models.CharField(max_length=8, choices=LineOutcome.choices)

    class Meta:
        verbose_name = _("settlement line")
        ordering = ["file", "line_no"]

    def __str__(self) -> str:
        return f"line {self.line_no}: {self.payment_key} {self.amount} {self.currency} {self.status}"


class BreakKind(models.TextChoices):
    UNKNOWN_REFERENCE = "unknown_reference", _("Unknown reference")
    AMOUNT_MISMATCH = "amount_mismatch", _("Amount differs")
    CURRENCY_MISMATCH = "currency_mismatch", _("Currency differs")
    STATE_MISMATCH = "state_mismatch", _("Payment in another state")
    MISSING_FROM_FILE = "missing_from_file", _("Submitted payment missing from the file")


class BreakStatus(models.TextChoices):
    OPEN = "open", _("Open")
    RESOLVED = "resolved", _("Resolved")


class Break(PublicIdModel, TimestampedModel):
    """A difference between the gateway's file and our books, for operations to investigate."""

    kind = models.CharField(max_length=20, choices=BreakKind.choices)
    detail = models.CharField(max_length=255)
    file = models.ForeignKey(SettlementFile, on_delete=models.PROTECT, related_name="breaks")
    line = models.OneToOneField(
        SettlementLine, null=True, blank=True, on_delete=models.PROTECT, related_name="break_row"
    )
    payment = models.ForeignKey(
        "transactions.Payment", null=True, blank=True, on_delete=models.PROTECT, related_name="settlement_breaks"
    )
    status = models.CharField(max_length=8, choices=BreakStatus.choices, default=BreakStatus.OPEN, db_index=True)
    resolved_by = models.CharField(max_length=150, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    note = models.CharField(max_length=255, blank=True)

    class Meta:
        verbose_name = _("reconciliation break")
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.detail}"
