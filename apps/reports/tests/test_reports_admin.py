"""Staff: the report jobs page, audited downloads for reports.download_report, and the actions
that ask for a management report without selecting rows."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User

from apps.audit.models import AuditEvent
from apps.common.principals import SYSTEM_ACTOR
from apps.reports.models import ReportJob
from apps.reports.services import report_generate, report_request


def staff_user(role: str) -> User:
    user = User.objects.create_user(username=f"reports-{role}", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def done_report(db) -> ReportJob:
    job = report_request(actor=SYSTEM_ACTOR, kind="payments_by_state", format="csv")
    report_generate(job_id=job.pk)
    job.refresh_from_db()
    return job


def test_operations_downloads_a_report_from_the_admin_and_the_download_is_audited(staff_client, done_report):
    client = staff_client(staff_user("operations"))
    page = client.get("/admin/reports/reportjob/")
    url = f"/admin/reports/reportjob/{done_report.public_id}/download/"
    assert page.status_code == 200
    assert url in page.content.decode()
    response = client.get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"status,currency,payments,total")
    event = AuditEvent.objects.get(action="export.report_download")
    assert event.actor == "user:reports-operations"
    assert event.object_id == str(done_report.public_id)


def test_a_teller_may_not_download_reports(staff_client, done_report):
    client = staff_client(staff_user("teller"))
    assert client.get(f"/admin/reports/reportjob/{done_report.public_id}/download/").status_code == 403
    assert not AuditEvent.objects.filter(action="export.report_download").exists()


def test_the_admin_action_requests_a_management_report_without_selected_rows(staff_client, db):
    client = staff_client(staff_user("auditor"))
    response = client.post(
        "/admin/reports/reportjob/", {"action": "request_balances_by_product_xlsx", "index": "0"}, follow=True
    )
    assert response.status_code == 200
    job = ReportJob.objects.get()
    assert (job.kind, job.format, job.requested_by) == ("balances_by_product", "xlsx", "user:reports-auditor")
