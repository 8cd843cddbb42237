"""Listeners told when a customer's name is set (onboarding, a name change).

Sanctions screening lives above customers (apps.compliance), so it registers a listener here at
start-up instead of being imported. Listeners run inside the transaction that set the name and
must only enqueue work after commit (apps.common.jobs), never fail the business action.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from apps.customers.models import Customer

NameListener = Callable[["Customer"], None]

_LISTENERS: list[NameListener] = []


def register_customer_name_listener(listener: NameListener) -> None:
    if listener not in _LISTENERS:
        _LISTENERS.append(listener)


def unregister_customer_name_listener(listener: NameListener) -> None:
    if listener in _LISTENERS:
        _LISTENERS.remove(listener)


def customer_name_set(customer: Customer) -> None:
    for listener in list(_LISTENERS):
        listener(customer)
