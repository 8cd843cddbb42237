"""Who reaches the portal: portal logins only; staff are refused; a portal session never reaches
/staff/ or /admin/; another customer's ids answer 404; corporate users see only granted accounts."""

from __future__ import annotations

import uuid

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client

from apps.common.roles import ADMINISTRATOR, roles_sync
from apps.portal.selectors import portal_accounts
from tests.support import portal_client, verified_staff_client

pytestmark = pytest.mark.django_db


def test_root_redirects_to_the_portal():
    response = Client().get("/")
    assert response.status_code == 302
    assert response["Location"] == "/portal/"


def test_anonymous_visitors_are_sent_to_the_portal_login():
    response = Client().get("/portal/profile/")
    assert response.status_code == 302
    assert response["Location"] == "/portal/login/?next=%2Fportal%2Fprofile%2F"


def test_staff_users_are_refused_and_cannot_log_in_to_the_portal():
    roles_sync()
    admin = User.objects.create_user("root-admin", password="Admin-pass-2026!", is_staff=True)
    admin.groups.add(Group.objects.get(name=ADMINISTRATOR))
    response = verified_staff_client(admin).get("/portal/")
    assert response.status_code == 403
    assert b"Online banking is for customers" in response.content
    login = Client().post("/portal/login/", {"username": "root-admin", "password": "Admin-pass-2026!"})
    assert login.status_code == 200
    assert "_auth_user_id" not in login.wsgi_request.session
    assert b"Please enter a correct username and password" in login.content


def test_a_portal_session_never_reaches_staff_or_admin_pages(alice):
    client = portal_client(alice.user)
    for path in ("/staff/", "/admin/", "/admin/customers/customer/"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"].startswith("/staff/login/"), path


def test_overview_lists_every_account_of_an_individual_with_balances(alice, bob):
    response = portal_client(alice.user).get("/portal/")
    assert response.status_code == 200
    html = response.content.decode()
    for account in alice.accounts:
        assert account.number in html
    assert bob.accounts[0].number not in html
    assert "869.51\u00a0CNY" in html  # 1000 - 120.50 - 9.99, grouped, two decimals
    assert "50.00\u00a0USD" in html


def test_corporate_users_see_only_accounts_their_rights_allow(company):
    first, second = company["accounts"]
    clerk = portal_client(company["clerk"]).get("/portal/").content.decode()
    assert first.number in clerk
    assert second.number not in clerk
    director = portal_client(company["director"]).get("/portal/").content.decode()
    assert first.number in director
    assert second.number in director
    # the account page of an account without a right answers as if it did not exist
    assert portal_client(company["clerk"]).get(f"/portal/accounts/{second.public_id}/").status_code == 404
    assert portal_client(company["director"]).get(f"/portal/accounts/{second.public_id}/").status_code == 200
    assert list(portal_accounts(company["clerk"], "initiate_payment")) == [first]
    assert list(portal_accounts(company["director"], "initiate_payment")) == []


@pytest.mark.parametrize(
    "path",
    [
        "/portal/accounts/{id}/",
        "/portal/accounts/{id}/history.csv",
        "/portal/accounts/{id}/statement/",
    ],
)
def test_another_customers_account_id_answers_404_everywhere(alice, bob, path):
    client = portal_client(alice.user)
    assert client.get(path.format(id=alice.accounts[0].public_id)).status_code in (200, 302)
    response = client.get(path.format(id=bob.accounts[0].public_id))
    assert response.status_code == 404
    assert bob.accounts[0].number.encode() not in response.content
    assert client.get(path.format(id=uuid.uuid4())).status_code == 404
    posted = client.post(
        f"/portal/accounts/{bob.accounts[0].public_id}/statement/", {"date_from": "2026-01-01", "date_to": "2026-01-31"}
    )
    assert posted.status_code == 404


def test_a_frozen_customer_sees_the_banner(alice):
    from django.utils import timezone

    from apps.common.controls import controls_forget
    from apps.common.models import EmergencyControl

    EmergencyControl.objects.create(
        kind="customer_frozen",
        customer_id=alice.customer.pk,
        active=True,
        reason="test",
        activated_by="test",
        activated_at=timezone.now(),
    )
    controls_forget()
    response = portal_client(alice.user).get("/portal/")
    assert b"Your accounts are frozen" in response.content
