"""Assertions shared by the API tests."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

PROBLEM_FIELDS = {"type", "title", "status", "detail", "code"}


def assert_problem(response: Any, status: int, code: str) -> dict[str, Any]:
    """The response is an RFC 9457 problem with this status and stable code; returns its body."""
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"] == "application/problem+json"
    body = json.loads(response.content)
    assert set(body) >= PROBLEM_FIELDS
    assert body["status"] == status
    assert body["code"] == code
    for field in ("type", "title"):
        assert isinstance(body[field], str)
        assert body[field]
    assert isinstance(body["detail"], str)
    return body


def ledger_state() -> tuple[int, int, list[tuple[Any, ...]]]:
    """Everything a movement could change: entries, postings, every account's balances and status."""
    from apps.accounts.models import Account
    from apps.transactions.models import JournalEntry, Posting

    return (
        JournalEntry.objects.count(),
        Posting.objects.count(),
        sorted(Account.objects.values_list("pk", "balance", "available", "status")),
    )


def balance(account: Any) -> Decimal:
    """The account's balance as the database holds it now."""
    account.refresh_from_db()
    return Decimal(account.balance)


def verified_staff_client(user: Any) -> Any:
    """A browser session of a staff user (instance or username) who passed both factors.

    Every /staff/ and /admin/ page needs that; `Client.force_login` alone gives an unverified
    session, which is sent to the TOTP step. The user gets a confirmed TOTP device if needed."""
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    if isinstance(user, str):
        user = get_user_model().objects.get(username=user)
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="test", confirmed=True)
    client = Client()
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


def payment_body(account_id: str, amount: str = "1.00", reference: str = "test") -> dict[str, Any]:
    """A valid POST /api/v1/payments/ body (a domestic beneficiary the simulator settles)."""
    return {
        "from_account": account_id,
        "amount": amount,
        "currency": "CNY",
        "beneficiary": {
            "name": "Li Wei",
            "account_number": "6222020200112233",
            "bank_code": "ICBKCNBJ",
            "country": "CN",
        },
        "reference": reference,
    }


def portal_login_user(
    customer: Any,
    username: str,
    password: str = "Portal-pass-2026!",  # noqa: S107 - a test login
    email: str = "",
) -> Any:
    """A portal login (Django user + PortalUser) of this customer. An individual's login sees every
    account of the customer; a corporate login sees only the accounts granted to it
    (apps.accounts.services.mandate_grant)."""
    from django.contrib.auth import get_user_model

    from apps.common.principals import SYSTEM_ACTOR
    from apps.customers.services import portal_user_create

    user = get_user_model().objects.create_user(username=username, password=password, email=email)
    portal_user_create(actor=SYSTEM_ACTOR, customer=customer, user=user)
    return get_user_model().objects.get(pk=user.pk)


def portal_client(user: Any) -> Any:
    """A browser session of a portal user who passed every factor their customer asked for
    (what every guarded /portal/ page needs)."""
    from django.test import Client

    from apps.portal.auth import session_start

    client = Client()
    client.force_login(user)
    session = client.session
    request = type("SessionCarrier", (), {"session": session, "user": user})()
    session_start(request, otp_pending=False)  # type: ignore[arg-type]
    session.save()
    return client
