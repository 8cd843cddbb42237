"""The monthly risk report (PDF and XLSX), generated through report jobs like every report: its
sections hold the month's exposures, limit breaches, alerts with their outcomes, FX positions
against limits and the riskiest customers; beat asks for last month's once per format."""

from __future__ import annotations

import datetime as dt
import io
import re
from decimal import Decimal

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone
from openpyxl import load_workbook

from apps.common.errors import PermissionDenied, ValidationFailed
from apps.common.money import Money
from apps.common.principals import SYSTEM_ACTOR, Actor, Channel
from apps.compliance.services import approval_approve, fx_rate_request
from apps.reports.models import ReportJob, ReportStatus
from apps.reports.services import report_generate, report_request, risk_report_monthly
from apps.risk.models import Alert, AlertCategory, RiskProfile
from apps.risk.services import alert_close
from apps.risk.services_credit import facility_request
from apps.risk.services_market import fx_limit_set
from apps.transactions.services import transfer_create
from apps.treasury.models import FxDeal
from apps.treasury.services import fx_transfer_create

MAKER = Actor(label="user:maker", channel=Channel.BRANCH)
CHECKER = Actor(label="user:checker", channel=Channel.BRANCH)


@pytest.fixture
def month(make_customer, make_account):
    """A month of risk: one overdraft drawn, one limit breach, two rule alerts (one closed), an
    FX deal that puts USD over its limit, and two scored customers."""
    alice = make_customer(name="王小明")
    account, sink = make_account(customer=alice), make_account()
    facility = facility_request(actor=MAKER, account=account, limit=Money(Decimal(800), "CNY"), rate=Decimal(10))
    approval_approve(actor=CHECKER, approval=facility.approval)
    transfer_create(
        actor=SYSTEM_ACTOR,
        from_account=account.public_id,
        to_account=sink.public_id,
        money=Money(Decimal("250.50"), "CNY"),
    )
    Alert.objects.create(
        category=AlertCategory.LIMIT, customer=alice, outcome="block", reason="refused: limit daily", kind="transfer",
        amount=Decimal(90000), currency="CNY",
    )  # fmt: skip
    Alert.objects.create(customer=alice, outcome="review", reason="velocity", kind="transfer")
    closed = Alert.objects.create(customer=alice, outcome="review", reason="structuring", kind="transfer")
    alert_close(actor=CHECKER, alert=closed, disposition="false_positive")
    approval_approve(actor=CHECKER, approval=fx_rate_request(actor=MAKER, base="USD", quote="CNY", mid=Decimal("7.2")))
    bob = make_customer(name="Bob")
    cny, usd = make_account(customer=bob, balance="7200"), make_account(customer=bob, currency="USD")
    fx_transfer_create(
        actor=SYSTEM_ACTOR, from_account=cny.public_id, to_account=usd.public_id, money=Money(Decimal(7200), "CNY")
    )
    fx_limit_set(actor=MAKER, currency="USD", limit=Decimal(500))
    RiskProfile.objects.create(customer=alice, score=55, factors={"pep": {"value": True, "points": 25}})
    RiskProfile.objects.create(customer=bob, score=12, factors={})
    return alice


def generate(fmt: str) -> tuple[ReportJob, bytes]:
    today = timezone.now().astimezone(dt.UTC).date()
    job = report_request(
        actor=SYSTEM_ACTOR, kind="risk_monthly", format=fmt, start_date=today.replace(day=1), end_date=today
    )
    assert report_generate(job_id=job.pk) == ReportStatus.DONE
    job.refresh_from_db()
    with default_storage.open(job.file_name, "rb") as handle:
        return job, handle.read()


def sheet_rows(book, title: str) -> list[tuple]:
    return [tuple(row) for row in book[title].iter_rows(min_row=3, values_only=True)]


def test_the_xlsx_holds_every_section_with_the_months_numbers(month):
    job, data = generate("xlsx")
    book = load_workbook(io.BytesIO(data), read_only=True)
    assert book.sheetnames == [
        "Summary", "Credit exposure by customer", "Credit exposure by product", "Limit breaches",
        "Alerts and outcomes", "Net open FX positions at period", "Top customers by risk score",
    ]  # fmt: skip
    summary = dict(sheet_rows(book, "Summary"))
    assert summary["limit breaches (refused movements)"] == 1
    assert summary["alerts raised"] == 3
    assert summary["FX positions over their limit at period end"] == 1
    exposure = sheet_rows(book, "Credit exposure by customer")
    assert exposure == [(month.pk, "王小明", "CNY", 1, "800.00", "250.50", "549.50", "800.00")]
    assert sheet_rows(book, "Credit exposure by product") == [
        ("CURRENT-CNY", "CNY", 1, "800.00", "250.50", "549.50", "800.00")
    ]
    breaches = sheet_rows(book, "Limit breaches")
    assert [(r[1], r[3], r[4], r[5]) for r in breaches] == [(month.pk, "transfer", "90000.00", "CNY")]
    outcomes = sheet_rows(book, "Alerts and outcomes")
    assert set(outcomes) == {
        ("limit", "block", "open", "-", 1),
        ("rule", "review", "open", "-", 1),
        ("rule", "review", "closed", "false_positive", 1),
    }
    fx = {row[0]: row for row in sheet_rows(book, "Net open FX positions at period")}
    bought = FxDeal.objects.get().buy_amount  # what the customer got at the customer rate: the bank is short that
    used = (bought * 100 / 500).quantize(Decimal("0.1"))
    assert fx["USD"] == ("USD", f"-{bought:.2f}", "500.00", str(used), "yes")
    assert fx["CNY"][1:3] == ("7200.00", "unlimited")
    top = sheet_rows(book, "Top customers by risk score")
    assert [(r[1], r[2]) for r in top] == [("王小明", 55), ("Bob", 12)]
    assert top[0][5] == "pep 25"
    assert job.rows == 1 + 1 + 1 + 3 + 2 + 2 + 7  # summary has 7 lines


def test_the_pdf_has_every_section(month):
    job, data = generate("pdf")
    assert data.startswith(b"%PDF-")
    assert len(re.findall(rb"/Type /Page\b(?!s)", data)) >= 1
    for title in (
        b"Credit exposure by customer", b"Limit breaches", b"Alerts and outcomes",
        b"Net open FX positions at period end", b"Top customers by risk score",
    ):  # fmt: skip
        assert b"(" + title + b")" in data, title
    assert job.size == len(data)


def test_only_the_bank_asks_for_it_and_only_as_pdf_or_xlsx(db):
    today = timezone.now().astimezone(dt.UTC).date()
    with pytest.raises(ValidationFailed):
        report_request(actor=SYSTEM_ACTOR, kind="risk_monthly", format="csv", start_date=today, end_date=today)
    with pytest.raises(ValidationFailed):
        report_request(actor=SYSTEM_ACTOR, kind="risk_monthly", format="pdf")
    customer_actor = Actor(label="client:c1", channel=Channel.API, customer_id=1)
    with pytest.raises(PermissionDenied):
        report_request(actor=customer_actor, kind="risk_monthly", format="pdf", start_date=today, end_date=today)
    assert not ReportJob.objects.exists()


def test_beat_asks_for_last_months_report_once_per_format(db):
    jobs = risk_report_monthly(today=dt.date(2026, 11, 1))
    assert sorted(job.format for job in jobs) == ["pdf", "xlsx"]
    assert {tuple(sorted(job.parameters.items())) for job in jobs} == {(("from", "2026-10-01"), ("to", "2026-10-31"))}
    assert jobs[0].requested_by == "system:reports"
    assert risk_report_monthly(today=dt.date(2026, 11, 1)) == []
    assert len(risk_report_monthly(today=dt.date(2026, 10, 1))) == 2  # another month: asked for again
