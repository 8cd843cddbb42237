"""Reads for the risk checks: limits in force, active rules, a customer's recent movements."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Count, Max, Q, QuerySet, Sum
from django.utils import timezone

from apps.risk.models import Alert, AlertStatus, LimitRule, RiskProfile, Rule, RuleStatus, Tier
from apps.transactions.models import EntryKind, Posting

OUTGOING_KINDS = (EntryKind.TRANSFER, EntryKind.WITHDRAWAL)


@dataclass(frozen=True)
class EffectiveLimit:
    per_transaction: Decimal | None
    daily: Decimal | None
    monthly: Decimal | None
    rules: tuple[int, ...]  # the LimitRule rows it comes from


UNLIMITED = EffectiveLimit(None, None, None, ())


def _min(values: list[Decimal | None]) -> Decimal | None:
    present = [v for v in values if v is not None]
    return min(present) if present else None


def limit_effective(
    *, channel: str, product: str, tier: str, currency: str, now: dt.datetime | None = None
) -> EffectiveLimit:
    """The most specific limit rules in force for the scope (ties: the strictest per dimension)."""
    rows = LimitRule.objects.filter(
        Q(channel=channel) | Q(channel=""),
        Q(product=product) | Q(product=""),
        Q(tier=tier) | Q(tier=""),
        currency=currency,
        valid_from__lte=now or timezone.now(),
    ).order_by("-valid_from", "-id")
    current: dict[tuple[str, str, str], LimitRule] = {}
    for row in rows:
        current.setdefault((row.channel, row.product, row.tier), row)
    if not current:
        return UNLIMITED
    best = max(sum(1 for part in scope if part) for scope in current)
    chosen = [row for scope, row in current.items() if sum(1 for part in scope if part) == best]
    return EffectiveLimit(
        per_transaction=_min([r.per_transaction for r in chosen]),
        daily=_min([r.daily for r in chosen]),
        monthly=_min([r.monthly for r in chosen]),
        rules=tuple(sorted(r.pk for r in chosen)),
    )


def limit_rule_current(*, channel: str, product: str, tier: str, currency: str) -> LimitRule | None:
    """The row in force for exactly this scope, if any."""
    return (
        LimitRule.objects.filter(
            channel=channel, product=product, tier=tier, currency=currency, valid_from__lte=timezone.now()
        )
        .order_by("-valid_from", "-id")
        .first()
    )


def customer_tier(customer_id: int) -> str:
    tier = RiskProfile.objects.filter(customer_id=customer_id).values_list("tier", flat=True).first()
    return tier or Tier.STANDARD


def rules_active(channel: str) -> list[Rule]:
    rules = Rule.objects.filter(status=RuleStatus.ACTIVE).order_by("code")
    return [rule for rule in rules if not rule.channels or channel in rule.channels]


def outgoing_postings(customer_id: int, *, since: dt.datetime) -> QuerySet[Posting]:
    """The customer's outgoing transfers and withdrawals (debits of their accounts) since `since`."""
    return Posting.objects.filter(
        account__customer_id=customer_id,
        amount__lt=0,
        entry__kind__in=OUTGOING_KINDS,
        created_at__gte=since,
    )


def outgoing_history(*, since: dt.datetime) -> QuerySet[Any]:
    """(customer id, signed amount, created_at) of every outgoing movement since `since`."""
    return (
        Posting.objects.filter(
            account__customer__isnull=False, amount__lt=0, entry__kind__in=OUTGOING_KINDS, created_at__gte=since
        )
        .order_by("pk")
        .values_list("account__customer_id", "amount", "created_at")
    )


def outgoing_count(customer_id: int, *, since: dt.datetime) -> int:
    return outgoing_postings(customer_id, since=since).count()


def outgoing_count_between(customer_id: int, *, since: dt.datetime, currency: str, low: Decimal, high: Decimal) -> int:
    """How many outgoing movements in `currency` of at least `low` and below `high`."""
    return (
        outgoing_postings(customer_id, since=since)
        .filter(currency=currency, amount__lte=-low, amount__gt=-high)
        .count()
    )


def paid_to_before(customer_id: int, account_id: int) -> bool:
    """Whether the customer's accounts ever sent a transfer to this account."""
    return Posting.objects.filter(
        account_id=account_id,
        amount__gt=0,
        entry__kind=EntryKind.TRANSFER,
        entry__postings__account__customer_id=customer_id,
        entry__postings__amount__lt=0,
    ).exists()


def last_activity(account_id: int) -> dt.datetime | None:
    return Posting.objects.filter(account_id=account_id).aggregate(last=Max("created_at"))["last"]


def customer_volume(customer_id: int, *, since: dt.datetime) -> Decimal:
    """Total outgoing amount (all currencies added as numbers: a size indicator, not money)."""
    total = outgoing_postings(customer_id, since=since).aggregate(total=Sum("amount"))["total"]
    return -(total or Decimal(0))


def open_alerts_count(customer_id: int) -> int:
    return Alert.objects.filter(customer_id=customer_id).exclude(status=AlertStatus.CLOSED).count()


def alert_queue() -> QuerySet[Alert]:
    return Alert.objects.exclude(status=AlertStatus.CLOSED).order_by("created_at")


def alerts_by_status() -> dict[str, int]:
    return dict(Alert.objects.values_list("status").annotate(n=Count("id")).values_list("status", "n"))
