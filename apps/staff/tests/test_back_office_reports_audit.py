"""The reports centre (request, progress partial, audited download) and the audit log viewer."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from apps.audit.models import AuditEvent
from apps.audit.services import audit_record
from apps.reports.models import ReportJob, ReportStatus
from apps.staff.tests.queues_support import client_of

pytestmark = pytest.mark.django_db


def _messages(response) -> str:
    return " ".join(str(m) for m in response.context["messages"])


def test_request_a_management_report_watch_it_and_download_it(django_capture_on_commit_callbacks):
    _u, client = client_of("operations", "otto")
    with django_capture_on_commit_callbacks(execute=True):  # the worker runs eagerly after commit
        response = client.post("/staff/reports/", {"kind": "balances_by_product", "format": "csv"}, follow=True)
    assert "is queued" in _messages(response)
    job = ReportJob.objects.get()
    assert (job.requested_by, job.status) == ("user:otto", ReportStatus.DONE)
    partial = client.get(f"/staff/reports/{job.public_id}/progress/")
    assert partial.status_code == 200
    assert "hx-get" not in partial.content.decode()  # done: polling stops
    assert f"/staff/reports/{job.public_id}/download/" in partial.content.decode()
    download = client.get(f"/staff/reports/{job.public_id}/download/")
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith("attachment")
    assert b"".join(download.streaming_content).startswith(b"product")
    assert AuditEvent.objects.filter(action="export.report_download", object_id=str(job.public_id)).count() == 1


def test_a_queued_report_polls_itself():
    _u, client = client_of("operations", "otto")
    job = ReportJob.objects.create(kind="payments_by_state", format="xlsx", requested_by="user:otto", progress=40)
    partial = client.get(f"/staff/reports/{job.public_id}/progress/").content.decode()
    assert 'hx-trigger="every 2s"' in partial
    assert 'value="40"' in partial
    refused = client.get(f"/staff/reports/{job.public_id}/download/", follow=True)
    assert "not been generated yet" in _messages(refused)


def test_bad_requests_are_form_errors_and_queue_nothing(make_account):
    account = make_account()
    _u, client = client_of("operations", "otto")
    future = (timezone.now() + dt.timedelta(days=3)).date().isoformat()
    cases = [
        ({"kind": "statement", "format": "pdf", "account": "NOPE", "start_date": "2026-01-01", "end_date": "2026-01-02"},
         "No customer account has this number."),
        ({"kind": "statement", "format": "xlsx", "account": account.number, "start_date": "2026-01-01", "end_date": "2026-01-02"},
         "A statement is made as pdf, csv or camt053."),
        ({"kind": "statement", "format": "pdf", "account": account.number, "start_date": "2026-01-01", "end_date": future},
         "The period may not end in the future."),
        ({"kind": "daily_volumes", "format": "csv"}, "This field is required."),
        ({"kind": "nonsense", "format": "csv"}, "Select a valid choice"),
    ]  # fmt: skip
    for body, message in cases:
        response = client.post("/staff/reports/", body)
        assert response.status_code == 400, body
        assert message in response.content.decode(), body
    assert not ReportJob.objects.exists()


def test_permissions_of_the_reports_centre():
    job = ReportJob.objects.create(kind="payments_by_state", format="xlsx", requested_by="user:x", status="done")
    _t, teller = client_of("teller")
    assert teller.get("/staff/reports/").status_code == 403
    _r, risk = client_of("risk_officer")
    assert risk.get(f"/staff/reports/{job.public_id}/download/").status_code == 403
    _a, auditor = client_of("auditor")
    assert auditor.get("/staff/reports/").status_code == 200


def test_audit_log_filters_pages_and_chain_state():
    for n in range(60):
        audit_record(actor="user:alice" if n % 2 else "user:bob", action="case.comment", object_id=f"c{n}")
    audit_record(actor="user:bob", action="risk.alert_close", object_id="a1")
    _u, auditor = client_of("auditor", "audra")
    page = auditor.get("/staff/audit/")
    assert page.status_code == 200
    assert page.context["page"].paginator.count == AuditEvent.objects.count()
    assert len(page.context["page"].object_list) == 50
    assert "have not been verified yet" in page.content.decode()
    alice = auditor.get("/staff/audit/", {"actor": "alice", "kind": "case."})
    assert alice.context["page"].paginator.count == 30
    risk = auditor.get("/staff/audit/", {"kind": "risk."})
    assert [e.object_id for e in risk.context["page"]] == ["a1"]
    today = timezone.localdate()
    yesterday = auditor.get("/staff/audit/", {"until": (today - dt.timedelta(days=1)).isoformat()})
    assert yesterday.context["page"].paginator.count == 0
    backwards = auditor.get("/staff/audit/", {"since": today.isoformat(), "until": "2020-01-01"})
    assert "The period starts after it ends." in backwards.content.decode()
    verified = auditor.post("/staff/audit/", follow=True)
    assert "The audit chains verify" in _messages(verified)
    assert "Last verified" in verified.content.decode()
    assert AuditEvent.objects.filter(action="audit.verify", actor="user:audra").exists()


def test_audit_log_permissions():
    _t, teller = client_of("teller")
    assert teller.get("/staff/audit/").status_code == 403
    _c, compliance = client_of("compliance_officer")
    assert compliance.get("/staff/audit/").status_code == 200
    assert compliance.post("/staff/audit/").status_code == 403  # seeing is not verifying
    assert not AuditEvent.objects.filter(action="audit.verify").exists()


def test_pages_speak_chinese_when_asked():
    _u, auditor = client_of("auditor", "audra")
    page = auditor.get("/staff/audit/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "审计日志" in page
    assert "审计链尚未校验。" in page
    reports = auditor.get("/staff/reports/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "报告中心" in reports
