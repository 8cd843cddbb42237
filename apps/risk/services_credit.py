"""Credit risk: overdraft facilities (asked for, approved by a second person, started, ended)
and the credit score that suggests a facility's limit from the customer's own ledger history.

A facility lends through one number the ledger already enforces: the account's
`overdraft_limit`, checked by every debit under the account's row lock and by a database
constraint (`available >= -overdraft_limit`). Starting a facility raises it; ending one lowers
it back, never below what is already drawn (docs/adr/0014-credit-and-market-risk.md)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.accounts.models import Account, AccountStatus
from apps.accounts.services import account_overdraft_limit_set
from apps.audit.services import audit_record
from apps.common.errors import CustomerNotVerified, ValidationFailed
from apps.common.money import Money, format_amount
from apps.common.principals import Actor, Channel, require_bank
from apps.compliance.approvals import register_action
from apps.compliance.models import ApprovalStatus
from apps.compliance.services import approval_request
from apps.customers.models import Customer, KycStatus
from apps.risk import selectors
from apps.risk.models import LIVE_FACILITY_STATUSES, FacilityStatus, OverdraftFacility, RiskProfile

SYSTEM_ACTOR = Actor(label="system:risk", channel=Channel.SYSTEM)
MAX_RATE = Decimal(100)

# --- the credit score ------------------------------------------------------------------------

SCORE_WINDOW_DAYS = 90
KYC_VERIFIED_POINTS = 20
TENURE_STEPS = ((24, 20), (12, 12), (6, 6))  # months as a customer -> points
INFLOW_MONTH_POINTS = (0, 6, 13, 20)  # months of the last three with money coming in
BALANCE_POINTS = ((Decimal(1), 20), (Decimal("0.25"), 10), (Decimal(0), 5))  # average balance / monthly inflow
RISK_STEPS = ((20, 20), (40, 10))  # customer risk score below -> points
RISK_UNKNOWN_POINTS = 10
RISK_REFUSE_FROM = 60  # a customer this risky is suggested no facility at all
SUGGESTION_SHARE = Decimal("0.5")  # at a perfect score: half a month's inflows
SUGGESTION_STEP = Decimal(100)


@dataclass(frozen=True)
class CreditScore:
    """0-100 with each factor's value and points, and the facility limit it suggests."""

    customer_id: int
    currency: str
    score: int
    suggested_limit: Decimal
    factors: dict[str, dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "currency": self.currency,
            "suggested_limit": format_amount(self.suggested_limit, self.currency),
            "factors": self.factors,
        }


def _months_between(start: dt.datetime, end: dt.datetime) -> int:
    months = (end.year - start.year) * 12 + end.month - start.month
    return months - (1 if end.day < start.day else 0)


def credit_score(*, customer: Customer, currency: str, now: dt.datetime | None = None) -> CreditScore:
    """Score a customer for credit in `currency` from their own history (last 90 days):

    - kyc: verified or not (not verified: no facility is suggested);
    - tenure: months since their first account opened;
    - inflows: how many of the last three 30-day months brought money in, and the monthly average;
    - average_balance: the average day-end balance of their accounts in the currency, against
      the monthly inflow;
    - risk_score: the customer risk score (apps.risk) - high risk suggests nothing.

    The suggested limit is half a month's average inflow at a perfect score, scaled by the score
    and rounded down to 100 units of the currency."""
    now = now or timezone.now()
    since = now - dt.timedelta(days=SCORE_WINDOW_DAYS)
    history = selectors.customer_credit_history(customer.pk, currency=currency, since=since, until=now)
    factors: dict[str, dict[str, Any]] = {}
    verified = customer.kyc_status == KycStatus.VERIFIED
    factors["kyc"] = {"value": customer.kyc_status, "points": KYC_VERIFIED_POINTS if verified else 0}
    tenure = _months_between(history.first_opened, now) if history.first_opened else 0
    factors["tenure_months"] = {
        "value": tenure,
        "points": next((points for months, points in TENURE_STEPS if tenure >= months), 0),
    }
    monthly_inflow = (history.inflow_total / 3).quantize(Decimal("0.01"), ROUND_FLOOR)
    factors["inflows"] = {
        "value": format_amount(monthly_inflow, currency),
        "months_with_inflow": history.inflow_months,
        "points": INFLOW_MONTH_POINTS[min(history.inflow_months, 3)],
    }
    average = history.average_balance.quantize(Decimal("0.01"), ROUND_FLOOR)
    ratio = average / monthly_inflow if monthly_inflow > 0 else Decimal(0)
    balance_points = 0
    if average > 0:
        balance_points = next((points for floor, points in BALANCE_POINTS if ratio >= floor), 0)
    factors["average_balance"] = {"value": format_amount(average, currency), "points": balance_points}
    risk = RiskProfile.objects.filter(customer=customer).values_list("score", flat=True).first()
    if risk is None:
        risk_points = RISK_UNKNOWN_POINTS
    else:
        risk_points = next((points for below, points in RISK_STEPS if risk < below), 0)
    factors["risk_score"] = {"value": risk, "points": risk_points}
    score = min(100, sum(int(f["points"]) for f in factors.values()))
    suggested = monthly_inflow * SUGGESTION_SHARE * score / 100
    suggested = (suggested / SUGGESTION_STEP).to_integral_value(ROUND_FLOOR) * SUGGESTION_STEP
    if not verified or (risk is not None and risk >= RISK_REFUSE_FROM) or suggested < 0:
        suggested = Decimal(0)
    return CreditScore(
        customer_id=customer.pk, currency=currency, score=score, suggested_limit=suggested, factors=factors
    )


# --- facilities ------------------------------------------------------------------------------


def _check_terms(
    *, account: Account, limit: Money, rate: Decimal, valid_from: dt.date, valid_to: dt.date | None
) -> None:
    errors: dict[str, list[Any]] = {}
    if account.is_internal or account.customer_id is None:
        errors["account"] = [_("Only a customer's account can have an overdraft facility.")]
    elif account.status != AccountStatus.ACTIVE:
        errors["account"] = [_("The account is not active.")]
    if limit.currency != account.currency:
        errors["currency"] = [_("The limit must be in the account's currency.")]
    if limit.amount <= 0 or not limit.is_whole_minor_units():
        errors["limit"] = [_("Enter a positive amount in whole minor units.")]
    if not (0 <= rate <= MAX_RATE) or rate != rate.quantize(Decimal("0.0001")):
        errors["rate"] = [_("Enter an annual rate between 0 and 100 percent, at most 4 decimal places.")]
    if valid_to is not None and valid_to < max(valid_from, timezone.localdate()):
        errors["valid_to"] = [_("The facility must end after it starts, and not in the past.")]
    if errors:
        raise ValidationFailed(errors)


def facility_request(
    *,
    actor: Actor,
    account: Account,
    limit: Money,
    rate: Decimal,
    valid_from: dt.date | None = None,
    valid_to: dt.date | None = None,
    reason: str = "",
) -> OverdraftFacility:
    """Ask for an overdraft facility; it lends nothing until another person approves it
    (approval `risk.facility_approve`). The credit score at the time is kept with it."""
    require_bank(actor, _("Only the bank grants overdraft facilities."))
    valid_from = valid_from or timezone.localdate()
    _check_terms(account=account, limit=limit, rate=rate, valid_from=valid_from, valid_to=valid_to)
    customer = account.customer
    assert customer is not None
    if customer.kyc_status != KycStatus.VERIFIED:
        raise CustomerNotVerified()
    score = credit_score(customer=customer, currency=account.currency)
    with transaction.atomic():
        Account.objects.select_for_update().filter(pk=account.pk).first()  # one request at a time per account
        if OverdraftFacility.objects.filter(account=account, status=FacilityStatus.PENDING).exists():
            raise ValidationFailed({"account": [_("A facility for this account is already waiting for approval.")]})
        facility = OverdraftFacility.objects.create(
            account=account,
            customer=customer,
            limit=limit.amount,
            currency=limit.currency,
            rate=rate,
            valid_from=valid_from,
            valid_to=valid_to,
            credit_score=score.as_dict(),
            requested_by=actor.label,
        )
        facility.approval = approval_request(
            actor=actor,
            action="risk.facility_approve",
            payload={"facility": facility.pk, "account": str(account.public_id), "limit": str(limit.amount)},
            customer=customer,
            summary=(
                f"Overdraft facility {format_amount(limit.amount, limit.currency)} {limit.currency} "
                f"on account {account.number} (credit score {score.score}, suggested "
                f"{format_amount(score.suggested_limit, limit.currency)})"
            ),
            reason=reason,
        )
        facility.save(update_fields=["approval", "updated_at"])
        audit_record(
            actor=actor.label,
            action="risk.facility_request",
            object_type="overdraft_facility",
            object_id=str(facility.public_id),
            detail={"limit": str(limit.amount), "currency": limit.currency, "rate": str(rate), "score": score.score},
        )
    return facility


def _start(facility: OverdraftFacility, *, actor: Actor) -> None:
    """Activate a locked facility: it replaces the account's active one, and the account's
    overdraft limit becomes its limit (under the account's row lock)."""
    for old in OverdraftFacility.objects.select_for_update().filter(
        account_id=facility.account_id, status=FacilityStatus.ACTIVE
    ):
        old.status = FacilityStatus.ENDED
        old.ended_at = timezone.now()
        old.end_reason = f"replaced by {facility.public_id}"
        old.save(update_fields=["status", "ended_at", "end_reason", "updated_at"])
    facility.status = FacilityStatus.ACTIVE
    facility.save(update_fields=["status", "approved_by", "updated_at"])
    account = Account.objects.select_related("product").get(pk=facility.account_id)
    account_overdraft_limit_set(
        actor=actor,
        account=account,
        limit=max(facility.limit, account.product.overdraft_limit),
        reason=f"overdraft facility {facility.public_id}",
    )


def facility_approved(*, facility_pk: int, approved_by: str, today: dt.date | None = None) -> OverdraftFacility:
    """The approval ran: start the facility now, or on its first day."""
    today = today or timezone.localdate()
    with transaction.atomic():
        facility = OverdraftFacility.objects.select_for_update().filter(pk=facility_pk).first()
        if facility is None or facility.status != FacilityStatus.PENDING:
            raise ValidationFailed({"facility": [_("This facility is not waiting for approval.")]})
        if facility.valid_to is not None and facility.valid_to < today:
            raise ValidationFailed({"valid_to": [_("This facility would already have ended.")]})
        facility.approved_by = approved_by
        actor = Actor(label=approved_by or SYSTEM_ACTOR.label, channel=Channel.BRANCH)
        if facility.valid_from > today:
            facility.status = FacilityStatus.SCHEDULED
            facility.save(update_fields=["status", "approved_by", "updated_at"])
        else:
            _start(facility, actor=actor)
        audit_record(
            actor=actor.label,
            action="risk.facility_approve",
            object_type="overdraft_facility",
            object_id=str(facility.public_id),
            detail={"status": facility.status},
        )
    return facility


def _lower_to_product(account_pk: int, *, actor: Actor, reason: str) -> None:
    account = Account.objects.select_related("product").get(pk=account_pk)
    account_overdraft_limit_set(actor=actor, account=account, limit=account.product.overdraft_limit, reason=reason)


def facility_end(*, actor: Actor, facility: OverdraftFacility, reason: str) -> OverdraftFacility:
    """End a facility now (risk-reducing: no second person needed). Nothing more can be drawn;
    what is drawn stays owed, and the limit follows repayments down (`facilities_sync`)."""
    require_bank(actor, _("Only the bank ends overdraft facilities."))
    if not reason.strip():
        raise ValidationFailed({"reason": [_("Say why.")]})
    with transaction.atomic():
        locked = OverdraftFacility.objects.select_for_update().get(pk=facility.pk)
        if locked.status not in LIVE_FACILITY_STATUSES:
            raise ValidationFailed({"facility": [_("This facility has already ended.")]})
        was_active = locked.status == FacilityStatus.ACTIVE
        locked.status = FacilityStatus.ENDED if locked.status != FacilityStatus.PENDING else FacilityStatus.DECLINED
        locked.ended_at = timezone.now()
        locked.end_reason = reason[:255]
        locked.save(update_fields=["status", "ended_at", "end_reason", "updated_at"])
        if was_active:
            _lower_to_product(locked.account_id, actor=actor, reason=f"facility {locked.public_id} ended")
        audit_record(
            actor=actor.label,
            action="risk.facility_end",
            object_type="overdraft_facility",
            object_id=str(locked.public_id),
            detail={"reason": reason[:255]},
        )
    return locked


def facilities_sync(*, today: dt.date | None = None, actor: Actor = SYSTEM_ACTOR) -> dict[str, int]:
    """Daily (and idempotent): start approved facilities whose first day came, end those past
    their last day, decline requests whose approval was rejected or expired, and bring the limit
    of accounts without a facility back down as their overdraft is repaid."""
    today = today or timezone.localdate()
    counts = {"started": 0, "ended": 0, "declined": 0, "lowered": 0}
    for pk in OverdraftFacility.objects.filter(status=FacilityStatus.SCHEDULED, valid_from__lte=today).values_list(
        "pk", flat=True
    ):
        with transaction.atomic():
            facility = OverdraftFacility.objects.select_for_update().get(pk=pk)
            if facility.status == FacilityStatus.SCHEDULED:
                _start(facility, actor=actor)
                counts["started"] += 1
    for facility in OverdraftFacility.objects.filter(status=FacilityStatus.ACTIVE, valid_to__lt=today):
        facility_end(actor=actor, facility=facility, reason="valid_to passed")
        counts["ended"] += 1
    dead = OverdraftFacility.objects.filter(
        status=FacilityStatus.PENDING,
        approval__status__in=[ApprovalStatus.REJECTED, ApprovalStatus.EXPIRED],
    )
    counts["declined"] = dead.update(
        status=FacilityStatus.DECLINED, ended_at=timezone.now(), end_reason="approval not given"
    )
    with_facility = OverdraftFacility.objects.filter(status=FacilityStatus.ACTIVE).values("account_id")
    above = (
        Account.objects.filter(is_internal=False, overdraft_limit__gt=F("product__overdraft_limit"))
        .exclude(pk__in=with_facility)
        .values_list("pk", "available", "overdraft_limit", "product__overdraft_limit")
    )
    for pk, available, current, floor in above:
        if max(floor, -available, Decimal(0)) < current:
            _lower_to_product(pk, actor=actor, reason="overdraft repaid after its facility ended")
            counts["lowered"] += 1
    return counts


def _facility_approve_action(actor: Actor, payload: dict[str, Any]) -> dict[str, Any]:
    facility = facility_approved(facility_pk=payload["facility"], approved_by=payload.get("_decided_by", ""))
    return {"facility": str(facility.public_id), "status": facility.status}


register_action("risk.facility_approve", _facility_approve_action)
