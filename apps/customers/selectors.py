"""Read queries on customers, scoped to what the actor may see."""

from __future__ import annotations

import datetime as dt
import uuid

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Q, QuerySet
from guardian.shortcuts import get_objects_for_user

from apps.common.errors import NotFound
from apps.common.principals import Actor
from apps.customers.identity import national_id_digest
from apps.customers.models import Customer, KycStatus


def customers_visible_to(actor: Actor) -> QuerySet[Customer]:
    qs = Customer.objects.all()
    if actor.customer_id is not None:
        qs = qs.filter(pk=actor.customer_id)
    return qs


def customer_get(*, actor: Actor, public_id: uuid.UUID | str) -> Customer:
    """The customer with this public id, or NotFound (also when the actor may not see it)."""
    try:
        return customers_visible_to(actor).get(public_id=public_id)
    except (Customer.DoesNotExist, ValueError):
        raise NotFound() from None


def customer_search(*, actor: Actor, text: str = "") -> QuerySet[Customer]:
    """Name contains `text`, or e-mail, or exactly this national id (through its blind index)."""
    qs = customers_visible_to(actor)
    text = text.strip()
    if text:
        qs = qs.filter(
            Q(full_name__icontains=text) | Q(email__iexact=text) | Q(national_id_index=national_id_digest(text))
        )
    return qs.order_by("-id")


def customers_rejected_pii_due(*, decided_before: dt.datetime) -> QuerySet[Customer]:
    """Rejected applicants whose personal data is past retention and may be purged.

    Rejected before `decided_before`, never given an account or an API client (a customer the
    bank did business with keeps its KYC record), and not purged yet (blind index still set).
    """
    return (
        Customer.objects.filter(kyc_status=KycStatus.REJECTED, kyc_decided_at__lt=decided_before)
        .exclude(national_id_index="")
        .filter(accounts__isnull=True, api_clients__isnull=True)
        .order_by("pk")
    )


def customers_for_staff(user: User | AnonymousUser) -> QuerySet[Customer]:
    """The customers a staff user may see: all with customers.view_customer, only those assigned
    to them (django-guardian object permission) with customers.view_assigned_customer, else none."""
    if not getattr(user, "is_active", False):
        return Customer.objects.none()
    if user.has_perm("customers.view_customer"):
        return Customer.objects.all()
    if user.has_perm("customers.view_assigned_customer"):
        return get_objects_for_user(user, "customers.view_customer", klass=Customer, accept_global_perms=False)
    return Customer.objects.none()


def staff_may_view_customer(user: User | AnonymousUser, customer: Customer) -> bool:
    return bool(user.has_perm("customers.view_customer") or user.has_perm("customers.view_customer", customer))
