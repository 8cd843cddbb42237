"""Reads of customer support, scoped to who asks: staff see the tickets of the customers they may
see; a portal user sees their own customer's tickets; the assistant reads the postings of the accounts
the portal lets the user see."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Count, QuerySet

from apps.accounts.models import Account
from apps.common.errors import NotFound
from apps.customers.selectors import customers_for_staff
from apps.support.models import FaqEntry, Ticket, TicketKind, TicketStatus
from apps.transactions.models import Posting
from apps.transactions.selectors import account_postings


def faq_published() -> list[FaqEntry]:
    return list(FaqEntry.objects.filter(published=True).order_by("position", "id"))


def faq_list() -> QuerySet[FaqEntry]:
    return FaqEntry.objects.order_by("position", "id")


def faq_get(pk: int) -> FaqEntry:
    try:
        return FaqEntry.objects.get(pk=pk)
    except FaqEntry.DoesNotExist:
        raise NotFound() from None


def tickets_for_staff(user: User | AnonymousUser) -> QuerySet[Ticket]:
    """The tickets of the customers this staff member may see (every customer with
    customers.view_customer; a relationship manager's own customers), holding support.view_ticket."""
    if not user.has_perm("support.view_ticket"):
        return Ticket.objects.none()
    qs = Ticket.objects.select_related("customer", "assigned_to")
    if user.has_perm("customers.view_customer"):
        return qs
    return qs.filter(customer__in=customers_for_staff(user))


def ticket_for_staff(user: User | AnonymousUser, public_id: uuid.UUID | str) -> Ticket:
    try:
        return tickets_for_staff(user).get(public_id=public_id)
    except (Ticket.DoesNotExist, ValueError):
        raise NotFound() from None


def ticket_counts(tickets: QuerySet[Ticket]) -> dict[str, int]:
    """How many of these tickets are in each status (every status present, zero or more)."""
    counts = {status: 0 for status in TicketStatus.values}
    for row in tickets.order_by().values("status").annotate(n=Count("id")):
        counts[row["status"]] = row["n"]
    return counts


def tickets_of_portal_user(portal_user_id: int) -> QuerySet[Ticket]:
    """The tickets one portal login opened, newest first. Not the whole customer's: a corporate
    customer's users hold different rights, and a handover transcript may quote what one of
    them may see."""
    return Ticket.objects.filter(portal_user_id=portal_user_id).order_by("-id")


def ticket_of_portal_user(portal_user_id: int, public_id: uuid.UUID | str) -> Ticket:
    try:
        return tickets_of_portal_user(portal_user_id).get(public_id=public_id)
    except (Ticket.DoesNotExist, ValueError):
        raise NotFound() from None


def handovers_since(portal_user_id: int, since: dt.datetime) -> int:
    """How many handover tickets this portal login opened since `since` (the assistant's cap)."""
    return Ticket.objects.filter(portal_user_id=portal_user_id, kind=TicketKind.HANDOVER, created_at__gte=since).count()


def tickets_of_customer(customer_id: int) -> QuerySet[Ticket]:
    """A customer's tickets, newest first (the portal shows them to the customer's users)."""
    return Ticket.objects.filter(customer_id=customer_id).order_by("-id")


def own_recent_postings(accounts: list[Account], *, limit: int, outgoing_only: bool) -> list[Posting]:
    """The latest `limit` postings across these accounts (money out only when `outgoing_only`)."""
    found: list[Posting] = []
    for account in accounts:
        qs: Any = account_postings(account=account).select_related("entry", "account")
        if outgoing_only:
            qs = qs.filter(amount__lt=0)
        found.extend(qs.order_by("-created_at", "-id")[:limit])
    found.sort(key=lambda p: (p.created_at, p.pk), reverse=True)
    return found[:limit]
