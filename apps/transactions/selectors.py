"""Read queries on the ledger, scoped to what the actor may see."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from django.db.models import Prefetch, QuerySet

from apps.accounts.models import Account
from apps.common.errors import NotFound
from apps.common.principals import Actor
from apps.transactions.models import JournalEntry, Payment, PaymentStatus, Posting


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
