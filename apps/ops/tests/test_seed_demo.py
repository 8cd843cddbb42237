"""seed_demo loads a consistent demo bank through the services, once; demo_logins shows how to get in."""

from __future__ import annotations

from io import StringIO

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.core.management.base import CommandError
from stdnum.cn import ric, uscc

from apps.accounts.models import Account
from apps.audit.models import AuditEvent
from apps.customers.models import Customer
from apps.support.faq_defaults import DEFAULT_FAQ
from apps.support.models import FaqEntry
from apps.transactions.models import EntryKind, JournalEntry, Posting

SMALL = ["--customers", "8", "--transactions", "60"]
ROLES = {
    "teller",
    "operations",
    "relationship_manager",
    "risk_officer",
    "compliance_officer",
    "auditor",
    "administrator",
}


def _counts() -> dict[str, int]:
    return {
        "users": User.objects.count(),
        "groups": Group.objects.count(),
        "customers": Customer.objects.count(),
        "accounts": Account.objects.count(),
        "entries": JournalEntry.objects.count(),
        "postings": Posting.objects.count(),
        "audit": AuditEvent.objects.count(),
    }


def _seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_seed_demo_loads_a_consistent_bank_and_a_second_run_changes_nothing() -> None:
    internal_accounts = Account.objects.filter(is_internal=True).count()
    output = _seed(*SMALL)
    assert "Demo bank loaded" in output

    assert set(Group.objects.values_list("name", flat=True)) >= ROLES
    staff = {u.username: u for u in User.objects.filter(is_staff=True)}
    assert set(staff) >= {"teller", "operations", "relationship_manager", "risk_officer", "compliance_officer"}
    assert staff["admin"].is_superuser
    assert not staff["teller"].is_superuser
    assert staff["teller"].check_password(settings.DEMO_PASSWORD)
    assert staff["teller"].has_perm("accounts.view_account")
    assert not staff["teller"].has_perm("accounts.change_account")
    assert staff["compliance_officer"].has_perm("customers.change_customer")

    customers = list(Customer.objects.all())
    assert len(customers) == 8
    assert sum(c.kyc_status == "verified" for c in customers) >= 7
    for customer in customers:
        if customer.country == "CN" and customer.kind == "individual":
            assert ric.is_valid(customer.national_id)
            assert ric.get_birth_date(customer.national_id).isoformat() == customer.date_of_birth
        elif customer.kind == "corporate":
            assert uscc.is_valid(customer.national_id)
    assert any(c.kind == "corporate" for c in customers)

    accounts = Account.objects.filter(is_internal=False)
    assert 10 <= accounts.count() <= 16
    assert set(accounts.values_list("currency", flat=True)) <= {"CNY", "USD"}
    assert all(a.balance >= 0 and a.available >= 0 for a in accounts)

    entries = JournalEntry.objects.all()
    assert entries.count() == 60
    assert {EntryKind.DEPOSIT, EntryKind.TRANSFER} <= set(entries.values_list("kind", flat=True))
    # Booked in time order over the last 90 days: id order is time order, so history pages and
    # point-in-time balances agree.
    times = list(entries.order_by("id").values_list("created_at", flat=True))
    assert times == sorted(times)
    assert (times[-1] - times[0]).days >= 60
    assert not Posting.objects.filter(account__is_internal=False, balance_after__lt=0).exists()

    call_command("check_ledger", stdout=StringIO())  # raises CommandError when anything is off
    assert FaqEntry.objects.filter(published=True).count() == len(DEFAULT_FAQ)  # the help assistant's FAQ

    before = _counts()
    again = _seed(*SMALL)
    assert "already loaded" in again
    assert _counts() == before
    assert Account.objects.filter(is_internal=True).count() == internal_accounts
    # a bank seeded before the FAQ existed (here: one entry missing) gets only what is missing
    FaqEntry.objects.filter(slug="contact").delete()
    assert "only the 1 missing FAQ entries were added" in _seed(*SMALL)
    assert FaqEntry.objects.count() == len(DEFAULT_FAQ)


@pytest.mark.django_db
def test_seed_demo_refuses_without_a_demo_password(settings) -> None:  # type: ignore[no-untyped-def]
    settings.DEMO_PASSWORD = ""
    with pytest.raises(CommandError, match="DEMO_PASSWORD"):
        _seed(*SMALL)
    assert not Customer.objects.exists()


@pytest.mark.django_db
def test_demo_logins_prints_the_urls_and_every_staff_login() -> None:
    _seed("--customers", "3", "--transactions", "5")
    out = StringIO()
    call_command("demo_logins", "--host", "127.0.0.1", "--port", "8123", stdout=out)
    text = out.getvalue()
    for url in ("/staff/login/", "/admin/", "/api/v1/docs/", "/healthz"):
        assert f"http://127.0.0.1:8123{url}" in text
    assert settings.DEMO_PASSWORD in text
    for username in ("admin", "teller", "auditor"):
        assert username in text
    assert "create_api_client" in text
    assert "QR code" in text  # how the first login enrols the second factor


@pytest.mark.django_db
def test_a_seeded_staff_user_logs_in_with_the_demo_password_and_enrols_a_second_factor() -> None:
    import re
    import time

    from django.test import Client
    from django_otp.oath import TOTP
    from django_otp.plugins.otp_totp.models import TOTPDevice

    _seed("--customers", "3", "--transactions", "5")
    client = Client()
    response = client.post("/staff/login/", {"username": "operations", "password": settings.DEMO_PASSWORD})
    assert response.status_code == 302
    page = client.get(response.url).content.decode()
    assert re.search(r'src="data:image/svg\+xml;base64,', page)  # enrolment on first login
    device = TOTPDevice.objects.get(user__username="operations")
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time()
    assert client.post("/staff/otp/", {"otp_token": f"{totp.token():06d}"}).url == "/staff/"
    assert client.get("/staff/").status_code == 200
    assert client.get("/admin/accounts/account/").status_code == 200


@pytest.mark.django_db
def test_seed_makes_portal_logins_that_see_their_customers_accounts() -> None:
    from django.test import Client
    from guardian.shortcuts import get_perms

    from apps.customers.models import PortalUser

    _seed("--customers", "20", "--transactions", "30")
    logins = {p.user.username: p for p in PortalUser.objects.select_related("user", "customer")}
    assert set(logins) == {"customer", "clerk", "director"}
    assert logins["customer"].customer.kind == "individual"
    company = logins["clerk"].customer
    assert company.kind == "corporate"
    assert logins["director"].customer == company
    account = Account.objects.filter(customer=company).first()
    assert account is not None
    assert "approve_payment" in get_perms(logins["director"].user, account)
    assert "approve_payment" not in get_perms(logins["clerk"].user, account)
    assert "initiate_payment" in get_perms(logins["clerk"].user, account)

    browser = Client()
    browser.post("/portal/login/", {"username": "customer", "password": settings.DEMO_PASSWORD})
    overview = browser.get("/portal/")
    assert overview.status_code == 200
    for own in Account.objects.filter(customer=logins["customer"].customer):
        assert own.number in overview.content.decode()
