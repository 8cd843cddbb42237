"""Compliance cases and transaction reports in the back office."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from defusedxml.ElementTree import fromstring
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.audit.models import AuditEvent
from apps.compliance.aml import case_open
from apps.compliance.models import Case, CaseNote, CaseStatus, ReportRecord, ReportRule
from apps.staff.tests.queues_support import client_of, staff_user

pytestmark = pytest.mark.django_db
DAY = dt.date(2026, 3, 2)


def _case(customer, summary="Customer matches a watchlist") -> Case:
    return case_open(
        kind="screening_hit", summary=summary, subject_name="Ivan Petrov", customer_id=customer.pk, score=91
    )


def test_teller_gets_403_auditor_reads_but_cannot_act(make_customer):
    case = _case(make_customer())
    _t, teller = client_of("teller")
    assert teller.get("/staff/cases/").status_code == 403
    assert teller.get(f"/staff/cases/{case.public_id}/").status_code == 403
    assert teller.get("/staff/transaction-reports/").status_code == 403
    _a, auditor = client_of("auditor")
    detail = auditor.get(f"/staff/cases/{case.public_id}/")
    assert detail.status_code == 200
    assert "Close the case" not in detail.content.decode()
    assert auditor.post(f"/staff/cases/{case.public_id}/", {"op": "comment", "text": "x"}).status_code == 403
    assert CaseNote.objects.filter(case=case, action="comment").count() == 0


def test_list_filters_and_pages(make_customer):
    customer = make_customer()
    for n in range(27):
        _case(customer, summary=f"hit {n}")
    closed = _case(customer, summary="old one")
    Case.objects.filter(pk=closed.pk).update(status=CaseStatus.CLOSED)
    user, client = client_of("compliance_officer", "cora")
    Case.objects.filter(summary="hit 3").update(assignee=user, status=CaseStatus.ASSIGNED)
    listing = client.get("/staff/cases/")
    assert listing.context["page"].paginator.count == 28
    assert len(listing.context["page"].object_list) == 25
    assert [c.summary for c in client.get("/staff/cases/", {"status": "closed"}).context["page"]] == ["old one"]
    assert [c.summary for c in client.get("/staff/cases/", {"assignee": "me"}).context["page"]] == ["hit 3"]
    assert client.get("/staff/cases/", {"subject": "hit 2"}).context["page"].paginator.count == 1 + 7  # 2, 20-26


def test_note_attach_assign_escalate_and_close_with_a_disposition(make_customer):
    case = _case(make_customer())
    user, client = client_of("compliance_officer", "cora")
    url = f"/staff/cases/{case.public_id}/"
    empty = client.post(url, {"op": "comment", "text": ""})
    assert empty.status_code == 400
    assert "This field is required." in empty.content.decode()
    client.post(url, {"op": "comment", "text": "Date of birth differs from the listed person."})
    doc = SimpleUploadedFile("passport.pdf", b"%PDF-1.4 test", content_type="application/pdf")
    client.post(url, {"op": "attach", "attachment": doc, "description": "passport copy"})
    client.post(url, {"op": "assign_me"})
    client.post(url, {"op": "escalate", "reason": "second opinion"})
    case.refresh_from_db()
    assert (case.assignee, case.status) == (user, CaseStatus.ESCALATED)
    bad = client.post(url, {"op": "close", "disposition": "maybe", "reason": ""})
    assert bad.status_code == 400
    assert "Select a valid choice" in bad.content.decode()
    response = client.post(
        url, {"op": "close", "disposition": "false_positive", "reason": "different person"}, follow=True
    )
    assert "The case is closed: False positive." in [str(m) for m in response.context["messages"]]
    case.refresh_from_db()
    assert (case.status, case.disposition) == (CaseStatus.CLOSED, "false_positive")
    assert list(case.notes.values_list("action", flat=True)) == [
        "open",
        "comment",
        "attach",
        "assign",
        "escalate",
        "close",
    ]
    assert AuditEvent.objects.filter(action="case.close", object_id=str(case.public_id), actor="user:cora").exists()


def test_transaction_reports_list_and_audited_export(make_customer):
    customer = make_customer(name="Zhang Wei")
    rule = ReportRule.objects.filter(jurisdiction="PBOC-2016").order_by("pk").first()
    ReportRecord.objects.create(
        rule=rule, customer=customer, business_date=DAY, total=Decimal("60000"), currency="CNY", transaction_count=2,
        entries=["e1", "e2"],
    )  # fmt: skip
    _u, client = client_of("compliance_officer", "cora")
    listing = client.get("/staff/transaction-reports/", {"business_date": DAY.isoformat()})
    assert listing.context["page"].paginator.count == 1
    assert "Zhang Wei" in listing.content.decode()
    assert "60,000.00 CNY" in listing.content.decode()  # money per locale
    other_day = client.get("/staff/transaction-reports/", {"business_date": "2026-03-03"})
    assert other_day.context["page"].paginator.count == 0
    csv_file = client.get("/staff/transaction-reports/export/", {"business_date": DAY.isoformat(), "format": "csv"})
    assert csv_file.status_code == 200
    assert csv_file["Content-Type"].startswith("text/csv")
    assert "Zhang Wei" in csv_file.content.decode()
    assert "60000.00" in csv_file.content.decode()
    xml_file = client.get("/staff/transaction-reports/export/", {"business_date": DAY.isoformat(), "format": "xml"})
    assert fromstring(xml_file.content).find("Report/Total").text == "60000.00"
    assert AuditEvent.objects.filter(action="export.transaction_reports", actor="user:cora").count() == 2
    bad = client.get(
        "/staff/transaction-reports/export/", {"business_date": "not-a-date", "format": "pdf"}, follow=True
    )
    assert bad.status_code == 200
    assert any("valid date" in str(m) for m in bad.context["messages"])
    assert AuditEvent.objects.filter(action="export.transaction_reports").count() == 2


def test_assign_list_offers_only_compliance_staff(make_customer):
    case = _case(make_customer())
    staff_user("compliance_officer", "cleo")
    staff_user("teller", "tom")
    _u, client = client_of("compliance_officer", "cora")
    refused = client.post(f"/staff/cases/{case.public_id}/", {"op": "assign", "assignee": "tom"})
    assert refused.status_code == 400
    client.post(f"/staff/cases/{case.public_id}/", {"op": "assign", "assignee": "cleo"})
    case.refresh_from_db()
    assert case.assignee.username == "cleo"
