"""Reads for the risk checks: limits in force, active rules, a customer's recent movements."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Count, Max, Q, QuerySet, Sum
from django.utils import timezone

from apps.accounts.models import Account, GlCode
from apps.risk.models import Alert, AlertStatus, FxPositionLimit, LimitRule, RiskProfile, Rule, RuleStatus, Tier
from apps.transactions.models import EntryKind, Payment, Posting

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


def paid_beneficiary_before(customer_id: int, counterparty: str, *, excluding: int | None = None) -> bool:
    """Whether the customer ever sent an external payment to this beneficiary ("bank/account")."""
    bank, _sep, number = counterparty.partition("/")
    payments = Payment.objects.filter(
        account__customer_id=customer_id, beneficiary_bank=bank, beneficiary_account=number
    )
    if excluding is not None:
        payments = payments.exclude(pk=excluding)
    return payments.exists()


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


# --- credit risk -------------------------------------------------------------------------------

INFLOW_KINDS = (EntryKind.DEPOSIT, EntryKind.TRANSFER, EntryKind.INTEREST)


@dataclass(frozen=True)
class CreditHistory:
    first_opened: dt.datetime | None
    inflow_total: Decimal  # money in over the window (deposits, transfers, interest)
    inflow_months: int  # how many of the window's three 30-day months had any
    average_balance: Decimal  # the mean of the window's day-end balances, all accounts together


def customer_credit_history(
    customer_id: int, *, currency: str, since: dt.datetime, until: dt.datetime
) -> CreditHistory:
    """What the credit score reads from the ledger for one customer and currency."""
    accounts = list(
        Account.objects.filter(customer_id=customer_id, currency=currency, is_internal=False).values_list(
            "pk", "opened_at", "created_at"
        )
    )
    opened = [at or created for _pk, at, created in accounts]
    first = (
        Account.objects.filter(customer_id=customer_id, is_internal=False)
        .order_by("created_at")
        .values_list("opened_at", "created_at")
        .first()
    )
    first_opened = (first[0] or first[1]) if first else (min(opened) if opened else None)
    pks = [pk for pk, _o, _c in accounts]
    balances: dict[int, Decimal] = {}
    for pk in pks:
        before = (
            Posting.objects.filter(account_id=pk, created_at__lt=since)
            .order_by("-created_at", "-id")
            .values_list("balance_after", flat=True)
            .first()
        )
        balances[pk] = before if before is not None else Decimal(0)
    postings = list(
        Posting.objects.filter(account_id__in=pks, created_at__gte=since, created_at__lt=until)
        .order_by("created_at", "id")
        .values_list("account_id", "amount", "balance_after", "created_at", "entry__kind")
    )
    inflow_total = Decimal(0)
    months: set[int] = set()
    for _pk, amount, _after, at, kind in postings:
        if amount > 0 and kind in INFLOW_KINDS:
            inflow_total += amount
            months.add(min(2, (at - since).days // 30))
    days = max(1, (until - since).days)
    day_ends = [since + dt.timedelta(days=n + 1) for n in range(days)]
    total = Decimal(0)
    index = 0
    for day_end in day_ends:
        while index < len(postings) and postings[index][3] < day_end:
            account_id, _amount, after, _at, _kind = postings[index]
            balances[account_id] = after
            index += 1
        total += sum(balances.values(), Decimal(0))
    return CreditHistory(
        first_opened=first_opened,
        inflow_total=inflow_total,
        inflow_months=len(months),
        average_balance=total / len(day_ends),
    )


@dataclass(frozen=True)
class Exposure:
    """Credit exposure of one group of accounts: overdrawn (the ledger balance below zero) plus
    the approved limit not yet used (the overdraft limit beyond what `available` already uses)."""

    key: tuple[Any, ...]
    currency: str
    accounts: int
    limit: Decimal
    drawn: Decimal
    unused: Decimal

    @property
    def total(self) -> Decimal:
        return self.drawn + self.unused


EXPOSURE_DIMENSIONS = {
    "customer": ("customer_id", "customer__full_name"),
    "product": ("product__code",),
    "currency": (),
}


def exposures(*, by: str = "customer") -> list[Exposure]:
    """Exposure per customer, per product or per currency (always split by currency: amounts in
    different currencies are never added), largest first."""
    if by not in EXPOSURE_DIMENSIONS:
        raise ValueError(f"unknown exposure dimension {by!r}")
    fields = EXPOSURE_DIMENSIONS[by]
    rows = (
        Account.objects.filter(is_internal=False)
        .filter(Q(overdraft_limit__gt=0) | Q(balance__lt=0) | Q(available__lt=0))
        .values_list("currency", "balance", "available", "overdraft_limit", *fields)
    )
    groups: dict[tuple[Any, ...], list[Decimal]] = {}
    for currency, balance, available, limit, *key in rows:
        drawn = max(Decimal(0), -balance)
        unused = max(Decimal(0), limit - max(Decimal(0), -available))
        sums = groups.setdefault((*key, currency), [Decimal(0), Decimal(0), Decimal(0), Decimal(0)])
        sums[0] += 1
        sums[1] += limit
        sums[2] += drawn
        sums[3] += unused
    result = [
        Exposure(key=key[:-1], currency=key[-1], accounts=int(s[0]), limit=s[1], drawn=s[2], unused=s[3])
        for key, s in groups.items()
    ]
    return sorted(result, key=lambda e: (e.currency, -e.total, e.key))


# --- market risk -------------------------------------------------------------------------------


@dataclass(frozen=True)
class FxPosition:
    """The bank's net open position in one currency, from the ledger: the balance of its FX
    position GL account (credit positive: an FX deal in which a customer sells this currency to
    the bank makes the bank long, a positive position). `limit` None: no limit set."""

    currency: str
    position: Decimal
    limit: Decimal | None

    @property
    def breached(self) -> bool:
        return self.limit is not None and abs(self.position) > self.limit

    @property
    def used_percent(self) -> Decimal | None:
        if self.limit is None or self.limit == 0:
            return None
        return (abs(self.position) * 100 / self.limit).quantize(Decimal("0.1"))


def fx_limits_in_force() -> dict[str, Decimal]:
    limits: dict[str, Decimal] = {}
    for currency, limit in FxPositionLimit.objects.order_by("currency", "-id").values_list("currency", "limit"):
        limits.setdefault(currency, limit)
    return limits


def fx_positions(*, at: dt.datetime | None = None) -> list[FxPosition]:
    """Every currency's position at `at` (now by default): one index probe per currency for the
    last posting's running balance on its FX position account."""
    limits = fx_limits_in_force()
    positions = []
    for pk, currency in Account.objects.filter(is_internal=True, gl_code=GlCode.FX_POSITION).values_list(
        "pk", "currency"
    ):
        postings = Posting.objects.filter(account_id=pk)
        if at is not None:
            postings = postings.filter(created_at__lt=at)
        last = postings.order_by("-created_at", "-id").values_list("balance_after", flat=True).first()
        position = last if last is not None else Decimal(0)
        if position != 0 or currency in limits:
            positions.append(FxPosition(currency=currency, position=position, limit=limits.get(currency)))
    return sorted(positions, key=lambda p: p.currency)


# --- the monthly risk report -------------------------------------------------------------------


def alerts_between(start: dt.datetime, end: dt.datetime) -> QuerySet[Alert]:
    return Alert.objects.filter(created_at__gte=start, created_at__lt=end)


def alerts_outcomes(start: dt.datetime, end: dt.datetime) -> list[dict[str, Any]]:
    """Alerts raised in the period by category, decision, status and disposition, with counts."""
    rows = (
        alerts_between(start, end)
        .values("category", "outcome", "status", "disposition")
        .annotate(count=Count("id"))
        .order_by("category", "outcome", "status", "disposition")
    )
    return [dict(row) for row in rows]


def top_customers_by_risk(limit: int = 10) -> list[dict[str, Any]]:
    rows = (
        RiskProfile.objects.filter(score__isnull=False)
        .order_by("-score", "customer_id")
        .values("customer_id", "customer__full_name", "score", "tier", "pep", "factors")[:limit]
    )
    return [dict(row) for row in rows]
