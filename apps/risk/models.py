"""Risk: limits and rules as data, usage counters, alerts and customer risk profiles."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.common.fields import MoneyAmountField
from apps.common.models import PublicIdModel, TimestampedModel


class Tier(models.TextChoices):
    STANDARD = "standard", _("Standard")
    PREMIUM = "premium", _("Premium")
    CORPORATE = "corporate", _("Corporate")


class RiskProfile(TimestampedModel):
    """Risk's own facts about a customer (kept here so the customers app is not touched): the
    limit tier, the PEP flag and the last computed score with each factor's contribution."""

    customer = models.OneToOneField("customers.Customer", on_delete=models.PROTECT, related_name="risk_profile")
    tier = models.CharField(max_length=10, choices=Tier.choices, default=Tier.STANDARD)
    pep = models.BooleanField(_("politically exposed person"), default=False)
    score = models.PositiveSmallIntegerField(null=True, blank=True)
    factors = models.JSONField(default=dict, blank=True)
    scored_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("risk profile")

    def __str__(self) -> str:
        return f"risk profile of customer {self.customer_id}"


class LimitRule(TimestampedModel):
    """An amount limit for a scope. Blank scope fields match anything; the most specific rule
    that matches a movement applies (ties: the strictest). A change is a new row with a later
    `valid_from`; the row in force for a scope is the newest that is already valid."""

    channel = models.CharField(max_length=10, blank=True)
    product = models.CharField(max_length=40, blank=True, help_text=_("product code"))
    tier = models.CharField(max_length=10, choices=Tier.choices, blank=True)
    currency = models.CharField(max_length=3)
    per_transaction = MoneyAmountField(null=True, blank=True)
    daily = MoneyAmountField(null=True, blank=True)
    monthly = MoneyAmountField(null=True, blank=True)
    valid_from = models.DateTimeField(default=timezone.now, db_index=True)
    created_by = models.CharField(max_length=150, blank=True)
    approved_by = models.CharField(max_length=150, blank=True)

    class Meta:
        verbose_name = _("limit")
        ordering = ["currency", "channel", "product", "tier", "-valid_from", "-id"]

    def __str__(self) -> str:
        scope = "/".join(part or "*" for part in (self.channel, self.product, self.tier))
        return f"{scope} {self.currency}"


class LimitPeriod(models.TextChoices):
    DAY = "day", _("Day")
    MONTH = "month", _("Month")


class LimitUsage(models.Model):
    """What a customer has moved out through a channel in one currency in one day or month: the
    row is locked FOR UPDATE in the movement's transaction, so concurrent movements serialise."""

    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="+")
    channel = models.CharField(max_length=10)
    currency = models.CharField(max_length=3)
    period = models.CharField(max_length=5, choices=LimitPeriod.choices)
    starts_on = models.DateField()
    used = MoneyAmountField(default=0)

    class Meta:
        verbose_name = _("limit usage")
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "channel", "currency", "period", "starts_on"], name="risk_limitusage_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.channel} {self.currency} {self.period} {self.starts_on}: {self.used}"


class RuleKind(models.TextChoices):
    VELOCITY = "velocity", _("Velocity")
    NEW_BENEFICIARY_LARGE = "new_beneficiary_large", _("New beneficiary and large amount")
    STRUCTURING = "structuring", _("Structuring")
    DORMANT_REACTIVATED = "dormant_reactivated", _("Dormant account reactivated")
    HIGH_RISK_COUNTRY = "high_risk_country", _("High-risk country")
    ANOMALY = "anomaly", _("Unusual for the customer")


class RuleAction(models.TextChoices):
    ALLOW = "allow", _("Allow")
    REVIEW = "review", _("Review")
    BLOCK = "block", _("Block")


class RuleStatus(models.TextChoices):
    PROPOSED = "proposed", _("Proposed")
    ACTIVE = "active", _("Active")
    RETIRED = "retired", _("Retired")


class Rule(TimestampedModel):
    """One version of a risk rule. A change is a new version row, `proposed` until a second
    person approves it; approving activates it and retires the version before it."""

    code = models.SlugField(max_length=50)
    version = models.PositiveIntegerField()
    kind = models.CharField(max_length=24, choices=RuleKind.choices)
    parameters = models.JSONField(default=dict)
    action = models.CharField(max_length=6, choices=RuleAction.choices)
    channels = models.JSONField(default=list, blank=True, help_text=_("channels it applies to; empty: all screened"))
    status = models.CharField(max_length=8, choices=RuleStatus.choices, default=RuleStatus.PROPOSED, db_index=True)
    created_by = models.CharField(max_length=150, blank=True)
    approved_by = models.CharField(max_length=150, blank=True)

    class Meta:
        verbose_name = _("risk rule")
        ordering = ["code", "-version"]
        constraints = [models.UniqueConstraint(fields=["code", "version"], name="risk_rule_code_version")]

    def __str__(self) -> str:
        return f"{self.code} v{self.version} ({self.status})"


class AlertStatus(models.TextChoices):
    OPEN = "open", _("Open")
    ASSIGNED = "assigned", _("Assigned")
    CLOSED = "closed", _("Closed")


class Disposition(models.TextChoices):
    TRUE_POSITIVE = "true_positive", _("True positive")
    FALSE_POSITIVE = "false_positive", _("False positive")
    ESCALATED = "escalated", _("Escalated")


class AlertCategory(models.TextChoices):
    RULE = "rule", _("Risk rule")
    LIMIT = "limit", _("Limit breach")
    FX_POSITION = "fx_position", _("FX position limit")


class Alert(PublicIdModel, TimestampedModel):
    """A risk decision other than allow, for a risk officer to work: queue, assignment, disposition."""

    rule = models.ForeignKey(Rule, null=True, blank=True, on_delete=models.PROTECT, related_name="alerts")
    category = models.CharField(max_length=12, choices=AlertCategory.choices, default=AlertCategory.RULE, db_index=True)
    customer = models.ForeignKey("customers.Customer", null=True, on_delete=models.PROTECT, related_name="+")
    outcome = models.CharField(max_length=6, choices=RuleAction.choices)
    reason = models.CharField(max_length=255)
    kind = models.CharField(max_length=12, help_text=_("transfer, withdrawal, payment or fx_position"))
    reference = models.CharField(max_length=64, blank=True, help_text=_("approval, payment or transaction id"))
    amount = MoneyAmountField(null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    score = models.PositiveSmallIntegerField(default=0)
    status = models.CharField(max_length=8, choices=AlertStatus.choices, default=AlertStatus.OPEN, db_index=True)
    assignee = models.CharField(max_length=150, blank=True)
    disposition = models.CharField(max_length=16, choices=Disposition.choices, blank=True)
    notes = models.TextField(blank=True)
    closed_by = models.CharField(max_length=150, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("risk alert")
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"alert {self.public_id} ({self.status})"


class CustomerBaseline(models.Model):
    """A customer's own history of outgoing movements, for the anomaly score: the median and the
    median absolute deviation of ln(amount) and of the hour of day (local time). Trained from the
    ledger by `manage.py train_anomaly_model`; no row (too little history): rules only."""

    customer = models.OneToOneField("customers.Customer", on_delete=models.PROTECT, related_name="+")
    samples = models.PositiveIntegerField()
    log_amount_median = models.DecimalField(max_digits=12, decimal_places=6)
    log_amount_mad = models.DecimalField(max_digits=12, decimal_places=6)
    hour_median = models.DecimalField(max_digits=8, decimal_places=4)
    hour_mad = models.DecimalField(max_digits=8, decimal_places=4)
    trained_at = models.DateTimeField()

    class Meta:
        verbose_name = _("anomaly baseline")

    def __str__(self) -> str:
        return f"baseline of customer {self.customer_id} ({self.samples} movements)"


# --- credit risk: overdraft facilities ----------------------------------------------------------


class FacilityStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for approval")
    SCHEDULED = "scheduled", _("Approved, starts later")
    ACTIVE = "active", _("Active")
    ENDED = "ended", _("Ended")
    DECLINED = "declined", _("Declined")


LIVE_FACILITY_STATUSES = (FacilityStatus.PENDING, FacilityStatus.SCHEDULED, FacilityStatus.ACTIVE)


class OverdraftFacility(PublicIdModel, TimestampedModel):
    """An approved overdraft on one account: while active, the account's `overdraft_limit` (which
    the ledger checks under the account's row lock, and a database constraint enforces) is the
    facility's limit. Asked for by one person, approved by another (approval `risk.facility_approve`).
    """

    account = models.ForeignKey("accounts.Account", on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="+")
    limit = MoneyAmountField()
    currency = models.CharField(max_length=3)
    rate = models.DecimalField(_("annual debit interest rate (%)"), max_digits=7, decimal_places=4)
    valid_from = models.DateField()
    valid_to = models.DateField(null=True, blank=True)
    status = models.CharField(
        max_length=10, choices=FacilityStatus.choices, default=FacilityStatus.PENDING, db_index=True
    )
    approval = models.ForeignKey(
        "compliance.Approval", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    credit_score = models.JSONField(default=dict, blank=True, help_text=_("the credit score when it was asked for"))
    requested_by = models.CharField(max_length=150)
    approved_by = models.CharField(max_length=150, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=255, blank=True)

    class Meta:
        verbose_name = _("overdraft facility")
        verbose_name_plural = _("overdraft facilities")
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(limit__gt=0), name="risk_facility_limit_positive"),
            models.CheckConstraint(condition=models.Q(rate__gte=0), name="risk_facility_rate_not_negative"),
            models.UniqueConstraint(
                fields=["account"], condition=models.Q(status="active"), name="risk_facility_one_active_per_account"
            ),
        ]

    def __str__(self) -> str:
        return f"overdraft {self.limit} {self.currency} on account {self.account_id} ({self.status})"


# --- market risk: net open FX position limits ---------------------------------------------------


class FxPositionLimit(TimestampedModel):
    """The largest net open position (long or short, in the currency itself) the bank may run in
    one currency. A change is a new row; the newest row of a currency is in force. Raising is
    maker-checked (approval `risk.fx_limit_set`); lowering applies at once and is reviewed after."""

    currency = models.CharField(max_length=3, db_index=True)
    limit = MoneyAmountField()
    created_by = models.CharField(max_length=150, blank=True)
    approved_by = models.CharField(max_length=150, blank=True)

    class Meta:
        verbose_name = _("FX position limit")
        ordering = ["currency", "-id"]
        constraints = [models.CheckConstraint(condition=models.Q(limit__gte=0), name="risk_fx_limit_not_negative")]

    def __str__(self) -> str:
        return f"FX position limit {self.currency} {self.limit}"
