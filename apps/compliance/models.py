"""Maker-checker approvals: an action held until a second principal decides it."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from apps.common.fields import CurrencyField, MoneyAmountField
from apps.common.models import AppendOnlyModel, PublicIdModel, TimestampedModel


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


# --- AML: watchlists, cases, large-value and suspicious transaction reports (docs/compliance.md) ---


class WatchlistFormat(models.TextChoices):
    UN = "un", _("UN Security Council consolidated list (XML)")
    OFAC = "ofac", _("OFAC SDN list (CSV)")
    CSV = "csv", _("Internal list (CSV)")


class Watchlist(TimestampedModel):
    """One sanctions or internal list. `version` is the SHA-256 of what was imported last."""

    name = models.CharField(max_length=40, unique=True)
    source_format = models.CharField(max_length=4, choices=WatchlistFormat.choices)
    version = models.CharField(max_length=64)
    entry_count = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("watchlist")
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.entry_count})"


class WatchlistEntry(models.Model):
    """A listed person or entity. Rewritten by each import; excluded from auditlog (volume)."""

    watchlist = models.ForeignKey(Watchlist, on_delete=models.CASCADE, related_name="entries")
    ref = models.CharField(max_length=64)
    entry_type = models.CharField(max_length=12)  # individual | entity
    name = models.CharField(max_length=300)
    aliases = models.JSONField(default=list)
    country = models.CharField(max_length=100, blank=True)
    birth_date = models.CharField(max_length=40, blank=True)
    programs = models.CharField(max_length=200, blank=True)

    class Meta:
        verbose_name = _("watchlist entry")
        verbose_name_plural = _("watchlist entries")
        ordering = ["watchlist_id", "ref"]
        constraints = [models.UniqueConstraint(fields=["watchlist", "ref"], name="watchlist_entry_ref_unique")]

    def __str__(self) -> str:
        return f"{self.name} [{self.ref}]"


class CaseKind(models.TextChoices):
    SCREENING_HIT = "screening_hit", _("Screening hit")
    LARGE_VALUE = "large_value", _("Large-value transaction report")
    SUSPICIOUS = "suspicious", _("Suspicious transaction report")


class CaseStatus(models.TextChoices):
    OPEN = "open", _("Open")
    ASSIGNED = "assigned", _("Assigned")
    ESCALATED = "escalated", _("Escalated")
    CLOSED = "closed", pgettext_lazy("compliance case", "Closed")


class CaseDisposition(models.TextChoices):
    FALSE_POSITIVE = "false_positive", _("False positive")
    TRUE_MATCH = "true_match", _("True match")
    REPORTED = "reported", _("Reported to the authority")
    NO_ACTION = "no_action", _("No further action")


class Case(PublicIdModel, TimestampedModel):
    """A compliance case: a screening hit or a transaction report waiting for a person."""

    kind = models.CharField(max_length=16, choices=CaseKind.choices, db_index=True)
    status = models.CharField(max_length=10, choices=CaseStatus.choices, default=CaseStatus.OPEN, db_index=True)
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.PROTECT, related_name="compliance_cases"
    )
    payment = models.ForeignKey(
        "transactions.Payment", null=True, blank=True, on_delete=models.PROTECT, related_name="compliance_cases"
    )
    subject_name = models.CharField(max_length=300, blank=True)
    summary = models.CharField(max_length=255)
    detail = models.JSONField(default=dict)
    score = models.PositiveSmallIntegerField(null=True, blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="compliance_cases"
    )
    disposition = models.CharField(max_length=16, choices=CaseDisposition.choices, blank=True)
    opened_by = models.CharField(max_length=150)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("compliance case")
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.summary} ({self.status})"


class CaseNote(AppendOnlyModel):
    """The case's history: comments, assignments, escalations, attachments, the closing."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="notes")
    action = models.CharField(max_length=12)  # open | assign | comment | attach | escalate | close
    author = models.CharField(max_length=150)
    text = models.TextField(blank=True)
    attachment = models.FileField(upload_to="compliance/cases/%Y/%m/", blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("case note")
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.action} by {self.author}"


class ReportFlow(models.TextChoices):
    CASH = "cash", _("Cash deposits and withdrawals")
    DOMESTIC = "domestic", _("Domestic transfers and payments")
    CROSS_BORDER = "cross_border", _("Cross-border payments")


class ReportRule(TimestampedModel):
    """One reporting threshold of a jurisdiction's rule set (data, editable in the admin)."""

    jurisdiction = models.CharField(max_length=20, db_index=True)
    code = models.CharField(max_length=40)
    description = models.CharField(max_length=255)
    report_kind = models.CharField(max_length=16, choices=CaseKind.choices, default=CaseKind.LARGE_VALUE)
    flow = models.CharField(max_length=12, choices=ReportFlow.choices)
    customer_kind = models.CharField(max_length=12, blank=True)  # "" = any, else individual | corporate
    # "" = any currency, "CNY" = only CNY, "!CNY" = every currency but CNY.
    currency_filter = models.CharField(max_length=4, blank=True)
    threshold = MoneyAmountField()
    threshold_currency = CurrencyField()
    strictly_greater = models.BooleanField(default=False)  # US CTR: "more than"; PBOC: "at least"
    active = models.BooleanField(default=True)

    class Meta:
        verbose_name = _("transaction report rule")
        ordering = ["jurisdiction", "code"]
        constraints = [models.UniqueConstraint(fields=["jurisdiction", "code"], name="report_rule_code_unique")]

    def __str__(self) -> str:
        return f"{self.jurisdiction}/{self.code}"


class ReportRecord(TimestampedModel):
    """A customer's day that met a rule: one row per rule, customer and business date."""

    rule = models.ForeignKey(ReportRule, on_delete=models.PROTECT, related_name="records")
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="transaction_reports")
    business_date = models.DateField(db_index=True)
    total = MoneyAmountField()
    currency = CurrencyField()
    transaction_count = models.PositiveIntegerField()
    entries = models.JSONField(default=list)  # public ids of the journal entries / payments counted
    case = models.OneToOneField(Case, null=True, blank=True, on_delete=models.PROTECT, related_name="report")

    class Meta:
        verbose_name = _("transaction report")
        ordering = ["-business_date", "id"]
        constraints = [
            models.UniqueConstraint(fields=["rule", "customer", "business_date"], name="report_record_unique")
        ]

    def __str__(self) -> str:
        return f"{self.rule} {self.customer_id} {self.business_date}"
