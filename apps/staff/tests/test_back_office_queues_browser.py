"""The back-office queues in a real browser: a compliance officer uploads a watchlist, a second
one approves it and the entries appear; a risk officer works the alert queue and opens the rules
editor; the alert queue, rules editor, audit viewer and reports centre at 1280 px pass axe-core."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from apps.audit.services import audit_record
from apps.common.roles import AUDITOR, COMPLIANCE_OFFICER, RISK_OFFICER, roles_sync
from apps.compliance.models import WatchlistEntry
from apps.reports.models import ReportJob
from apps.risk.models import Alert, Rule
from tests.browser import LAPTOP, assert_accessible, save_screenshot, staff_browser_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "Back-office-2026!"
SAMPLE = Path(__file__).resolve().parents[2] / "compliance" / "tests" / "data" / "internal.csv"


@pytest.fixture
def staff() -> Any:
    roles_sync()

    def make(username: str, role: str) -> Any:
        user = get_user_model().objects.create_user(username, password=PASSWORD, is_staff=True)
        user.groups.add(Group.objects.get(name=role))
        return user

    return make


def test_a_watchlist_upload_is_imported_once_a_second_officer_approves(open_page: Any, staff: Any) -> None:
    maker, checker = staff("mia", COMPLIANCE_OFFICER), staff("chen", COMPLIANCE_OFFICER)
    page = open_page(viewport=LAPTOP)
    staff_browser_login(page, maker, PASSWORD, "/staff/watchlists/")
    page.fill("input[name=name]", "internal")
    page.select_option("select[name=source_format]", "csv")
    page.set_input_files("input[name=list_file]", str(SAMPLE))
    page.click("form[enctype='multipart/form-data'] button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "waits for a second officer" in page.inner_text(".messages")
    assert page.locator("text=Approve and import").count() == 1  # shown, but the service refuses the maker
    assert not WatchlistEntry.objects.exists()

    second = open_page(viewport=LAPTOP)
    staff_browser_login(second, checker, PASSWORD, "/staff/watchlists/")
    second.click("text=Approve and import")
    second.wait_for_load_state("networkidle")
    assert "Approved" in second.inner_text(".messages")
    lists = second.locator("table.list").first.inner_text()
    assert "internal" in lists
    assert "3" in lists
    assert WatchlistEntry.objects.count() == 3
    save_screenshot(second, "staff-watchlists")
    assert_accessible(second)


def test_risk_auditor_pages_at_laptop_width(open_page: Any, staff: Any, make_customer: Any) -> None:
    customer = make_customer(name="Wang Fang")
    for n in range(3):
        Alert.objects.create(
            customer=customer, outcome="review" if n else "block", reason=f"velocity rule {n}", kind="transfer",
            amount=Decimal("48000.00"), currency="CNY",
        )  # fmt: skip
    Rule.objects.get_or_create(  # the shipped default, unless the database still holds it
        code="velocity-20-in-10", version=1,
        defaults={"kind": "velocity", "parameters": {"count": 20, "minutes": 10}, "action": "review", "status": "active"},
    )  # fmt: skip
    risk = staff("rita", RISK_OFFICER)
    page = open_page(viewport=LAPTOP)
    staff_browser_login(page, risk, PASSWORD, "/staff/alerts/")
    assert page.locator("table.list tbody tr").count() == 3
    page.locator("button:has-text('Assign to me')").first.click()
    page.wait_for_load_state("networkidle")
    assert "assigned to you" in page.inner_text(".messages")
    save_screenshot(page, "staff-alerts-queue")
    assert_accessible(page)

    page.goto("/staff/risk/rules/?edit=velocity-20-in-10")
    assert "velocity-20-in-10" in page.locator("table.list").nth(1).inner_text()
    assert '"count": 20' in page.input_value("textarea[name=parameters]")
    save_screenshot(page, "staff-rules-editor")
    assert_accessible(page)

    for n in range(5):
        audit_record(actor="user:rita", action="risk.alert_assign", object_type="alert", object_id=f"a{n}")
    job = ReportJob.objects.create(kind="balances_by_product", format="xlsx", requested_by="user:audra", progress=60)
    auditor = staff("audra", AUDITOR)
    audit_page = open_page(viewport=LAPTOP)
    staff_browser_login(audit_page, auditor, PASSWORD, "/staff/audit/")
    audit_page.click("text=Verify now")
    audit_page.wait_for_load_state("networkidle")
    assert "The audit chains verify" in audit_page.inner_text(".messages")
    save_screenshot(audit_page, "staff-audit-log")
    assert_accessible(audit_page)

    audit_page.goto("/staff/reports/")
    audit_page.wait_for_selector("progress")
    save_screenshot(audit_page, "staff-reports-centre")
    assert_accessible(audit_page)
    # The worker finishes: the polled partial (htmx) turns into a download link without a reload.
    ReportJob.objects.filter(pk=job.pk).update(status="done", progress=100, rows=4, size=2048)
    audit_page.wait_for_selector(f"a[href$='/staff/reports/{job.public_id}/download/']", timeout=10_000)
    assert audit_page.locator("progress").count() == 0
