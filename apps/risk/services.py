"""Risk actions: the movement check (limits and rules), reviews, limit and rule changes
(maker-checked through apps.compliance approvals), alerts and the customer risk score."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.audit.services import audit_record
from apps.common.errors import LimitExceeded, NotFound, ValidationFailed
from apps.common.money import Money, format_amount
from apps.common.principals import Actor, Channel, require_bank
from apps.common.refusals import AfterRollback, refusal_defer
from apps.compliance.aml import case_open
from apps.compliance.approvals import register_action
from apps.compliance.models import Approval, ApprovalStatus, Case, CaseKind
from apps.compliance.services import approval_request
from apps.customers.models import Customer, KycStatus
from apps.risk import selectors
from apps.risk.models import (
    Alert,
    AlertCategory,
    AlertStatus,
    CustomerBaseline,
    Disposition,
    LimitPeriod,
    LimitRule,
    LimitUsage,
    RiskProfile,
    Rule,
    RuleAction,
    RuleKind,
    RuleStatus,
    Tier,
)
from apps.transactions.models import Payment
from apps.transactions.screening import Movement, ScreeningDecision, ScreeningOutcome
from apps.transactions.services import transfer_create

_SEVERITY = {RuleAction.ALLOW: 0, RuleAction.REVIEW: 1, RuleAction.BLOCK: 2}

# --- limits ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Window:
    period: str
    starts_on: dt.date
    limit: Decimal


def _windows(limit: selectors.EffectiveLimit, today: dt.date) -> list[_Window]:
    windows = []
    if limit.daily is not None:
        windows.append(_Window(LimitPeriod.DAY, today, limit.daily))
    if limit.monthly is not None:
        windows.append(_Window(LimitPeriod.MONTH, today.replace(day=1), limit.monthly))
    return windows


def _refuse(*, which: str, channel: str, money: Money, limit: Decimal, remaining: Decimal) -> LimitExceeded:
    names = {"per_transaction": _("per-transaction"), "daily": _("daily"), "monthly": _("monthly")}
    left = max(remaining, Decimal(0))
    return LimitExceeded(
        _(
            "The %(which)s limit of %(limit)s %(currency)s on channel %(channel)s would be exceeded; "
            "%(remaining)s %(currency)s is left."
        )
        % {
            "which": names[which],
            "limit": format_amount(limit, money.currency),
            "currency": money.currency,
            "channel": channel,
            "remaining": format_amount(left, money.currency),
        },
        extra={
            "limit": which,
            "channel": channel,
            "currency": money.currency,
            "limit_amount": format_amount(limit, money.currency),
            "remaining": format_amount(left, money.currency),
        },
    )


def _usage_rows(customer_id: int, channel: str, currency: str, windows: list[_Window]) -> list[LimitUsage]:
    """The usage rows of the windows, created if missing, locked FOR UPDATE in id order.

    Lock order (docs/risk.md): the movement's accounts first (ascending id, taken by the
    transfer/withdrawal service), then these rows. Two movements of one customer from different
    accounts serialise here, so they cannot both squeeze under a daily or monthly limit."""
    keys = [(w.period, w.starts_on) for w in windows]
    LimitUsage.objects.bulk_create(
        [
            LimitUsage(customer_id=customer_id, channel=channel, currency=currency, period=p, starts_on=s)
            for p, s in keys
        ],
        ignore_conflicts=True,
    )
    rows = list(
        LimitUsage.objects.select_for_update()
        .filter(customer_id=customer_id, channel=channel, currency=currency, period__in=[p for p, _s in keys])
        .filter(starts_on__in=[s for _p, s in keys])
        .order_by("pk")
    )
    return [row for row in rows if (row.period, row.starts_on) in keys]


def limits_check(movement: Movement) -> list[LimitUsage]:
    """Refuse (422 limit_exceeded) a movement over a limit; return the locked usage rows the
    caller adds the amount to once the movement goes ahead."""
    source = movement.source
    if source.customer_id is None:
        return []
    money = movement.money
    channel = movement.actor.channel.value
    product = source.product.code
    limit = selectors.limit_effective(
        channel=channel, product=product, tier=selectors.customer_tier(source.customer_id), currency=money.currency
    )
    if limit.per_transaction is not None and money.amount > limit.per_transaction:
        raise _breach(
            movement,
            _refuse(
                which="per_transaction",
                channel=channel,
                money=money,
                limit=limit.per_transaction,
                remaining=limit.per_transaction,
            ),
        )
    windows = _windows(limit, timezone.localdate())
    if not windows:
        return []
    rows = _usage_rows(source.customer_id, channel, money.currency, windows)
    by_period = {row.period: row for row in rows}
    for window in windows:
        used = by_period[window.period].used
        if used + money.amount > window.limit:
            which = "daily" if window.period == LimitPeriod.DAY else "monthly"
            refusal = _refuse(
                which=which, channel=channel, money=money, limit=window.limit, remaining=window.limit - used
            )
            raise _breach(movement, refusal)
    return rows


def _breach(movement: Movement, refusal: LimitExceeded) -> LimitExceeded:
    """A limit refusal, carrying its alert for after the rollback (a limit breach on record)."""
    refusal_defer(
        refusal,
        refusal_alert(
            movement=movement,
            category=AlertCategory.LIMIT,
            reason=f"limit {refusal.extra.get('limit', '')}: {refusal.message}",
        ),
    )
    return refusal


def _usage_add(rows: list[LimitUsage], amount: Decimal) -> None:
    for row in rows:
        row.used += amount
        row.save(update_fields=["used"])


# --- rules -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleHit:
    rule: Rule
    reason: str


def _decimal(parameters: dict[str, Any], name: str) -> Decimal:
    try:
        return Decimal(str(parameters[name]))
    except (KeyError, InvalidOperation):
        raise ValueError(f"rule parameter {name!r} missing or not a number") from None


def _velocity(rule: Rule, movement: Movement, customer_id: int, now: dt.datetime) -> str | None:
    count, minutes = int(rule.parameters["count"]), int(rule.parameters["minutes"])
    prior = selectors.outgoing_count(customer_id, since=now - dt.timedelta(minutes=minutes))
    if prior + 1 > count:
        return _("more than %(count)s movements in %(minutes)s minutes") % {"count": count, "minutes": minutes}
    return None


def _new_beneficiary_large(rule: Rule, movement: Movement, customer_id: int, now: dt.datetime) -> str | None:
    target = movement.target
    if target is None and not movement.counterparty:
        return None
    if target is not None and target.customer_id == customer_id:
        return None
    if movement.money.currency != rule.parameters.get("currency", movement.money.currency):
        return None
    if movement.money.amount < _decimal(rule.parameters, "amount"):
        return None
    if target is not None and selectors.paid_to_before(customer_id, target.pk):
        return None
    if target is None and selectors.paid_beneficiary_before(
        customer_id, movement.counterparty, excluding=_payment_pk(movement)
    ):
        return None
    return _("a large amount to a beneficiary never paid before")


def _payment_pk(movement: Movement) -> int | None:
    reference = movement.reference
    return int(reference.removeprefix("payment:")) if reference.startswith("payment:") else None


def _structuring(rule: Rule, movement: Movement, customer_id: int, now: dt.datetime) -> str | None:
    params = rule.parameters
    if movement.money.currency != params["currency"]:
        return None
    threshold = _decimal(params, "threshold")
    low = threshold * (1 - _decimal(params, "margin_percent") / 100)
    amount = movement.money.amount
    if not (low <= amount < threshold):
        return None
    prior = selectors.outgoing_count_between(
        customer_id,
        since=now - dt.timedelta(hours=int(params["hours"])),
        currency=movement.money.currency,
        low=low,
        high=threshold,
    )
    if prior + 1 >= int(params["count"]):
        return _("%(count)s amounts just under the reporting threshold of %(threshold)s %(currency)s") % {
            "count": prior + 1,
            "threshold": format_amount(threshold, movement.money.currency),
            "currency": movement.money.currency,
        }
    return None


def _dormant(rule: Rule, movement: Movement, customer_id: int, now: dt.datetime) -> str | None:
    days = int(rule.parameters["days"])
    last = selectors.last_activity(movement.source.pk)
    since = last or movement.source.opened_at or movement.source.created_at
    if since is not None and since < now - dt.timedelta(days=days):
        return _("the account was dormant for more than %(days)s days") % {"days": days}
    return None


def _high_risk_country(rule: Rule, movement: Movement, customer_id: int, now: dt.datetime) -> str | None:
    countries = {str(c).upper() for c in rule.parameters.get("countries", [])}
    involved = {movement.source.customer.country.upper()} if movement.source.customer else set()
    if movement.target is not None and movement.target.customer is not None:
        involved.add(movement.target.customer.country.upper())
    if movement.counterparty_country:
        involved.add(movement.counterparty_country.upper())
    hit = sorted(involved & countries)
    if hit:
        return _("a high-risk country is involved: %(countries)s") % {"countries": ", ".join(hit)}
    return None


# --- anomaly score ---------------------------------------------------------------------------

ROBUST = Decimal("1.4826")  # MAD -> standard deviation for a normal distribution
MAD_FLOOR_LOG_AMOUNT = Decimal("0.1")  # a customer who always sends the same amount: ~10 % is normal
MAD_FLOOR_HOUR = Decimal(1)


def _median(values: list[Decimal]) -> Decimal:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def _hour(moment: dt.datetime) -> Decimal:
    local = timezone.localtime(moment)
    return Decimal(local.hour) + Decimal(local.minute) / 60


def anomaly_train(*, min_samples: int = 10, days: int = 180, now: dt.datetime | None = None) -> int:
    """Fit every customer's baseline from their outgoing movements of the last `days`; customers
    with fewer than `min_samples` get none (their movements are judged by the rules only)."""
    now = now or timezone.now()
    history: dict[int, list[tuple[Decimal, dt.datetime]]] = {}
    for customer_id, amount, created_at in selectors.outgoing_history(since=now - dt.timedelta(days=days)):
        history.setdefault(customer_id, []).append((-amount, created_at))
    trained = 0
    with transaction.atomic():
        CustomerBaseline.objects.exclude(customer_id__in=list(history)).delete()
        for customer_id, rows in history.items():
            if len(rows) < min_samples:
                CustomerBaseline.objects.filter(customer_id=customer_id).delete()
                continue
            logs = [amount.ln() for amount, _at in rows]
            hours = [_hour(at) for _amount, at in rows]
            log_median, hour_median = _median(logs), _median(hours)
            CustomerBaseline.objects.update_or_create(
                customer_id=customer_id,
                defaults={
                    "samples": len(rows),
                    "log_amount_median": log_median.quantize(Decimal("0.000001")),
                    "log_amount_mad": _median([abs(v - log_median) for v in logs]).quantize(Decimal("0.000001")),
                    "hour_median": hour_median.quantize(Decimal("0.0001")),
                    "hour_mad": _median([abs(v - hour_median) for v in hours]).quantize(Decimal("0.0001")),
                    "trained_at": now,
                },
            )
            trained += 1
    return trained


def anomaly_score(*, customer_id: int, amount: Decimal, at: dt.datetime) -> dict[str, Decimal] | None:
    """Robust z-scores of the movement's features against the customer's baseline, or None
    without a baseline. The largest one is the score; its name says what was unusual."""
    baseline = CustomerBaseline.objects.filter(customer_id=customer_id).first()
    if baseline is None or amount <= 0:
        return None
    amount_spread = ROBUST * max(baseline.log_amount_mad, MAD_FLOOR_LOG_AMOUNT)
    hour_spread = ROBUST * max(baseline.hour_mad, MAD_FLOOR_HOUR)
    return {
        "amount": (abs(amount.ln() - baseline.log_amount_median) / amount_spread).quantize(Decimal("0.01")),
        "hour": (abs(_hour(at) - baseline.hour_median) / hour_spread).quantize(Decimal("0.01")),
    }


def _anomaly(rule: Rule, movement: Movement, customer_id: int, now: dt.datetime) -> str | None:
    features = anomaly_score(customer_id=customer_id, amount=movement.money.amount, at=now)
    if features is None:
        return None  # too little history: the other rules decide
    feature, z = max(features.items(), key=lambda item: item[1])
    if z >= _decimal(rule.parameters, "threshold"):
        return _("unusual %(feature)s for this customer (z = %(z)s)") % {"feature": feature, "z": z}
    return None


EVALUATORS = {
    RuleKind.VELOCITY: _velocity,
    RuleKind.NEW_BENEFICIARY_LARGE: _new_beneficiary_large,
    RuleKind.STRUCTURING: _structuring,
    RuleKind.DORMANT_REACTIVATED: _dormant,
    RuleKind.HIGH_RISK_COUNTRY: _high_risk_country,
    RuleKind.ANOMALY: _anomaly,
}


def rules_evaluate(movement: Movement, *, now: dt.datetime | None = None) -> tuple[str, list[RuleHit]]:
    """Every active rule for the channel; the strongest action of those that fire, with reasons."""
    customer_id = movement.source.customer_id
    if customer_id is None:
        return RuleAction.ALLOW, []
    now = now or timezone.now()
    hits = []
    for rule in selectors.rules_active(movement.actor.channel.value):
        reason = EVALUATORS[RuleKind(rule.kind)](rule, movement, customer_id, now)
        if reason is not None and rule.action != RuleAction.ALLOW:
            hits.append(RuleHit(rule, f"{rule.code}: {reason}"))
    action = max((hit.rule.action for hit in hits), key=lambda a: _SEVERITY[RuleAction(a)], default=RuleAction.ALLOW)
    return action, hits


def movement_check(movement: Movement) -> ScreeningDecision:
    """The checker apps.transactions consults for transfers and withdrawals on screened channels:
    limits first (refused with what is left), then the rules; the usage counts the movement only
    when it goes ahead now."""
    rows = limits_check(movement)
    if not movement.reviewed:
        action, hits = rules_evaluate(movement)
        if action != RuleAction.ALLOW:
            reason = "; ".join(hit.reason for hit in hits)[:255]
            # If the movement is refused (a block, or a review where no one can be asked), the
            # refusal's rollback must not take its alert with it.
            later = refusal_alert(movement=movement, category=AlertCategory.RULE, reason=reason, rule=hits[0].rule)
            return ScreeningDecision(ScreeningOutcome(action), reason, after_refusal=(later,))
    _usage_add(rows, movement.money.amount)
    return ScreeningDecision(ScreeningOutcome.ALLOW, "within limits, no rule fired")


def refusal_alert(*, movement: Movement, category: str, reason: str, rule: Rule | None = None) -> AfterRollback:
    """The alert a refused movement leaves, written after its rollback (apps.common.refusals):
    plain values only (the movement's rows are gone by then), and once, whoever calls it."""
    token = f"refused:{uuid.uuid4().hex}"
    values = {
        "rule_id": rule.pk if rule is not None else None,
        "category": category,
        "customer_id": movement.source.customer_id,
        "outcome": RuleAction.BLOCK,
        "reason": f"refused: {reason}"[:255],
        "kind": movement.kind,
        "amount": movement.money.amount,
        "currency": movement.money.currency,
    }
    actor = movement.actor.label

    def write() -> None:
        alert, created = Alert.objects.get_or_create(reference=token, defaults=values)
        if created:
            audit_record(
                actor=actor,
                action="risk.alert_open",
                object_type="alert",
                object_id=str(alert.public_id),
                detail={"outcome": alert.outcome, "reason": alert.reason, "category": category},
            )

    return write


def payment_check(payment: Payment) -> ScreeningDecision:
    """The risk screener of external payments (apps.transactions.screening), on the screened
    channels only: the same limits (422 limit_exceeded) and rules as transfers. `review` opens an
    alert and the payment waits in pending_approval; `block` refuses it and leaves an alert."""
    if payment.channel not in settings.FINSYS_RISK_CHANNELS:
        return ScreeningDecision(ScreeningOutcome.ALLOW, "channel not screened by risk")
    account = payment.account
    movement = Movement(
        kind="payment",
        actor=Actor(label=payment.created_by, channel=Channel(payment.channel), customer_id=account.customer_id),
        money=Money(payment.amount, payment.currency),
        source=account,
        reference=f"payment:{payment.pk}",
        counterparty=f"{payment.beneficiary_bank}/{payment.beneficiary_account}",
        counterparty_country=payment.beneficiary_country,
    )
    decision = movement_check(movement)
    if decision.outcome == ScreeningOutcome.REVIEW:
        _alert_open(movement=movement, decision=decision, reference=str(payment.public_id))
    return decision


def _alert_open(*, movement: Movement, decision: ScreeningDecision, reference: str, rule: Rule | None = None) -> Alert:
    alert = Alert.objects.create(
        rule=rule,
        category=AlertCategory.RULE,
        customer_id=movement.source.customer_id,
        outcome=decision.outcome.value,
        reason=decision.reason[:255],
        kind=movement.kind,
        reference=reference,
        amount=movement.money.amount,
        currency=movement.money.currency,
    )
    audit_record(
        actor=movement.actor.label,
        action="risk.alert_open",
        object_type="alert",
        object_id=str(alert.public_id),
        detail={"outcome": alert.outcome, "reason": alert.reason, "reference": reference},
    )
    return alert


def movement_review(movement: Movement, decision: ScreeningDecision) -> str:
    """A transfer a rule sent to review: an approval that performs it when a risk officer (not the
    requester) approves it, and an alert in the queue. Returns the approval's public id."""
    target = movement.target
    assert target is not None
    approval = approval_request(
        actor=movement.actor,
        action="risk.transfer_review",
        payload={
            "from_account": str(movement.source.public_id),
            "to_account": str(target.public_id),
            "amount": str(movement.money.amount),
            "currency": movement.money.currency,
            "reference": movement.reference,
        },
        customer=movement.source.customer,
        summary=f"Risk review: transfer {movement.money.amount} {movement.money.currency}: {decision.reason}",
        reason=decision.reason,
    )
    _alert_open(movement=movement, decision=decision, reference=str(approval.public_id))
    return str(approval.public_id)


def _transfer_review_action(actor: Actor, payload: dict[str, Any]) -> dict[str, Any]:
    entry = transfer_create(
        actor=actor,
        from_account=uuid.UUID(payload["from_account"]),
        to_account=uuid.UUID(payload["to_account"]),
        money=Money(Decimal(payload["amount"]), payload["currency"]),
        reference=payload.get("reference", ""),
        reviewed=True,
    )
    return {"transaction": str(entry.public_id), "status": "posted"}


# --- limit changes: raising is maker-checked, lowering takes effect at once ------------------

LIMIT_FIELDS = ("per_transaction", "daily", "monthly")


def _is_raise(old: Decimal | None, new: Decimal | None) -> bool:
    if new is None:
        return old is not None
    return old is not None and new > old


def _limit_payload(**scope: Any) -> dict[str, Any]:
    return {k: (str(v) if isinstance(v, Decimal) else v) for k, v in scope.items()}


def limit_set(
    *,
    actor: Actor,
    currency: str,
    channel: str = "",
    product: str = "",
    tier: str = "",
    per_transaction: Decimal | None = None,
    daily: Decimal | None = None,
    monthly: Decimal | None = None,
    reason: str = "",
) -> LimitRule | Approval:
    """Set the limits of a scope (None: unlimited). Any raise against what is in force for the
    scope waits for a second person (approval `risk.limit_set`); a pure lowering applies now and
    is queued for review afterwards (approval `risk.limit_review`)."""
    require_bank(actor, _("Only the bank can set limits."))
    new = {"per_transaction": per_transaction, "daily": daily, "monthly": monthly}
    for name, value in new.items():
        if value is not None and value < 0:
            raise ValidationFailed({name: [_("A limit cannot be negative.")]})
    if tier and tier not in Tier.values:
        raise ValidationFailed({"tier": [_("Unknown tier.")]})
    now_in_force = selectors.limit_effective(
        channel=channel, product=product, tier=tier or Tier.STANDARD, currency=currency
    )
    raised = [name for name in LIMIT_FIELDS if _is_raise(getattr(now_in_force, name), new[name])]
    payload = _limit_payload(currency=currency, channel=channel, product=product, tier=tier, reason=reason, **new)
    summary = f"Limits {channel or '*'}/{product or '*'}/{tier or '*'} {currency}: " + ", ".join(
        f"{k}={v if v is not None else 'unlimited'}" for k, v in new.items()
    )
    if raised:
        return approval_request(
            actor=actor, action="risk.limit_set", payload=payload, customer=None, summary=summary, reason=reason
        )
    with transaction.atomic():
        rule = _limit_write(actor=actor, payload=payload, approved_by="")
        approval_request(
            actor=actor,
            action="risk.limit_review",
            payload={**payload, "limit_rule": rule.pk},
            customer=None,
            summary=f"Review (applied): {summary}",
            reason=reason,
        )
    return rule


def _limit_write(*, actor: Actor, payload: dict[str, Any], approved_by: str) -> LimitRule:
    def amount(name: str) -> Decimal | None:
        value = payload.get(name)
        return None if value is None else Decimal(value)

    rule = LimitRule.objects.create(
        channel=payload["channel"],
        product=payload["product"],
        tier=payload["tier"],
        currency=payload["currency"],
        per_transaction=amount("per_transaction"),
        daily=amount("daily"),
        monthly=amount("monthly"),
        created_by=actor.label,
        approved_by=approved_by,
    )
    audit_record(
        actor=actor.label,
        action="risk.limit_set",
        object_type="limit_rule",
        object_id=str(rule.pk),
        detail={k: v for k, v in payload.items() if k != "reason"},
    )
    return rule


def _limit_set_action(actor: Actor, payload: dict[str, Any]) -> dict[str, Any]:
    rule = _limit_write(actor=actor, payload=payload, approved_by="approval")
    return {"limit_rule": rule.pk}


def _limit_review_action(actor: Actor, payload: dict[str, Any]) -> dict[str, Any]:
    """A lowering already applied; approving records that a second person saw it."""
    return {"limit_rule": payload.get("limit_rule"), "reviewed": True}


# --- rule changes: a new version, activated when a second person approves it -----------------

REQUIRED_PARAMETERS: dict[str, tuple[str, ...]] = {
    RuleKind.VELOCITY: ("count", "minutes"),
    RuleKind.NEW_BENEFICIARY_LARGE: ("amount",),
    RuleKind.STRUCTURING: ("threshold", "currency", "margin_percent", "count", "hours"),
    RuleKind.DORMANT_REACTIVATED: ("days",),
    RuleKind.HIGH_RISK_COUNTRY: ("countries",),
    RuleKind.ANOMALY: ("threshold",),
}


_WHOLE_PARAMETERS = ("count", "minutes", "hours", "days")
_AMOUNT_PARAMETERS = ("amount", "threshold", "margin_percent")


def rule_parameter_problems(parameters: dict[str, Any]) -> list[str]:
    """What is wrong with a rule's parameters, so that a bad version can never be activated and
    then fail on every movement: whole numbers, non-negative amounts, currency and country codes."""
    problems: list[str] = []
    for name in _WHOLE_PARAMETERS:
        if name in parameters:
            value = parameters[name]
            whole = isinstance(value, int) and not isinstance(value, bool)
            if isinstance(value, str) and value.isdigit():
                value, whole = int(value), True
            if not whole or value < 1:
                problems.append(_("%(name)s must be a whole number of at least 1.") % {"name": name})
    for name in _AMOUNT_PARAMETERS:
        if name in parameters:
            try:
                amount = Decimal(str(parameters[name]))
            except InvalidOperation:
                amount = Decimal(-1)
            if isinstance(parameters[name], bool) or not amount.is_finite() or amount < 0:
                problems.append(_("%(name)s must be a number of at least 0.") % {"name": name})
    if "currency" in parameters:
        currency = parameters["currency"]
        if not (isinstance(currency, str) and len(currency) == 3 and currency.isalpha() and currency.isupper()):
            problems.append(_("currency must be a three-letter code such as CNY."))
    if "countries" in parameters:
        countries = parameters["countries"]
        if not isinstance(countries, list) or not all(
            isinstance(c, str) and len(c) == 2 and c.isalpha() for c in countries
        ):
            problems.append(_("countries must be a list of two-letter country codes."))
    return problems


def rule_propose(
    *,
    actor: Actor,
    code: str,
    kind: str,
    parameters: dict[str, Any],
    action: str,
    channels: list[str] | None = None,
    reason: str = "",
) -> Rule:
    """A new version of rule `code`, proposed; it takes effect when another person approves."""
    require_bank(actor, _("Only the bank can change risk rules."))
    if kind not in RuleKind.values:
        raise ValidationFailed({"kind": [_("Unknown rule kind.")]})
    if action not in RuleAction.values:
        raise ValidationFailed({"action": [_("Unknown rule action.")]})
    missing = [name for name in REQUIRED_PARAMETERS[kind] if name not in parameters]
    if missing:
        raise ValidationFailed({"parameters": [_("Missing: %(names)s") % {"names": ", ".join(missing)}]})
    problems = rule_parameter_problems(parameters)
    if problems:
        raise ValidationFailed({"parameters": problems})
    with transaction.atomic():
        latest = Rule.objects.select_for_update().filter(code=code).order_by("-version").first()
        same = Rule.objects.filter(
            code=code, status=RuleStatus.PROPOSED, kind=kind, action=action, parameters=parameters,
            channels=channels or [],
        )  # fmt: skip
        waiting = Approval.objects.filter(
            action="risk.rule_activate", status=ApprovalStatus.PENDING, expires_at__gt=timezone.now(),
            payload__rule__in=list(same.values_list("pk", flat=True)),
        )  # fmt: skip
        if waiting.exists():  # a double submission: the same change is already waiting
            raise ValidationFailed({"code": [_("The same change of this rule is already waiting for approval.")]})
        rule = Rule.objects.create(
            code=code,
            version=(latest.version + 1) if latest else 1,
            kind=kind,
            parameters=parameters,
            action=action,
            channels=channels or [],
            created_by=actor.label,
        )
        approval_request(
            actor=actor,
            action="risk.rule_activate",
            payload={"rule": rule.pk, "code": code, "version": rule.version},
            customer=None,
            summary=f"Risk rule {code} v{rule.version}: {kind} -> {action}",
            reason=reason,
        )
        audit_record(
            actor=actor.label,
            action="risk.rule_propose",
            object_type="rule",
            object_id=f"{code}:{rule.version}",
            detail={"kind": kind, "action": action, "parameters": parameters},
        )
    return rule


def rule_activate(*, actor: Actor, rule_pk: int, approved_by: str) -> Rule:
    """Activate a proposed version and retire the version in force before it."""
    with transaction.atomic():
        rule = Rule.objects.select_for_update().filter(pk=rule_pk).first()
        if rule is None or rule.status != RuleStatus.PROPOSED:
            raise ValidationFailed({"rule": [_("This rule version is not waiting for approval.")]})
        Rule.objects.filter(code=rule.code, status=RuleStatus.ACTIVE).update(
            status=RuleStatus.RETIRED, updated_at=timezone.now()
        )
        rule.status = RuleStatus.ACTIVE
        rule.approved_by = approved_by
        rule.save(update_fields=["status", "approved_by", "updated_at"])
        audit_record(
            actor=approved_by or actor.label,
            action="risk.rule_activate",
            object_type="rule",
            object_id=f"{rule.code}:{rule.version}",
        )
    return rule


def _rule_activate_action(actor: Actor, payload: dict[str, Any]) -> dict[str, Any]:
    rule = rule_activate(actor=actor, rule_pk=payload["rule"], approved_by="approval")
    return {"rule": rule.code, "version": rule.version, "status": rule.status}


# --- alerts ----------------------------------------------------------------------------------


def _alert_locked(alert: Alert) -> Alert:
    locked = Alert.objects.select_for_update().filter(pk=alert.pk).first()
    if locked is None:
        raise NotFound()
    if locked.status == AlertStatus.CLOSED:
        raise ValidationFailed({"alert": [_("This alert is closed.")]})
    return locked


def alert_assign(*, actor: Actor, alert: Alert, assignee: str) -> Alert:
    require_bank(actor)
    if not assignee.strip():
        raise ValidationFailed({"assignee": [_("Name the person the alert goes to.")]})
    with transaction.atomic():
        locked = _alert_locked(alert)
        locked.assignee = assignee[:150]
        locked.status = AlertStatus.ASSIGNED
        locked.save(update_fields=["assignee", "status", "updated_at"])
        audit_record(
            actor=actor.label, action="risk.alert_assign", object_type="alert", object_id=str(locked.public_id),
            detail={"assignee": locked.assignee},
        )  # fmt: skip
    return locked


def alert_comment(*, actor: Actor, alert: Alert, text: str) -> Alert:
    require_bank(actor)
    if not text.strip():
        raise ValidationFailed({"text": [_("Write a comment.")]})
    with transaction.atomic():
        locked = _alert_locked(alert)
        stamp = timezone.now().strftime("%Y-%m-%d %H:%M")
        locked.notes = f"{locked.notes}\n[{stamp} {actor.label}] {text}".strip()
        locked.save(update_fields=["notes", "updated_at"])
        audit_record(
            actor=actor.label, action="risk.alert_comment", object_type="alert", object_id=str(locked.public_id)
        )
    return locked


def alert_close(*, actor: Actor, alert: Alert, disposition: str, note: str = "") -> Alert:
    require_bank(actor)
    if disposition not in Disposition.values:
        raise ValidationFailed({"disposition": [_("Choose a disposition.")]})
    with transaction.atomic():
        locked = _alert_locked(alert)
        if note.strip():
            locked.notes = f"{locked.notes}\n[{actor.label}] {note}".strip()
        locked.status = AlertStatus.CLOSED
        locked.disposition = disposition
        locked.closed_by = actor.label
        locked.closed_at = timezone.now()
        locked.save(update_fields=["notes", "status", "disposition", "closed_by", "closed_at", "updated_at"])
        audit_record(
            actor=actor.label, action="risk.alert_close", object_type="alert", object_id=str(locked.public_id),
            detail={"disposition": disposition},
        )  # fmt: skip
    return locked


def alert_escalate(*, actor: Actor, alert: Alert, note: str) -> tuple[Alert, Case]:
    """Hand an alert to compliance: open a suspicious-transaction case with what the alert knows,
    and close the alert as escalated, pointing at the case. One transaction, audited."""
    require_bank(actor)
    if not note.strip():
        raise ValidationFailed({"note": [_("Say why the alert goes to compliance.")]})
    with transaction.atomic():
        locked = _alert_locked(alert)
        case = case_open(
            kind=CaseKind.SUSPICIOUS,
            summary=f"Escalated risk alert: {locked.reason}",
            customer_id=locked.customer_id,
            score=locked.score or None,
            detail={
                "alert": str(locked.public_id),
                "reason": locked.reason,
                "kind": locked.kind,
                "reference": locked.reference,
                "amount": str(locked.amount) if locked.amount is not None else "",
                "currency": locked.currency,
                "note": note[:1000],
            },
            actor=actor.label,
        )
        locked.notes = f"{locked.notes}\n[{actor.label}] {note} (case {case.public_id})".strip()
        locked.status = AlertStatus.CLOSED
        locked.disposition = Disposition.ESCALATED
        locked.closed_by = actor.label
        locked.closed_at = timezone.now()
        locked.save(update_fields=["notes", "status", "disposition", "closed_by", "closed_at", "updated_at"])
        audit_record(
            actor=actor.label, action="risk.alert_escalate", object_type="alert", object_id=str(locked.public_id),
            detail={"case": str(case.public_id)},
        )  # fmt: skip
    return locked, case


# --- customer risk score ---------------------------------------------------------------------

# Points per factor; the score is their sum, capped at 100. Each factor's contribution is stored.
KYC_POINTS: dict[str, int] = {KycStatus.VERIFIED: 0, KycStatus.PENDING: 20}
KYC_OTHER_POINTS = 30
PEP_POINTS = 25
HIGH_RISK_COUNTRY_POINTS = 25
VOLUME_STEPS = ((Decimal(1_000_000), 15), (Decimal(200_000), 8))
ALERT_POINTS, ALERT_POINTS_MAX = 5, 20
TIER_POINTS = {Tier.STANDARD: 0, Tier.PREMIUM: 3, Tier.CORPORATE: 5}


def _high_risk_countries() -> set[str]:
    countries: set[str] = set()
    for rule in Rule.objects.filter(status=RuleStatus.ACTIVE, kind=RuleKind.HIGH_RISK_COUNTRY):
        countries |= {str(c).upper() for c in rule.parameters.get("countries", [])}
    return countries


def customer_risk_score(*, customer: Customer, now: dt.datetime | None = None) -> RiskProfile:
    """Recompute and store a customer's score (0-100) with every factor's contribution."""
    now = now or timezone.now()
    with transaction.atomic():
        profile, _created = RiskProfile.objects.select_for_update().get_or_create(customer=customer)
        volume = selectors.customer_volume(customer.pk, since=now - dt.timedelta(days=30))
        alerts = selectors.open_alerts_count(customer.pk)
        factors: dict[str, dict[str, Any]] = {
            "kyc": {"value": customer.kyc_status, "points": KYC_POINTS.get(customer.kyc_status, KYC_OTHER_POINTS)},
            "country": {
                "value": customer.country,
                "points": HIGH_RISK_COUNTRY_POINTS if customer.country.upper() in _high_risk_countries() else 0,
            },
            "pep": {"value": profile.pep, "points": PEP_POINTS if profile.pep else 0},
            "product": {"value": profile.tier, "points": TIER_POINTS.get(Tier(profile.tier), 0)},
            "volume_30d": {
                "value": str(volume),
                "points": next((points for floor, points in VOLUME_STEPS if volume >= floor), 0),
            },
            "open_alerts": {"value": alerts, "points": min(alerts * ALERT_POINTS, ALERT_POINTS_MAX)},
        }
        profile.factors = factors
        profile.score = min(100, sum(int(f["points"]) for f in factors.values()))
        profile.scored_at = now
        profile.save(update_fields=["factors", "score", "scored_at", "updated_at"])
    return profile


def customers_risk_score_all() -> int:
    """The nightly recomputation: every customer's score."""
    count = 0
    for customer in Customer.objects.order_by("pk").iterator():
        customer_risk_score(customer=customer)
        count += 1
    return count


def risk_profile_set(
    *, actor: Actor, customer: Customer, tier: str | None = None, pep: bool | None = None
) -> RiskProfile:
    """Change a customer's tier or PEP flag (audited) and recompute the score at once."""
    require_bank(actor)
    if tier is not None and tier not in Tier.values:
        raise ValidationFailed({"tier": [_("Unknown tier.")]})
    with transaction.atomic():
        profile, _created = RiskProfile.objects.select_for_update().get_or_create(customer=customer)
        if tier is not None:
            profile.tier = tier
        if pep is not None:
            profile.pep = pep
        profile.save(update_fields=["tier", "pep", "updated_at"])
        audit_record(
            actor=actor.label, action="risk.profile_set", object_type="customer", object_id=str(customer.public_id),
            detail={"tier": profile.tier, "pep": profile.pep},
        )  # fmt: skip
        return customer_risk_score(customer=customer)


register_action("risk.transfer_review", _transfer_review_action)
register_action("risk.limit_set", _limit_set_action)
register_action("risk.limit_review", _limit_review_action)
register_action("risk.rule_activate", _rule_activate_action)
