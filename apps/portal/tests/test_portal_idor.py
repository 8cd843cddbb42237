"""IDOR: every id-bearing portal URL (found through the URL resolver, so new pages are covered
as they are added) answers 404 to a portal login when the id is another customer's - on GET and
on POST (405 only for a method the page never serves, whatever the id) - and nothing changes."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from apps.audit.models import AuditEvent
from apps.common.money import Money
from apps.common.principals import SYSTEM_ACTOR
from apps.customers.models import PortalUser
from apps.portal.services import portal_actor
from apps.reports.models import ReportJob
from apps.reports.services import report_request
from apps.support.services import feedback_submit
from apps.transactions.models import JournalEntry, PaymentInstruction
from apps.transactions.services_beneficiaries import beneficiary_as_payee, beneficiary_save
from apps.transactions.services_payments import payment_create
from tests.support import ledger_state, portal_client

pytestmark = pytest.mark.django_db


def portal_routes(patterns: Any = None, prefix: str = "") -> list[tuple[str, str]]:
    """(full route, name) of every /portal/ pattern that carries a path parameter."""
    found: list[tuple[str, str]] = []
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            found += portal_routes(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern) and (prefix + str(pattern.pattern)).startswith("portal/"):
            route = prefix + str(pattern.pattern)
            if "<" in route and "reset/<uidb64>" not in route:  # the reset link carries no customer id
                found.append((route, pattern.name or route))
    return found


@pytest.fixture
def bobs_ids(bob) -> dict[str, str]:
    """Values for every id parameter of the portal's routes, each one belonging to Bob. A new
    page with another parameter needs an entry here (the test says which)."""
    job = report_request(
        actor=portal_actor(PortalUser.objects.get(user=bob.user)),
        kind="statement",
        format="pdf",
        account_public_id=bob.accounts[0].public_id,
        start_date=bob.accounts[0].created_at.date(),
        end_date=bob.accounts[0].created_at.date(),
    )
    # The money pages (apps/portal/views_payments.py): Bob's payment, transfer, beneficiary and
    # corporate-style instruction; a confirmation token lives in Bob's session only.
    account = bob.accounts[0]
    payee = beneficiary_save(
        actor=SYSTEM_ACTOR, customer=bob.customer, name="Li Wei", account_number="6222020200112233",
        bank_code="ICBKCNBJ", country="CN",
    )  # fmt: skip
    payment = payment_create(
        actor=SYSTEM_ACTOR, from_account=account.public_id, money=Money(Decimal("1"), "CNY"),
        beneficiary=beneficiary_as_payee(payee),
    )  # fmt: skip
    entry = JournalEntry.objects.filter(postings__account=account).first()
    assert entry is not None
    instruction = PaymentInstruction.objects.create(
        kind="payment", account=account, amount=Decimal("1"), currency="CNY", initiated_by=bob.user
    )
    bob_portal = PortalUser.objects.get(user=bob.user)
    ticket = feedback_submit(actor=portal_actor(bob_portal), portal_user=bob_portal, subject="Hi", message="Bob's")
    return {
        "account_id": str(account.public_id),
        "report_id": str(job.public_id),
        "payment_id": str(payment.public_id),
        "transaction_id": str(entry.public_id),
        "beneficiary_id": str(payee.public_id),
        "instruction_id": str(instruction.public_id),
        "confirmation": "bobs-confirmation-token",
        "ticket_id": str(ticket.public_id),
    }


def test_every_id_bearing_portal_url_answers_404_with_another_customers_ids(alice, bob, bobs_ids):
    routes = portal_routes()
    assert len(routes) >= 5
    client = portal_client(alice.user)
    before = (ledger_state(), ReportJob.objects.count(), AuditEvent.objects.count())
    checked = []
    for route, name in routes:
        names = re.findall(r"<(?:\w+:)?(\w+)>", route)
        missing = [n for n in names if n not in bobs_ids]
        assert not missing, f"{name}: add a value of Bob's for {missing} in bobs_ids"
        path = "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: bobs_ids[m.group(1)], route)
        for method in ("get", "post"):
            response = getattr(client, method)(path, {"date_from": "2026-01-01", "date_to": "2026-01-31"})
            if response.status_code == 405:  # a method the page never serves, whoever's the id
                assert method.upper() not in response["Allow"]
                continue
            assert response.status_code == 404, f"{method.upper()} {path} ({name}): {response.status_code}"
            assert bob.accounts[0].number.encode() not in response.content
            checked.append(f"{method} {name}")
    assert (ledger_state(), ReportJob.objects.count(), AuditEvent.objects.count()) == before
    assert len(checked) >= len(routes)  # every route answered 404 at least once
