"""Fixtures of the support tests: the shipped FAQ, and portal users with accounts they may view."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth.models import User

from apps.accounts.models import Account
from apps.accounts.services import MANDATE_VIEW, mandate_grant
from apps.common.principals import SYSTEM_ACTOR, Actor, Channel
from apps.customers.models import PortalUser
from apps.customers.services import portal_user_create
from apps.support.services import faq_seed_defaults


@dataclass
class Person:
    user: User
    portal_user: PortalUser
    accounts: list[Account]

    @property
    def actor(self) -> Actor:
        return Actor(
            label=f"portal:{self.user.username}", channel=Channel.PORTAL, customer_id=self.portal_user.customer_id
        )


@pytest.fixture
def faq(db: Any) -> int:
    return faq_seed_defaults(actor=SYSTEM_ACTOR)


@pytest.fixture
def make_person(make_customer: Callable[..., Any], make_account: Callable[..., Account]) -> Callable[..., Person]:
    counter = iter(range(1, 1000))

    def make(*, balances: tuple[str, ...] = ("1000",), name: str | None = None, kind: str = "individual") -> Person:
        """A customer with a portal login and accounts holding `balances`. An individual's login
        sees every own account; a corporate login is granted the view right on each of these."""
        n = next(counter)
        customer = make_customer(name=name, kind=kind)
        user = User.objects.create_user(username=f"portal{n}", password="pw-Portal-123")
        portal_user = portal_user_create(actor=SYSTEM_ACTOR, customer=customer, user=user)
        accounts = []
        for balance in balances:
            account = make_account(customer=customer, balance=balance)
            if kind != "individual":
                mandate_grant(actor=SYSTEM_ACTOR, portal_user=portal_user, account=account, rights=[MANDATE_VIEW])
            accounts.append(account)
        return Person(user=User.objects.get(pk=user.pk), portal_user=portal_user, accounts=accounts)

    return make
