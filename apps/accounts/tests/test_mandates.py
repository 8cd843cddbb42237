"""Corporate mandates: portal users' per-account rights and the second approver above the
customer's own threshold (service level; the portal comes later)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import User

from apps.accounts.selectors import accounts_for_portal_user
from apps.accounts.services import (
    mandate_check_approver,
    mandate_check_initiator,
    mandate_grant,
    mandate_requires_second_approval,
)
from apps.audit.models import AuditEvent
from apps.common.errors import NotFound, PermissionDenied, ValidationFailed
from apps.common.money import Money
from apps.common.principals import SYSTEM_ACTOR
from apps.customers.services import customer_set_approval_threshold, portal_user_create


def cny(amount: str) -> Money:
    return Money(Decimal(amount), "CNY")


def fresh(user: User) -> User:
    return User.objects.get(pk=user.pk)  # guardian caches nothing, Django's ModelBackend does


@pytest.fixture
def company(make_customer, make_account):
    corp = make_customer(kind="corporate", name="Acme Ltd")
    corp = customer_set_approval_threshold(actor=SYSTEM_ACTOR, customer=corp, threshold=cny("10000"))
    account, second = make_account(customer=corp), make_account(customer=corp)
    users = {}
    for name in ("clerk", "director", "viewer"):
        users[name] = portal_user_create(
            actor=SYSTEM_ACTOR, customer=corp, user=User.objects.create_user(username=f"acme-{name}")
        )
    mandate_grant(actor=SYSTEM_ACTOR, portal_user=users["clerk"], account=account, rights={"initiate_payment"})
    mandate_grant(
        actor=SYSTEM_ACTOR,
        portal_user=users["director"],
        account=account,
        rights={"initiate_payment", "approve_payment"},
    )
    mandate_grant(actor=SYSTEM_ACTOR, portal_user=users["viewer"], account=account, rights={"view_account_portal"})
    other = make_account(customer=make_customer(name="Someone Else"))
    return {"corp": corp, "account": account, "second": second, "other": other, **users}


def test_a_corporate_payment_above_the_customers_threshold_needs_a_second_approver(company):
    account = company["account"]
    assert not mandate_requires_second_approval(account=account, amount=cny("10000"))
    assert mandate_requires_second_approval(account=account, amount=cny("10000.01"))
    # A threshold in another currency, or none at all, is no licence: every payment needs two.
    assert mandate_requires_second_approval(account=account, amount=Money(Decimal("1"), "USD"))
    customer_set_approval_threshold(actor=SYSTEM_ACTOR, customer=company["corp"], threshold=None)
    account.customer.refresh_from_db()
    assert mandate_requires_second_approval(account=account, amount=cny("0.01"))


def test_an_individual_never_needs_a_second_approver(make_account):
    assert not mandate_requires_second_approval(account=make_account(), amount=cny("99999999"))


def test_the_second_approver_must_hold_the_approve_right_and_not_be_the_initiator(company):
    account = company["account"]
    clerk, director, viewer = (fresh(company[n].user) for n in ("clerk", "director", "viewer"))
    mandate_check_initiator(user=clerk, account=account)
    mandate_check_approver(approver=director, initiator=clerk, account=account)
    with pytest.raises(PermissionDenied):
        mandate_check_approver(approver=director, initiator=director, account=account)  # maker-checker
    with pytest.raises(PermissionDenied):
        mandate_check_approver(approver=viewer, initiator=clerk, account=account)
    with pytest.raises(PermissionDenied):
        mandate_check_initiator(user=viewer, account=account)


def test_rights_are_per_account_and_another_customers_account_does_not_exist_for_them(company):
    clerk = fresh(company["clerk"].user)
    for foreign in (company["second"], company["other"]):
        with pytest.raises(NotFound):
            mandate_check_initiator(user=clerk, account=foreign)
        with pytest.raises(NotFound):
            mandate_check_approver(approver=fresh(company["director"].user), initiator=clerk, account=foreign)
    assert list(accounts_for_portal_user(clerk)) == [company["account"]]
    assert list(accounts_for_portal_user(clerk, "approve_payment")) == []
    assert list(accounts_for_portal_user(fresh(company["director"].user), "approve_payment")) == [company["account"]]


def test_a_mandate_is_refused_on_an_account_of_another_customer_or_with_an_unknown_right(company):
    before = AuditEvent.objects.count()
    with pytest.raises(ValidationFailed):
        mandate_grant(
            actor=SYSTEM_ACTOR, portal_user=company["clerk"], account=company["other"], rights={"initiate_payment"}
        )
    with pytest.raises(ValidationFailed):
        mandate_grant(actor=SYSTEM_ACTOR, portal_user=company["clerk"], account=company["account"], rights={"fly"})
    assert AuditEvent.objects.count() == before
    assert list(accounts_for_portal_user(fresh(company["clerk"].user))) == [company["account"]]


def test_regranting_replaces_the_rights_and_is_audited(company):
    mandate_grant(actor=SYSTEM_ACTOR, portal_user=company["director"], account=company["account"], rights=set())
    director = fresh(company["director"].user)
    with pytest.raises(NotFound):
        mandate_check_initiator(user=director, account=company["account"])
    event = AuditEvent.objects.filter(action="mandate.grant").latest("id")
    assert event.detail["before"] == ["approve_payment", "initiate_payment", "view_account_portal"]
    assert event.detail["rights"] == []


def test_a_disabled_portal_login_holds_no_rights(company):
    clerk = company["clerk"].user
    clerk.is_active = False
    clerk.save()
    with pytest.raises(NotFound):
        mandate_check_initiator(user=fresh(clerk), account=company["account"])
    assert list(accounts_for_portal_user(fresh(clerk))) == []


def test_staff_users_cannot_be_portal_users_and_thresholds_are_for_companies(make_customer, company):
    staff = User.objects.create_user(username="teller2", is_staff=True)
    with pytest.raises(ValidationFailed):
        portal_user_create(actor=SYSTEM_ACTOR, customer=company["corp"], user=staff)
    with pytest.raises(ValidationFailed):
        customer_set_approval_threshold(actor=SYSTEM_ACTOR, customer=make_customer(), threshold=cny("1"))
