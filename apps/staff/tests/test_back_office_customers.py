"""Customers in the back office: search through the blind index, a relationship manager's 404 for
customers not theirs, the audited reveal, and the onboarding wizard (bad input registers nothing;
a watchlist match keeps KYC pending and opens a case)."""

from __future__ import annotations

import datetime as dt

import pytest

from apps.audit.models import AuditEvent
from apps.common.principals import SYSTEM_ACTOR
from apps.common.roles import COMPLIANCE_OFFICER, RELATIONSHIP_MANAGER, TELLER
from apps.compliance.aml import watchlist_import
from apps.compliance.models import Case
from apps.customers.identity import china_resident_id_for, mask_identifier
from apps.customers.models import Customer
from apps.customers.services import customer_assign_relationship_manager
from apps.staff.tests.support_backoffice import client_of, page_messages

pytestmark = pytest.mark.django_db

BORN = dt.date(1990, 5, 17)
DETAILS = {
    "kind": "individual",
    "full_name": "Wang Fang",
    "country": "CN",
    "national_id": china_resident_id_for(BORN, 42),
    "date_of_birth": BORN.isoformat(),
    "email": "wang.fang@example.com",
    "phone": "+8613800138000",
    "address": "1 Nanjing Road, Shanghai",
}


def test_search_by_name_and_by_exact_national_id(make_customer):
    _u, client = client_of(TELLER)
    wanted = make_customer(name="Zhao Lei")
    make_customer(name="Someone Else")
    by_name = client.get("/staff/customers/", {"q": "zhao"})
    assert [row["customer"].pk for row in by_name.context["rows"]] == [wanted.pk]
    by_id = client.get("/staff/customers/", {"q": wanted.national_id})
    assert [row["customer"].pk for row in by_id.context["rows"]] == [wanted.pk]
    assert f"<td>{mask_identifier(wanted.national_id)}</td>" in by_id.content.decode()  # the list masks it
    by_public_id = client.get("/staff/customers/", {"q": str(wanted.public_id)})
    assert [row["customer"].pk for row in by_public_id.context["rows"]] == [wanted.pk]


def test_the_list_is_paginated_and_filtered(make_customer):
    _u, client = client_of(TELLER)
    for _n in range(27):
        make_customer()
    make_customer(verified=False)
    first = client.get("/staff/customers/")
    assert len(first.context["rows"]) == 25
    assert first.context["page"].paginator.num_pages == 2
    pending = client.get("/staff/customers/", {"kyc": "pending"})
    assert [row["customer"].kyc_status for row in pending.context["rows"]] == ["pending"]
    assert client.get("/staff/customers/", {"kyc": "nonsense"}).status_code == 200  # bad filter: no 500


def test_a_relationship_manager_sees_their_customers_only(make_customer):
    manager, client = client_of(RELATIONSHIP_MANAGER)
    mine, other = make_customer(), make_customer()
    customer_assign_relationship_manager(actor=SYSTEM_ACTOR, customer=mine, manager=manager)
    assert client.get(f"/staff/customers/{mine.public_id}/").status_code == 200
    assert client.get(f"/staff/customers/{other.public_id}/").status_code == 404
    listed = client.get("/staff/customers/")
    assert [row["customer"].pk for row in listed.context["rows"]] == [mine.pk]


def test_personal_data_is_masked_and_the_reveal_is_audited(make_customer):
    customer = make_customer()
    _t, teller = client_of(TELLER)
    page = teller.get(f"/staff/customers/{customer.public_id}/").content.decode()
    assert customer.national_id not in page
    assert customer.national_id[-4:] in page
    assert teller.post(f"/staff/customers/{customer.public_id}/reveal/").status_code == 403  # no view_pii
    officer, compliance = client_of(COMPLIANCE_OFFICER)
    revealed = compliance.post(f"/staff/customers/{customer.public_id}/reveal/")
    assert revealed.status_code == 200
    assert customer.national_id in revealed.content.decode()
    event = AuditEvent.objects.get(action="customer.pii_view", object_id=str(customer.public_id))
    assert event.actor == f"user:{officer.username}"
    assert compliance.get(f"/staff/customers/{customer.public_id}/reveal/").status_code == 405


def test_onboarding_with_bad_details_registers_nothing():
    _u, client = client_of(TELLER)
    bad = client.post("/staff/customers/new/", {**DETAILS, "date_of_birth": "", "country": "C"})
    assert bad.status_code == 200
    assert set(bad.context["form"].errors) >= {"date_of_birth", "country"}
    assert Customer.objects.count() == 0
    # a national id the service refuses: back to step 1 with its message, nothing stored
    client.post("/staff/customers/new/", {**DETAILS, "national_id": "110105199005170000"})
    submitted = client.post("/staff/customers/new/review/", {}, follow=True)
    assert Customer.objects.count() == 0
    assert "national_id" in submitted.context["form"].errors


def test_onboarding_wizard_registers_screens_and_verifies_kyc():
    _u, client = client_of(TELLER)
    step1 = client.post("/staff/customers/new/", DETAILS)
    assert step1["Location"] == "/staff/customers/new/review/"
    review = client.get("/staff/customers/new/review/")
    assert review.context["hits"] == []
    assert review.context["may_verify"]
    done = client.post("/staff/customers/new/review/", {"verify_kyc": "on"}, follow=True)
    customer = Customer.objects.get()
    assert (customer.full_name, customer.kyc_status) == ("Wang Fang", "verified")
    assert customer.national_id == DETAILS["national_id"]
    assert any("no match" in m for m in page_messages(done))
    assert client.get("/staff/customers/new/review/")["Location"] == "/staff/customers/new/"  # the wizard ended


def test_a_watchlist_match_keeps_kyc_pending_and_opens_a_case():
    data = b"name,aliases,country,birth_date,list_id\nWang Fang,,CN,,W-1\n"
    watchlist_import(actor=SYSTEM_ACTOR, name="test-list", source_format="csv", data=data)
    _u, client = client_of(TELLER)
    client.post("/staff/customers/new/", DETAILS)
    review = client.get("/staff/customers/new/review/")
    assert review.context["hits"]
    assert not review.context["may_verify"]
    client.post("/staff/customers/new/review/", {"verify_kyc": "on"})
    customer = Customer.objects.get()
    assert customer.kyc_status == "pending"
    assert Case.objects.filter(customer=customer).exists()  # the screening service opened it
    refused = client.post(f"/staff/customers/{customer.public_id}/kyc/", {"decision": "verified"}, follow=True)
    assert any("watchlist" in m for m in page_messages(refused))
    customer.refresh_from_db()
    assert customer.kyc_status == "pending"


def test_kyc_decision_needs_the_permission(make_customer):
    customer = make_customer(verified=False)
    _m, rm = client_of(RELATIONSHIP_MANAGER)
    assert rm.post(f"/staff/customers/{customer.public_id}/kyc/", {"decision": "verified"}).status_code == 403
    _c, compliance = client_of(COMPLIANCE_OFFICER)
    compliance.post(f"/staff/customers/{customer.public_id}/kyc/", {"decision": "maybe"})
    customer.refresh_from_db()
    assert customer.kyc_status == "pending"
    compliance.post(f"/staff/customers/{customer.public_id}/kyc/", {"decision": "rejected", "note": "fake id"})
    customer.refresh_from_db()
    assert customer.kyc_status == "rejected"
