"""Read queries on the ledger, scoped to what the actor may see."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any, NamedTuple

from django.core.exceptions import ValidationError
from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce, TruncDate

from apps.accounts.models import Account, AccountStatus
from apps.common.errors import NotFound
from apps.common.fields import MoneyAmountField
from apps.common.principals import Actor
from apps.transactions.models import JournalEntry, Payment, PaymentInstruction, PaymentStatus, Posting, SavedBeneficiary


def transaction_get(*, actor: Actor, public_id: uuid.UUID | str) -> JournalEntry:
    """An entry with its postings. A customer-bound actor sees it only when it touches one of
    the customer's accounts, and sees only the postings on those accounts."""
    postings = Posting.objects.select_related("account").order_by("id")
    if actor.customer_id is not None:
        postings = postings.filter(account__customer_id=actor.customer_id)
    qs = JournalEntry.objects.select_related("reversal").prefetch_related(
        Prefetch("postings", queryset=postings, to_attr="visible_postings")
    )
    if actor.customer_id is not None:
        qs = qs.filter(postings__account__customer_id=actor.customer_id).distinct()
    try:
        return qs.get(public_id=public_id)
    except (JournalEntry.DoesNotExist, ValueError):
        raise NotFound() from None


def transaction_status(entry: JournalEntry) -> str:
    try:
        entry.reversal  # noqa: B018 - the reverse one-to-one raises when absent
    except JournalEntry.DoesNotExist:
        return "posted"
    return "reversed"


def account_postings(*, account: Account) -> QuerySet[Posting]:
    """The account's postings, newest first (the history endpoint pages through these)."""
    return Posting.objects.filter(account=account).select_related("entry").order_by("-id")


def account_balance_at(*, account: Account, at: dt.datetime) -> Decimal:
    """The balance at a point in time: the running balance of the last posting at or before it.
    One index probe on (account, created_at, id), so the cost does not grow with history."""
    last = (
        Posting.objects.filter(account=account, created_at__lte=at)
        .order_by("-created_at", "-id")
        .values_list("balance_after", flat=True)
        .first()
    )
    return last if last is not None else Decimal(0)


def account_balances_at(*, at: dt.datetime) -> QuerySet[Any, Any]:
    """Every account opened before `at` with its ledger balance then (`balance_at`), as a values
    queryset of (id, balance_at, currency) for a set-based INSERT ... SELECT: the same index
    probe per account as account_balance_at."""
    last = (
        Posting.objects.filter(account_id=OuterRef("pk"), created_at__lte=at)
        .order_by("-created_at", "-id")
        .values("balance_after")[:1]
    )
    return (
        Account.objects.filter(created_at__lte=at)
        .annotate(balance_at=Coalesce(Subquery(last), Value(Decimal(0)), output_field=MoneyAmountField()))
        .values("id", "balance_at", "currency")
        .order_by()
    )


def accounts_inactive_since(*, since: dt.datetime, kinds: list[str]) -> list[int]:
    """Active customer accounts opened before `since` on which no entry of one of `kinds` has
    posted since then (a correlated NOT EXISTS on the (account, created_at, id) index)."""
    activity = Posting.objects.filter(account_id=OuterRef("pk"), created_at__gte=since, entry__kind__in=kinds)
    return list(
        Account.objects.filter(is_internal=False, status=AccountStatus.ACTIVE)
        .filter(Q(opened_at__lt=since) | Q(opened_at__isnull=True, created_at__lt=since))
        .exclude(Exists(activity))
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def payment_get(*, actor: Actor, public_id: uuid.UUID | str) -> Payment:
    """A payment; a customer-bound actor sees only those from the customer's accounts."""
    qs = Payment.objects.select_related("account")
    if actor.customer_id is not None:
        qs = qs.filter(account__customer_id=actor.customer_id)
    try:
        return qs.get(public_id=public_id)
    except (Payment.DoesNotExist, ValueError):
        raise NotFound() from None


def payments_due(*, now: dt.datetime, limit: int = 1000) -> list[int]:
    """Open payments whose next gateway attempt (or status query) is due, oldest first."""
    return list(
        Payment.objects.filter(
            status__in=[PaymentStatus.HELD, PaymentStatus.SUBMITTED], gateway_outcome="", next_attempt_at__lte=now
        )
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )


# --- statements and management reports (apps/reports reads these) ---------------------------------


class StatementLine(NamedTuple):
    """One posting as a statement shows it (a tuple: a statement streams 100,000s of them)."""

    posting_id: uuid.UUID
    booked_at: dt.datetime
    entry_id: uuid.UUID
    kind: str
    reference: str
    amount: Decimal
    currency: str
    balance_after: Decimal


def account_balance_before(*, account: Account, at: dt.datetime) -> Decimal:
    """The balance just before `at` (postings at `at` itself excluded): a statement's opening."""
    last = (
        Posting.objects.filter(account=account, created_at__lt=at)
        .order_by("-created_at", "-id")
        .values_list("balance_after", flat=True)
        .first()
    )
    return last if last is not None else Decimal(0)


def _statement_postings(account: Account, start: dt.datetime, end: dt.datetime) -> QuerySet[Posting]:
    return Posting.objects.filter(account=account, created_at__gte=start, created_at__lt=end)


def statement_posting_count(*, account: Account, start: dt.datetime, end: dt.datetime) -> int:
    return _statement_postings(account, start, end).count()


def statement_lines(
    *, account: Account, start: dt.datetime, end: dt.datetime, chunk_size: int = 2000
) -> Iterator[StatementLine]:
    """The account's postings in [start, end) in booking order (created_at, id), streamed: a
    server-side cursor on PostgreSQL, `chunk_size` rows in memory at a time, whatever the count."""
    rows = (
        _statement_postings(account, start, end)
        .order_by("created_at", "id")
        .values_list(
            "public_id",
            "created_at",
            "entry__public_id",
            "entry__kind",
            "entry__reference",
            "amount",
            "currency",
            "balance_after",
        )
    )
    for row in rows.iterator(chunk_size=chunk_size):
        yield StatementLine(*row)


def daily_volumes(*, start: dt.datetime, end: dt.datetime) -> list[dict[str, Any]]:
    """Journal entries per UTC day, kind and currency in [start, end): count and total amount."""
    rows = (
        JournalEntry.objects.filter(created_at__gte=start, created_at__lt=end)
        .annotate(day=TruncDate("created_at", tzinfo=dt.UTC))
        .values("day", "kind", "currency")
        .annotate(count=Count("id"), total=Sum("amount"))
        .order_by("day", "kind", "currency")
    )
    return [dict(row) for row in rows]


def payments_by_state() -> list[dict[str, Any]]:
    """Payments per status and currency: count and total amount."""
    rows = (
        Payment.objects.values("status", "currency")
        .annotate(count=Count("id"), total=Sum("amount"))
        .order_by("status", "currency")
    )
    return [dict(row) for row in rows]


# --- the portal's address book and corporate instructions --------------------------------------


def beneficiaries_of(*, customer_id: int) -> QuerySet[SavedBeneficiary]:
    return SavedBeneficiary.objects.filter(customer_id=customer_id).order_by("name", "id")


def beneficiary_get(*, customer_id: int, public_id: uuid.UUID | str) -> SavedBeneficiary:
    """One of the customer's saved beneficiaries; another customer's id is NotFound."""
    try:
        return SavedBeneficiary.objects.get(customer_id=customer_id, public_id=public_id)
    except (SavedBeneficiary.DoesNotExist, ValueError, ValidationError):
        raise NotFound() from None


def payments_of(*, account_ids: list[int]) -> QuerySet[Payment]:
    return Payment.objects.filter(account_id__in=account_ids).select_related("account").order_by("-id")


def payment_of(*, account_ids: list[int], public_id: uuid.UUID | str) -> Payment:
    """A payment from one of these accounts, with its events; any other id is NotFound."""
    try:
        return (
            Payment.objects.select_related("account")
            .prefetch_related("events")
            .get(account_id__in=account_ids, public_id=public_id)
        )
    except (Payment.DoesNotExist, ValueError, ValidationError):
        raise NotFound() from None


def instructions_of(*, account_ids: list[int]) -> QuerySet[PaymentInstruction]:
    return (
        PaymentInstruction.objects.filter(account_id__in=account_ids)
        .select_related("account", "to_account", "initiated_by", "decided_by", "payment")
        .order_by("-id")
    )


def instruction_of(*, account_ids: list[int], public_id: uuid.UUID | str) -> PaymentInstruction:
    try:
        return instructions_of(account_ids=account_ids).get(public_id=public_id)
    except (PaymentInstruction.DoesNotExist, ValueError, ValidationError):
        raise NotFound() from None
