"""Read queries on accounts and holds, scoped to what the actor may see."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Count, QuerySet, Sum
from guardian.shortcuts import get_objects_for_user

from apps.accounts.models import Account, Hold
from apps.common.errors import NotFound
from apps.common.principals import Actor
from apps.customers.selectors import customers_for_staff


def accounts_visible_to(actor: Actor) -> QuerySet[Account]:
    qs = Account.objects.select_related("customer", "product").filter(is_internal=False)
    if actor.customer_id is not None:
        qs = qs.filter(customer_id=actor.customer_id)
    return qs


def account_get(*, actor: Actor, public_id: uuid.UUID | str) -> Account:
    try:
        return accounts_visible_to(actor).get(public_id=public_id)
    except (Account.DoesNotExist, ValueError):
        raise NotFound() from None


def account_by_pk(pk: int) -> Account:
    """An account by its internal key (held in records such as an approval's payload)."""
    try:
        return Account.objects.get(pk=pk)
    except Account.DoesNotExist:
        raise NotFound() from None


def accounts_of_customer(customer_id: int, *, status: str) -> list[Account]:
    """A customer's own accounts in one status, in id order (the order locks are taken in)."""
    return list(Account.objects.filter(customer_id=customer_id, status=status, is_internal=False).order_by("pk"))


def account_list(
    *, actor: Actor, customer_public_id: uuid.UUID | None = None, number: str | None = None
) -> QuerySet[Account]:
    qs = accounts_visible_to(actor)
    if customer_public_id is not None:
        qs = qs.filter(customer__public_id=customer_public_id)
    if number is not None:
        qs = qs.filter(number=number)
    return qs.order_by("-id")


def holds_visible_to(actor: Actor) -> QuerySet[Hold]:
    qs = Hold.objects.select_related("account")
    if actor.customer_id is not None:
        qs = qs.filter(account__customer_id=actor.customer_id)
    return qs


def hold_get(*, actor: Actor, public_id: uuid.UUID | str) -> Hold:
    try:
        return holds_visible_to(actor).get(public_id=public_id)
    except (Hold.DoesNotExist, ValueError):
        raise NotFound() from None


def accounts_for_staff(user: User | AnonymousUser) -> QuerySet[Account]:
    """All accounts with accounts.view_account; a relationship manager's customers' accounts
    with customers.view_assigned_customer; else none."""
    if user.has_perm("accounts.view_account"):
        return Account.objects.all()
    if user.has_perm("customers.view_assigned_customer"):
        return Account.objects.filter(customer__in=customers_for_staff(user))
    return Account.objects.none()


def accounts_for_portal_user(user: User | AnonymousUser, right: str = "view_account_portal") -> QuerySet[Account]:
    """The accounts of the user's customer on which they hold `right` (a mandate)."""
    portal_user = getattr(user, "portal_user", None)
    if portal_user is None or not getattr(user, "is_active", False):
        return Account.objects.none()
    granted = get_objects_for_user(user, f"accounts.{right}", klass=Account, accept_global_perms=False)
    return granted.filter(customer_id=portal_user.customer_id, is_internal=False)


def balances_by_product() -> list[dict[str, Any]]:
    """Customer accounts per product and currency: how many and their total balance."""
    rows = (
        Account.objects.filter(is_internal=False)
        .values("product__code", "product__name", "currency")
        .annotate(accounts=Count("id"), balance=Sum("balance"))
        .order_by("product__code", "currency")
    )
    return [dict(row) for row in rows]
