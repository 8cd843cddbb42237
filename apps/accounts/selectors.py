"""Read queries on accounts and holds, scoped to what the actor may see."""

from __future__ import annotations

import uuid

from django.db.models import QuerySet

from apps.accounts.models import Account, Hold
from apps.common.errors import NotFound
from apps.common.principals import Actor


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
