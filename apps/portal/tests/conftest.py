"""Portal fixtures: an individual customer with two accounts and history, a corporate customer
whose logins hold different rights, and the portal logins themselves."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest

from apps.accounts.services import mandate_grant
from apps.common.money import Money
from apps.common.principals import SYSTEM_ACTOR
from apps.customers.models import PortalUser
from apps.transactions.services import transfer_create
from tests.support import portal_login_user

PASSWORD = "Portal-pass-2026!"
MARCH_FIRST = dt.datetime(2026, 3, 1, 10, 0, tzinfo=dt.UTC)


@dataclass
class Person:
    customer: Any
    user: Any
    accounts: list[Any]


@pytest.fixture
def alice(make_customer, make_account) -> Person:
    """An individual: a CNY account with history (deposit, two transfers out), a USD account."""
    customer = make_customer(name="Alice Wang")
    main = make_account(customer=customer, balance="1000")
    savings = make_account(customer=customer, balance="0")
    usd = make_account(customer=customer, currency="USD", balance="50")
    transfer_create(
        actor=SYSTEM_ACTOR,
        from_account=main.public_id,
        to_account=savings.public_id,
        money=Money(Decimal("120.50"), "CNY"),
        reference="rent March",
        booked_at=MARCH_FIRST,
    )
    transfer_create(
        actor=SYSTEM_ACTOR,
        from_account=main.public_id,
        to_account=savings.public_id,
        money=Money(Decimal("9.99"), "CNY"),
        reference="=cmd|calc",
    )
    user = portal_login_user(customer, "alice", PASSWORD, email="alice@example.com")
    for account in (main, savings, usd):
        account.refresh_from_db()
    return Person(customer, user, [main, savings, usd])


@pytest.fixture
def bob(make_customer, make_account) -> Person:
    """Another individual customer: his ids must answer 404 to everybody else."""
    customer = make_customer(name="Bob Li")
    account = make_account(customer=customer, balance="77")
    user = portal_login_user(customer, "bob", PASSWORD, email="bob@example.com")
    return Person(customer, user, [account])


@pytest.fixture
def company(make_customer, make_account) -> dict[str, Any]:
    """A corporate customer with two accounts; the clerk may see the first only, the director both."""
    customer = make_customer(name="Acme Trading", kind="corporate")
    first = make_account(customer=customer, balance="5000")
    second = make_account(customer=customer, balance="700")
    clerk = portal_login_user(customer, "clerk", PASSWORD, email="clerk@acme.example")
    director = portal_login_user(customer, "director", PASSWORD, email="director@acme.example")
    mandate_grant(
        actor=SYSTEM_ACTOR, portal_user=PortalUser.objects.get(user=clerk), account=first, rights={"initiate_payment"}
    )
    for account in (first, second):
        mandate_grant(
            actor=SYSTEM_ACTOR,
            portal_user=PortalUser.objects.get(user=director),
            account=account,
            rights={"view_account_portal", "approve_payment"},
        )
    return {"customer": customer, "accounts": [first, second], "clerk": clerk, "director": director}
