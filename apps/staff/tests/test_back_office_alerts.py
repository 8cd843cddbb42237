"""The risk alert queue: who sees it, filters and pages, assign, close, escalate to a case."""

from __future__ import annotations

from decimal import Decimal

import pytest

from apps.audit.models import AuditEvent
from apps.compliance.models import Case, CaseKind
from apps.risk.models import Alert, AlertStatus
from apps.staff.tests.queues_support import client_of, staff_user

pytestmark = pytest.mark.django_db


def _alert(customer, reason="velocity", outcome="review", **extra) -> Alert:
    return Alert.objects.create(
        customer=customer,
        outcome=outcome,
        reason=reason,
        kind="transfer",
        amount=Decimal("900.00"),
        currency="CNY",
        **extra,
    )


def test_teller_gets_403_risk_and_auditor_see_the_queue_read_only(make_customer):
    alert = _alert(make_customer())
    _teller, teller = client_of("teller")
    assert teller.get("/staff/alerts/").status_code == 403
    assert teller.get(f"/staff/alerts/{alert.public_id}/").status_code == 403
    _auditor, auditor = client_of("auditor")
    page = auditor.get("/staff/alerts/")
    assert page.status_code == 200
    assert "velocity" in page.content.decode()
    assert "Assign to me" not in page.content.decode()
    refused = auditor.post(f"/staff/alerts/{alert.public_id}/", {"op": "assign_me"})
    assert refused.status_code == 403
    alert.refresh_from_db()
    assert alert.status == AlertStatus.OPEN
    assert alert.assignee == ""


def test_filters_and_pagination(make_customer):
    customer = make_customer()
    for n in range(30):
        _alert(customer, reason=f"review-{n}")
    _alert(customer, reason="blocked-one", outcome="block")
    _alert(customer, reason="taken", assignee="someone-else", status=AlertStatus.ASSIGNED)
    _user, client = client_of("risk_officer")
    first = client.get("/staff/alerts/")
    assert first.context["page"].paginator.count == 32
    assert len(first.context["page"].object_list) == 25
    second = client.get("/staff/alerts/", {"page": 2})
    assert len(second.context["page"].object_list) == 7
    blocked = client.get("/staff/alerts/", {"severity": "block"})
    assert [a.reason for a in blocked.context["page"]] == ["blocked-one"]
    assigned = client.get("/staff/alerts/", {"status": "assigned", "assignee": "someone"})
    assert [a.reason for a in assigned.context["page"]] == ["taken"]
    bad = client.get("/staff/alerts/", {"status": "nonsense", "page": "x"})
    assert bad.status_code == 200  # a bad filter is shown as an error, not a 500
    assert bad.context["filters"].errors["status"]


def test_assign_to_me_then_to_a_colleague_then_close_as_false_positive(make_customer):
    alert = _alert(make_customer())
    _user, client = client_of("risk_officer", "rita")
    colleague = staff_user("risk_officer", "ravi")
    response = client.post("/staff/alerts/", {"alert": str(alert.public_id), "query": "status=open"}, follow=True)
    assert "assigned to you" in " ".join(str(m) for m in response.context["messages"])
    alert.refresh_from_db()
    assert (alert.status, alert.assignee) == (AlertStatus.ASSIGNED, "rita")
    client.post(f"/staff/alerts/{alert.public_id}/", {"op": "assign", "assignee": colleague.username})
    alert.refresh_from_db()
    assert alert.assignee == "ravi"
    nobody = client.post(f"/staff/alerts/{alert.public_id}/", {"op": "assign", "assignee": "not-a-user"})
    assert nobody.status_code == 400
    assert "Choose a risk officer" in nobody.content.decode()
    no_disposition = client.post(f"/staff/alerts/{alert.public_id}/", {"op": "close", "disposition": "", "note": ""})
    assert no_disposition.status_code == 400
    alert.refresh_from_db()
    assert alert.status == AlertStatus.ASSIGNED
    done = client.post(
        f"/staff/alerts/{alert.public_id}/",
        {"op": "close", "disposition": "false_positive", "note": "known payee"},
        follow=True,
    )
    assert "closed as False positive" in " ".join(str(m) for m in done.context["messages"])
    alert.refresh_from_db()
    assert (alert.status, alert.disposition, alert.closed_by) == ("closed", "false_positive", "user:rita")
    assert "known payee" in alert.notes
    assert AuditEvent.objects.filter(action="risk.alert_close", object_id=str(alert.public_id)).exists()
    again = client.post(f"/staff/alerts/{alert.public_id}/", {"op": "comment", "text": "late"})
    assert again.status_code == 400
    assert "This alert is closed." in again.content.decode()


def test_escalate_opens_a_compliance_case_and_closes_the_alert(make_customer):
    customer = make_customer()
    alert = _alert(customer, reason="structuring")
    _user, client = client_of("risk_officer", "rita")
    empty = client.post(f"/staff/alerts/{alert.public_id}/", {"op": "escalate", "note": "  "})
    assert empty.status_code == 400
    assert Case.objects.count() == 0
    client.post(f"/staff/alerts/{alert.public_id}/", {"op": "escalate", "note": "three just under 50k"})
    alert.refresh_from_db()
    case = Case.objects.get()
    assert (alert.status, alert.disposition) == ("closed", "escalated")
    assert case.kind == CaseKind.SUSPICIOUS
    assert case.customer == customer
    assert case.detail["alert"] == str(alert.public_id)
    assert str(case.public_id) in alert.notes


def test_unknown_alert_is_404_not_500():
    _user, client = client_of("risk_officer")
    assert client.get("/staff/alerts/00000000-0000-0000-0000-000000000000/").status_code == 404
    assert client.post("/staff/alerts/", {"alert": "junk"}).status_code == 404
