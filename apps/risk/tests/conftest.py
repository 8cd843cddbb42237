"""Helpers for the risk tests: a customer-bound actor, and a clean slate of limits and rules."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction

from apps.accounts.models import Account
from apps.common.money import Money
from apps.common.principals import Actor, Channel
from apps.customers.models import Customer
from apps.risk.models import LimitRule, Rule, RuleStatus
from apps.transactions.models import JournalEntry
from apps.transactions.services import transfer_create


def api_actor(customer: Customer) -> Actor:
    return Actor(label=f"client:c{customer.pk}", channel=Channel.API, customer_id=customer.pk)


@pytest.fixture
def no_rules(db: Any) -> None:
    """Limits only: the shipped rules retired (each rule test activates the one it proves)."""
    Rule.objects.update(status=RuleStatus.RETIRED)


@pytest.fixture
def no_limits(db: Any) -> None:
    LimitRule.objects.all().delete()


@pytest.fixture
def send(db: Any) -> Callable[..., JournalEntry]:
    def send(source: Account, target: Account, amount: str, *, actor: Actor | None = None) -> JournalEntry:
        assert source.customer is not None
        with transaction.atomic():  # a savepoint: a refusal rolls back to here, as the API's does
            return transfer_create(
                actor=actor or api_actor(source.customer),
                from_account=source.public_id,
                to_account=target.public_id,
                money=Money(Decimal(amount), source.currency),
            )

    return send
