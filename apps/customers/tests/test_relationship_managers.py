"""A relationship manager reaches only the customers assigned to them (django-guardian)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from django.urls import reverse

from apps.accounts.selectors import accounts_for_staff
from apps.audit.models import AuditEvent
from apps.common.errors import PermissionDenied, ValidationFailed
from apps.common.principals import SYSTEM_ACTOR, Actor, Channel
from apps.customers.models import Customer
from apps.customers.selectors import customers_for_staff
from apps.customers.services import customer_assign_relationship_manager
from tests.support import verified_staff_client


def staff(username: str, role: str) -> User:
    user = User.objects.create_user(username=username, is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return User.objects.get(pk=user.pk)  # no cached permissions


def logged_in(user: User) -> Client:
    return verified_staff_client(user)


@pytest.fixture
def book(make_customer, make_account):
    rm, other_rm = staff("rm1", "relationship_manager"), staff("rm2", "relationship_manager")
    mine, theirs = make_customer(name="Assigned Person"), make_customer(name="Unassigned Person")
    my_account, their_account = make_account(customer=mine), make_account(customer=theirs)
    customer_assign_relationship_manager(actor=SYSTEM_ACTOR, customer=mine, manager=rm)
    return {
        "rm": User.objects.get(pk=rm.pk),
        "other_rm": other_rm,
        "mine": mine,
        "theirs": theirs,
        "my_account": my_account,
        "their_account": their_account,
    }


def test_a_relationship_manager_sees_only_assigned_customers_and_their_accounts(book):
    assert list(customers_for_staff(book["rm"])) == [book["mine"]]
    assert list(accounts_for_staff(book["rm"])) == [book["my_account"]]
    assert list(customers_for_staff(book["other_rm"])) == []
    teller = staff("t", "teller")
    assert set(customers_for_staff(teller)) == set(Customer.objects.all())


def test_reassigning_revokes_the_previous_managers_access_and_is_audited(book):
    customer_assign_relationship_manager(actor=SYSTEM_ACTOR, customer=book["mine"], manager=book["other_rm"])
    assert list(customers_for_staff(User.objects.get(pk=book["rm"].pk))) == []
    assert list(customers_for_staff(User.objects.get(pk=book["other_rm"].pk))) == [book["mine"]]
    book["mine"].refresh_from_db()
    assert book["mine"].relationship_manager == book["other_rm"]
    event = AuditEvent.objects.filter(action="customer.assign_relationship_manager").latest("id")
    assert event.detail == {"previous": "rm1", "manager": "rm2"}
    customer_assign_relationship_manager(actor=SYSTEM_ACTOR, customer=book["mine"], manager=None)
    assert list(customers_for_staff(User.objects.get(pk=book["other_rm"].pk))) == []


def test_only_relationship_managers_can_be_assigned_and_only_by_the_bank(book):
    teller = staff("t", "teller")
    before = AuditEvent.objects.count()
    with pytest.raises(ValidationFailed):
        customer_assign_relationship_manager(actor=SYSTEM_ACTOR, customer=book["theirs"], manager=teller)
    bound = Actor(label="client:x", channel=Channel.API, customer_id=book["theirs"].pk)
    with pytest.raises(PermissionDenied):
        customer_assign_relationship_manager(actor=bound, customer=book["theirs"], manager=book["rm"])
    book["theirs"].refresh_from_db()
    assert book["theirs"].relationship_manager is None
    assert AuditEvent.objects.count() == before


def test_the_admin_lists_and_shows_a_relationship_manager_only_their_customers(book):
    client = logged_in(book["rm"])
    listing = client.get(reverse("admin:customers_customer_changelist"))
    assert listing.status_code == 200
    assert "Assigned Person" in listing.content.decode()
    assert "Unassigned Person" not in listing.content.decode()
    assert client.get(reverse("admin:customers_customer_change", args=[book["mine"].pk])).status_code == 200
    other = client.get(reverse("admin:customers_customer_change", args=[book["theirs"].pk]))
    assert other.status_code == 404
    assert "Unassigned Person" not in other.content.decode()
    accounts = client.get(reverse("admin:accounts_account_changelist")).content.decode()
    assert book["my_account"].number in accounts
    assert book["their_account"].number not in accounts
    hidden = client.get(reverse("admin:accounts_account_change", args=[book["their_account"].pk]))
    assert hidden.status_code == 404
    assert book["their_account"].number not in hidden.content.decode()


def test_personal_data_is_unmasked_in_the_admin_only_with_view_pii_and_each_view_is_audited(book):
    customer = book["mine"]
    url = reverse("admin:customers_customer_change", args=[customer.pk])
    auditor = logged_in(staff("aud", "auditor"))
    masked = auditor.get(url).content.decode()
    assert customer.national_id not in masked
    assert not AuditEvent.objects.filter(action="customer.pii_view").exists()
    officer = logged_in(staff("co", "compliance_officer"))
    shown = officer.get(url).content.decode()
    assert customer.national_id in shown
    assert customer.date_of_birth in shown
    event = AuditEvent.objects.get(action="customer.pii_view")
    assert (event.actor, event.object_id) == ("user:co", str(customer.public_id))
    listing = officer.get(reverse("admin:customers_customer_changelist")).content.decode()
    assert customer.national_id not in listing  # lists stay masked


def test_the_command_assigns_and_clears_a_relationship_manager(book):
    from io import StringIO

    from django.core.management import CommandError, call_command

    theirs = book["theirs"]
    call_command("assign_relationship_manager", str(theirs.public_id), "rm2", stderr=StringIO())
    assert list(customers_for_staff(User.objects.get(username="rm2"))) == [theirs]
    with pytest.raises(CommandError, match="relationship manager role"):
        call_command("assign_relationship_manager", str(theirs.public_id), staff("t", "teller").username)
    call_command("assign_relationship_manager", str(theirs.public_id), "--none", stderr=StringIO())
    assert list(customers_for_staff(User.objects.get(username="rm2"))) == []
