"""Profile (masked personal data; contact changes confirmed by a code sent to the new address or
number) and notifications (what the outbox sent the customer by e-mail and SMS)."""

from __future__ import annotations

import re

import pytest
from django.core import mail

from apps.audit.models import AuditEvent
from apps.customers.models import Customer
from apps.integrations.channels import ConsoleSmsProvider
from apps.integrations.services import deliveries_send_due, outbox_emit, outbox_relay
from apps.portal.models import ContactChange
from tests.support import portal_client

pytestmark = pytest.mark.django_db


def code_in(text: str) -> str:
    found = re.search(r"\b(\d{6})\b", text)
    assert found, text
    return found.group(1)


def test_profile_shows_personal_data_masked(alice):
    customer = Customer.objects.get(pk=alice.customer.pk)
    customer.phone = "13912345678"
    customer.address = "1 Secret Road"
    customer.save()
    html = portal_client(alice.user).get("/portal/profile/").content.decode()
    assert customer.national_id not in html
    assert customer.national_id[:4] + "*" * (len(customer.national_id) - 8) + customer.national_id[-4:] in html
    assert "13912345678" not in html
    assert "139****5678" in html
    assert "1 Secret Road" not in html
    assert customer.date_of_birth not in html
    assert customer.date_of_birth[:4] in html


def test_changing_the_email_needs_the_code_sent_to_the_new_address(alice):
    client = portal_client(alice.user)
    response = client.post("/portal/profile/contact/", {"field": "email", "value": "alice.new@example.com"})
    assert response["Location"] == "/portal/profile/#verify"
    assert mail.outbox[-1].to == ["alice.new@example.com"]
    code = code_in(mail.outbox[-1].body)
    alice.user.refresh_from_db()
    assert alice.user.email == "alice@example.com"  # nothing changed yet
    wrong = client.post("/portal/profile/contact/confirm/", {"code": "000000" if code != "000000" else "111111"})
    assert wrong.status_code == 400
    assert b"That code is not right" in wrong.content
    right = client.post("/portal/profile/contact/confirm/", {"code": code})
    assert right["Location"] == "/portal/profile/"
    alice.user.refresh_from_db()
    assert alice.user.email == "alice.new@example.com"
    assert Customer.objects.get(pk=alice.customer.pk).email == "alice.new@example.com"
    assert AuditEvent.objects.filter(action="customer.contact_change").exists()
    # the code works once
    again = client.post("/portal/profile/contact/confirm/", {"code": code})
    assert again.status_code == 400


def test_changing_the_phone_sends_an_sms_and_too_many_wrong_codes_cancel(alice):
    client = portal_client(alice.user)
    client.post("/portal/profile/contact/", {"field": "phone", "value": "+86 139 0000 1111"})
    to, text = ConsoleSmsProvider.sent[-1]
    assert to == "+8613900001111"
    code = code_in(text)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        client.post("/portal/profile/contact/confirm/", {"code": wrong})
    assert ContactChange.objects.get().cancelled
    response = client.post("/portal/profile/contact/confirm/", {"code": code})
    assert response.status_code == 400
    assert Customer.objects.get(pk=alice.customer.pk).phone != "+8613900001111"


def test_an_expired_code_does_not_apply(alice):
    import datetime as dt

    from django.utils import timezone

    client = portal_client(alice.user)
    client.post("/portal/profile/contact/", {"field": "email", "value": "late@example.com"})
    code = code_in(mail.outbox[-1].body)
    ContactChange.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    response = client.post("/portal/profile/contact/confirm/", {"code": code})
    assert b"The code has expired" in response.content
    alice.user.refresh_from_db()
    assert alice.user.email == "alice@example.com"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"field": "email", "value": "not-an-address"}, "Enter a valid e-mail address."),
        ({"field": "phone", "value": "call me"}, "Enter a phone number of 6 to 15 digits"),
        ({"field": "fax", "value": "123456"}, "Select a valid choice."),
        ({"field": "email", "value": ""}, "This field is required."),
        ({"field": "email", "value": "alice@example.com"}, "That is already your contact detail."),
    ],
)
def test_bad_contact_details_are_refused_with_a_message(alice, data, message):
    response = portal_client(alice.user).post("/portal/profile/contact/", data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not ContactChange.objects.exists()
    assert mail.outbox == []


def test_a_corporate_user_may_not_change_the_company_phone(company):
    response = portal_client(company["clerk"]).post(
        "/portal/profile/contact/", {"field": "phone", "value": "+6561234567"}
    )
    assert response.status_code == 400
    assert b"changed by the bank" in response.content


def test_notifications_list_what_the_outbox_sent_the_customer(alice, bob):
    outbox_emit(
        kind="transaction.large",
        payload={},
        customer_id=alice.customer.pk,
        notify_email="alice@example.com",
        message="A payment of 60000.00 CNY was made from your account ****1234.",
    )
    outbox_emit(
        kind="transaction.large", payload={}, customer_id=bob.customer.pk, notify_email="b@x.example", message="Bob's"
    )
    outbox_emit(kind="payment.status_changed", payload={}, customer_id=alice.customer.pk)  # webhook only
    outbox_relay()
    deliveries_send_due()
    html = portal_client(alice.user).get("/portal/notifications/").content.decode()
    assert "A payment of 60000.00 CNY was made" in html
    assert "E-mail: Delivered" in html
    assert "Bob&#x27;s" not in html
    assert "Bob's" not in html
    assert "payment.status_changed" not in html
