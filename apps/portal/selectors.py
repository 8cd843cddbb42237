"""Reads for the portal, always scoped to one portal user: the accounts they may see (django-guardian
mandates for corporate users, every own account for an individual), an account's history with
filters, what the outbox sent them, their session epoch and TOTP devices."""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Q, QuerySet
from django_otp.plugins.otp_totp.models import TOTPDevice

from apps.accounts.models import Account
from apps.accounts.selectors import accounts_for_portal_user
from apps.customers.models import CustomerKind, PortalUser
from apps.integrations.models import Delivery, DeliveryChannel, OutboxEvent
from apps.portal.models import ContactChange, PortalSessionEpoch
from apps.transactions.models import Posting

RIGHT_VIEW = "view_account_portal"
RIGHT_INITIATE = "initiate_payment"
RIGHT_APPROVE = "approve_payment"
RIGHTS = (RIGHT_VIEW, RIGHT_INITIATE, RIGHT_APPROVE)


def portal_user_of(user: User | AnonymousUser) -> PortalUser | None:
    """The user's PortalUser (with its customer), or None for staff and everybody else."""
    if not getattr(user, "is_authenticated", False) or not user.is_active or user.is_staff or user.is_superuser:
        return None
    try:
        return PortalUser.objects.select_related("customer").get(user_id=user.pk)
    except PortalUser.DoesNotExist:
        return None


def portal_accounts(user: User | AnonymousUser, right: str = RIGHT_VIEW) -> QuerySet[Account]:
    """The accounts this portal user may see (or pay from, or approve on: `right`).

    An individual customer's login owns every account of the customer. A corporate customer's
    logins hold per-account rights (mandates, django-guardian object permissions). Staff and
    other users get none. Internal (bank) accounts are never included."""
    assert right in RIGHTS, right
    portal_user = portal_user_of(user)
    if portal_user is None:
        return Account.objects.none()
    if portal_user.customer.kind == CustomerKind.INDIVIDUAL:
        qs = Account.objects.filter(customer_id=portal_user.customer_id, is_internal=False)
    else:
        qs = accounts_for_portal_user(user, right)
    return qs.select_related("product").order_by("currency", "number")


def portal_account(user: User | AnonymousUser, public_id: uuid.UUID | str, right: str = RIGHT_VIEW) -> Account | None:
    """One account by its public id, if this portal user holds `right` on it; else None
    (the caller answers 404: another customer's id looks like a missing one)."""
    try:
        return portal_accounts(user, right).get(public_id=public_id)
    except (Account.DoesNotExist, ValueError, TypeError):
        return None


@dataclass(frozen=True)
class HistoryFilter:
    """What the history page filters on; None/"" means no filter."""

    date_from: dt.date | None = None
    date_to: dt.date | None = None
    amount_min: Decimal | None = None
    amount_max: Decimal | None = None
    direction: str = ""  # "in", "out" or ""
    text: str = ""


def account_history(*, account: Account, filters: HistoryFilter, tz: Any = None) -> QuerySet[Posting]:
    """The account's postings, newest first, filtered. Dates are whole days in `tz` (the
    page's time zone); amounts compare the absolute value; text searches the reference and
    the entry's id."""
    qs = Posting.objects.filter(account=account).select_related("entry")
    if filters.date_from is not None:
        qs = qs.filter(created_at__gte=_day_start(filters.date_from, tz))
    if filters.date_to is not None:
        qs = qs.filter(created_at__lt=_day_start(filters.date_to + dt.timedelta(days=1), tz))
    if filters.direction == "in":
        qs = qs.filter(amount__gt=0)
    elif filters.direction == "out":
        qs = qs.filter(amount__lt=0)
    if filters.amount_min is not None:
        qs = qs.filter(Q(amount__gte=filters.amount_min) | Q(amount__lte=-filters.amount_min))
    if filters.amount_max is not None:
        qs = qs.filter(amount__lte=filters.amount_max, amount__gte=-filters.amount_max)
    text = filters.text.strip()
    if text:
        condition = Q(entry__reference__icontains=text) | Q(entry__kind__iexact=text)
        with contextlib.suppress(ValueError):
            condition |= Q(entry__public_id=uuid.UUID(text))
        qs = qs.filter(condition)
    return qs.order_by("-created_at", "-id")


def _day_start(day: dt.date, tz: Any) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=tz or dt.UTC)


def portal_notifications(*, customer_id: int) -> QuerySet[OutboxEvent]:
    """What the outbox sent this customer by e-mail or SMS (events about the customer that
    carried a direct message: large transactions, payment status...), newest first. Webhooks to
    integrators are not the customer's notifications and are left out."""
    direct = Q(notify_email__gt="") | Q(notify_phone__gt="")
    return (
        OutboxEvent.objects.filter(Q(customer_id=customer_id) & direct)
        .prefetch_related("deliveries")
        .order_by("-created_at", "-id")
    )


def notification_channels(event: OutboxEvent) -> list[Delivery]:
    """The e-mail and SMS deliveries of one event (not webhooks)."""
    return [d for d in event.deliveries.all() if d.channel in (DeliveryChannel.EMAIL, DeliveryChannel.SMS)]


def portal_session_epoch(*, user_id: int) -> int:
    """The user's portal session epoch (0 until they first log out everywhere)."""
    epoch = PortalSessionEpoch.objects.filter(user_id=user_id).values_list("epoch", flat=True).first()
    return int(epoch or 0)


def portal_has_totp(*, user: Any) -> bool:
    """Whether the user turned on a second factor (a confirmed TOTP device)."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def contact_change_pending(*, user: Any) -> ContactChange | None:
    """The user's latest contact change still waiting for its code, if any."""
    return ContactChange.objects.filter(user=user, confirmed_at__isnull=True, cancelled=False).order_by("-id").first()
