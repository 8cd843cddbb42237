"""Customers, portal logins and mandates for the portal payment tests (test client and browser)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import User

from apps.accounts.models import Account
from apps.accounts.services import account_open, mandate_grant
from apps.common.money import Money
from apps.common.principals import SYSTEM_ACTOR
from apps.customers.identity import china_resident_id_for
from apps.customers.models import Customer
from apps.customers.services import customer_create, customer_decide_kyc, portal_user_create
from apps.transactions.models import SavedBeneficiary
from apps.transactions.services import deposit_create
from apps.transactions.services_beneficiaries import beneficiary_save

PASSWORD = "Portal-pay-2026!"
SIMULATOR = {
    "FINSYS_GATEWAY_SIM_LATENCY_MS": 0,
    "FINSYS_GATEWAY_SIM_TIMEOUT_RATE": 0.0,
    "FINSYS_GATEWAY_SIM_REJECT_RATE": 0.0,
}
_serial = iter(range(500, 100_000))


def customer(kind: str = "individual", name: str = "") -> Customer:
    n = next(_serial)
    if kind == "individual":
        import datetime as dt

        birth = dt.date(1985, 1, 1) + dt.timedelta(days=n)
        made = customer_create(
            actor=SYSTEM_ACTOR,
            kind=kind,
            full_name=name or f"Portal Payer {n}",
            country="CN",
            national_id=china_resident_id_for(birth, n),
            date_of_birth=birth,
            email=f"payer{n}@example.com",
        )
    else:
        made = customer_create(
            actor=SYSTEM_ACTOR, kind=kind, full_name=name or f"Payer Co {n}", country="SG", national_id=f"UEN{n:06d}P"
        )
    return customer_decide_kyc(actor=SYSTEM_ACTOR, customer=made, decision="verified")


def account(owner: Customer, balance: str = "0", currency: str = "CNY") -> Account:
    opened = account_open(actor=SYSTEM_ACTOR, customer=owner, currency=currency)
    if Decimal(balance) > 0:
        deposit_create(actor=SYSTEM_ACTOR, account=opened.public_id, money=Money(Decimal(balance), currency))
    opened.refresh_from_db()
    return opened


def login(owner: Customer, username: str) -> User:
    user = User.objects.create_user(username=username, password=PASSWORD, email=f"{username}@example.com")
    portal_user_create(actor=SYSTEM_ACTOR, customer=owner, user=user)
    return User.objects.get(pk=user.pk)  # fresh: no cached permissions


def beneficiary(owner: Customer, name: str = "Li Wei", number: str = "6222020200112233") -> SavedBeneficiary:
    return beneficiary_save(
        actor=SYSTEM_ACTOR, customer=owner, name=name, account_number=number, bank_code="ICBKCNBJ", country="CN"
    )


@dataclass
class Company:
    customer: Customer
    account: Account
    clerk: User  # may initiate
    director: User  # may initiate and approve
    viewer: User  # may only look


def company(balance: str = "100000") -> Company:
    owner = customer("corporate")
    acct = account(owner, balance)
    clerk, director, viewer = (login(owner, f"{role}{owner.pk}") for role in ("clerk", "director", "viewer"))
    for user, rights in ((clerk, {"initiate_payment"}), (director, {"initiate_payment", "approve_payment"}),
                         (viewer, {"view_account_portal"})):  # fmt: skip
        mandate_grant(actor=SYSTEM_ACTOR, portal_user=user.portal_user, account=acct, rights=rights)
    return Company(
        customer=owner,
        account=acct,
        clerk=User.objects.get(pk=clerk.pk),
        director=User.objects.get(pk=director.pk),
        viewer=User.objects.get(pk=viewer.pk),
    )


def location_id(response: Any) -> str:
    """The last path segment of a redirect (an id or a token)."""
    return str(response["Location"].rstrip("/").rsplit("/", 1)[-1])
