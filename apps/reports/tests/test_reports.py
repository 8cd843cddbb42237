"""Statements in every format, management reports, progress, who may ask and download, expiry."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import xml.etree.ElementTree as ET
import zlib
from decimal import Decimal

import pytest
from django.core.files.storage import default_storage
from django.test import override_settings
from django.utils import timezone
from openpyxl import load_workbook

from apps.audit.models import AuditEvent
from apps.common.money import Money
from apps.common.principals import SYSTEM_ACTOR, Actor, Channel
from apps.reports import services
from apps.reports.models import ReportJob, ReportStatus
from apps.reports.render import CAMT053_NAMESPACE
from apps.reports.services import report_generate, report_request, reports_expire
from apps.transactions.services import deposit_create, withdrawal_create

NS = {"c": CAMT053_NAMESPACE}
UTC = dt.UTC


def at(day: int, hour: int = 0, minute: int = 0, second: int = 0) -> dt.datetime:
    return dt.datetime(2026, 3, day, hour, minute, second, tzinfo=UTC)


@pytest.fixture
def history(make_customer, make_account):
    """Opening 100 before the period; 50 at its first instant, -30, +5 at its last second; 7 just
    after it. Period 2026-03-02 .. 2026-03-04: opening 100, closing 125, three postings."""
    holder = make_customer(name="王小明")
    account = make_account(customer=holder)
    for when, amount, ref in [
        (at(1, 10), "100", "before"),
        (at(2), "50", "first instant"),
        (at(3, 12), "-30", "ATM 王府井"),
        (at(4, 23, 59, 59), "5", "last second"),
        (at(5), "7", "after"),
    ]:
        money = Money(abs(Decimal(amount)), "CNY")
        if Decimal(amount) > 0:
            deposit_create(actor=SYSTEM_ACTOR, account=account.public_id, money=money, reference=ref, booked_at=when)
        else:
            withdrawal_create(actor=SYSTEM_ACTOR, account=account.public_id, money=money, reference=ref, booked_at=when)
    return account


def generate(account, fmt: str) -> tuple[ReportJob, bytes]:
    job = report_request(
        actor=SYSTEM_ACTOR,
        kind="statement",
        format=fmt,
        account_public_id=account.public_id,
        start_date=dt.date(2026, 3, 2),
        end_date=dt.date(2026, 3, 4),
    )
    assert report_generate(job_id=job.pk) == ReportStatus.DONE
    job.refresh_from_db()
    with default_storage.open(job.file_name, "rb") as handle:
        return job, handle.read()


def test_csv_statement_holds_every_posting_of_the_period_boundaries_included_and_excluded(history):
    job, data = generate(history, "csv")
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8"))))
    assert [r["reference"] for r in rows] == ["first instant", "ATM 王府井", "last second"]
    assert [r["amount"] for r in rows] == ["50.00", "-30.00", "5.00"]
    assert [r["balance_after"] for r in rows] == ["150.00", "120.00", "125.00"]
    assert job.rows == 3
    assert job.progress == 100
    assert job.size == len(data)
    assert job.expires_at is not None
    assert job.expires_at > timezone.now()


def test_camt053_statement_parses_with_opening_closing_balances_and_one_entry_per_posting(history):
    _job, data = generate(history, "camt053")
    root = ET.fromstring(data)  # noqa: S314 - our own output
    stmt = root.find("c:BkToCstmrStmt/c:Stmt", NS)
    assert stmt is not None
    balances = {
        b.findtext("c:Tp/c:CdOrPrtry/c:Cd", namespaces=NS): (
            b.findtext("c:Amt", namespaces=NS),
            b.findtext("c:CdtDbtInd", namespaces=NS),
        )
        for b in stmt.findall("c:Bal", NS)
    }
    assert balances == {"OPBD": ("100.00", "CRDT"), "CLBD": ("125.00", "CRDT")}
    assert stmt.findtext("c:Acct/c:Id/c:Othr/c:Id", namespaces=NS) == history.number
    entries = stmt.findall("c:Ntry", NS)
    assert [(e.findtext("c:Amt", namespaces=NS), e.findtext("c:CdtDbtInd", namespaces=NS)) for e in entries] == [
        ("50.00", "CRDT"),
        ("30.00", "DBIT"),
        ("5.00", "CRDT"),
    ]
    assert entries[0].find("c:Amt", NS).get("Ccy") == "CNY"
    assert entries[1].findtext("c:AddtlNtryInf", namespaces=NS) == "ATM 王府井"
    assert entries[2].findtext("c:ValDt/c:Dt", namespaces=NS) == "2026-03-04"


def _pdf_text(data: bytes) -> bytes:
    streams = re.findall(rb"stream\n(.*?)\nendstream", data, re.S)
    return b"\n".join(zlib.decompress(s) for s in streams)


def test_pdf_statement_has_the_header_balances_every_posting_and_page_numbers(history):
    _job, data = generate(history, "pdf")
    assert data.startswith(b"%PDF-1.4")
    assert data.rstrip().endswith(b"%%EOF")
    assert b"/Count 1" in data
    text = _pdf_text(data)
    for expected in [
        b"finsys demo bank",
        history.number.encode(),
        b"(100.00)",
        b"(125.00)",
        b"(first instant)",
        b"(-30.00)",
        b"(last second)",
        b"(Page 1)",
        b"(Opening balance)",
        b"(Closing balance)",
    ]:
        assert expected in text, expected
    assert "王小明".encode("utf-16-be").hex().encode() in text  # the holder, in the CJK font
    assert b"(after)" not in text
    assert b"(before)" not in text


def test_pdf_statement_of_many_postings_spans_numbered_pages(make_account):
    account = make_account(balance="1")
    for n in range(120):
        deposit_create(
            actor=SYSTEM_ACTOR, account=account.public_id, money=Money(Decimal("1"), "CNY"), reference=f"r{n}"
        )
    today = timezone.now().date()
    job = report_request(
        actor=SYSTEM_ACTOR,
        kind="statement",
        format="pdf",
        account_public_id=account.public_id,
        start_date=today,
        end_date=today,
    )
    report_generate(job_id=job.pk)
    job.refresh_from_db()
    data = default_storage.open(job.file_name, "rb").read()
    pages = int(re.search(rb"/Count (\d+)", data).group(1))
    assert pages == 3
    assert b"(Page 3)" in _pdf_text(data)
    assert b"(121.00)" in _pdf_text(data)


@override_settings(FINSYS_REPORT_PROGRESS_ROWS=1)
def test_progress_is_updated_every_n_rows_and_ends_at_100(history, monkeypatch):
    seen: list[int] = []
    original = services._progress_set

    def record(job_id: int, token, percent: int) -> None:
        seen.append(percent)
        original(job_id, token, percent)
        assert ReportJob.objects.get(pk=job_id).progress == percent  # visible at once

    monkeypatch.setattr(services, "_progress_set", record)
    job, _data = generate(history, "csv")
    assert seen == [33, 66, 99]
    assert job.progress == 100


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_management_reports_tabulate_balances_volumes_and_payments(history, fmt):
    for kind, extra in [
        ("balances_by_product", {}),
        ("payments_by_state", {}),
        ("daily_volumes", {"start_date": dt.date(2026, 3, 1), "end_date": dt.date(2026, 3, 5)}),
    ]:
        job = report_request(actor=SYSTEM_ACTOR, kind=kind, format=fmt, **extra)
        assert report_generate(job_id=job.pk) == ReportStatus.DONE
        job.refresh_from_db()
        data = default_storage.open(job.file_name, "rb").read()
        if fmt == "xlsx":
            rows = [list(r) for r in load_workbook(io.BytesIO(data), read_only=True).active.iter_rows(values_only=True)]
        else:
            rows = list(csv.reader(io.StringIO(data.decode())))
        if kind == "daily_volumes":
            assert [str(r[0]) for r in rows[1:]] == [
                "2026-03-01",
                "2026-03-02",
                "2026-03-03",
                "2026-03-04",
                "2026-03-05",
            ]
            assert [r[1] for r in rows[1:]] == ["deposit", "deposit", "withdrawal", "deposit", "deposit"]
        if kind == "balances_by_product":
            assert rows[0] == ["product", "name", "currency", "accounts", "balance"]
            assert [r[4] for r in rows[1:] if r[2] == "CNY"] == ["132.00"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"from": "2026-03-05", "to": "2026-03-01"}, "from"),
        ({"from": "2026-03-01", "to": "2999-01-01"}, "to"),
        ({"from": "2024-01-01", "to": "2026-01-01"}, "to"),
        ({"from": "not-a-date", "to": "2026-03-01"}, "from"),
        ({"to": "2026-03-01"}, "from"),
        ({"from": "2026-03-01", "to": "2026-03-02", "format": "xlsx"}, "format"),
    ],
)
def test_a_malformed_statement_request_is_400_and_creates_nothing(api, history, body, field):
    events = AuditEvent.objects.count()
    response = api.post(
        "/api/v1/reports/", {"kind": "statement", "format": "csv", "account": str(history.public_id), **body}
    )
    assert response.status_code == 400, response.content
    assert field in str(response.json())
    assert ReportJob.objects.count() == 0
    assert AuditEvent.objects.count() == events


def test_statement_through_the_api_queued_polled_and_downloaded_with_an_audit_event(
    make_api, history, django_capture_on_commit_callbacks
):
    client = make_api(customer=history.customer, scopes=["reports:read"])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/api/v1/reports/",
            {
                "kind": "statement",
                "format": "csv",
                "account": str(history.public_id),
                "from": "2026-03-02",
                "to": "2026-03-04",
            },
            key=None,
        )
    assert response.status_code == 202, response.content
    report = client.get(f"/api/v1/reports/{response.json()['id']}/").json()
    assert report["status"] == "done"
    assert report["progress"] == 100
    download = client.get(report["download_url"])
    assert download.status_code == 200
    assert 'attachment; filename="finsys-statement-' in download["Content-Disposition"]
    body = b"".join(download.streaming_content)
    assert len(body) == report["size"]
    assert b"last second" in body
    assert AuditEvent.objects.filter(action="export.report_download", object_id=report["id"]).count() == 1


def test_a_customer_bound_client_cannot_request_or_download_another_customers_statement(
    make_api, make_account, history, django_capture_on_commit_callbacks
):
    stranger = make_api(customer=make_account().customer, scopes=["reports:read"])
    owner = make_api(customer=history.customer, scopes=["reports:read"])
    body = {
        "kind": "statement",
        "format": "pdf",
        "account": str(history.public_id),
        "from": "2026-03-02",
        "to": "2026-03-04",
    }
    assert stranger.post("/api/v1/reports/", body, key=None).status_code == 404
    assert ReportJob.objects.count() == 0
    with django_capture_on_commit_callbacks(execute=True):
        report_id = owner.post("/api/v1/reports/", body, key=None).json()["id"]
    assert stranger.get(f"/api/v1/reports/{report_id}/").status_code == 404
    assert stranger.get(f"/api/v1/reports/{report_id}/download/").status_code == 404
    assert not AuditEvent.objects.filter(action="export.report_download").exists()


def test_management_reports_are_refused_to_customer_bound_clients(make_api, history):
    bound = make_api(customer=history.customer, scopes=["reports:read"])
    response = bound.post("/api/v1/reports/", {"kind": "payments_by_state", "format": "xlsx"}, key=None)
    assert response.status_code == 403
    assert ReportJob.objects.count() == 0


def test_a_report_not_yet_generated_answers_409_on_download(api, history):
    response = api.post("/api/v1/reports/", {"kind": "balances_by_product", "format": "csv"}, key=None)
    assert response.status_code == 202
    assert response.json()["status"] == "queued"
    assert response.json()["download_url"] is None
    assert api.get(f"/api/v1/reports/{response.json()['id']}/download/").status_code == 409


def test_expiry_deletes_files_marks_jobs_expired_and_downloads_answer_410(api, history):
    job = report_request(actor=api_actor(api), kind="balances_by_product", format="csv")
    report_generate(job_id=job.pk)
    job.refresh_from_db()
    assert default_storage.exists(job.file_name)
    assert reports_expire(now=timezone.now()) == 0  # not yet
    later = job.expires_at + dt.timedelta(seconds=1)
    assert api.get(f"/api/v1/reports/{job.public_id}/download/").status_code == 200
    assert reports_expire(now=later) == 1
    assert reports_expire(now=later) == 0  # re-runnable
    name = job.file_name
    job.refresh_from_db()
    assert job.status == "expired"
    assert job.file_name == ""
    assert not default_storage.exists(name)
    response = api.get(f"/api/v1/reports/{job.public_id}/download/")
    assert response.status_code == 410
    assert response.json()["code"] == "report_expired"


def test_generation_is_idempotent_and_a_failure_is_recorded(history, monkeypatch):
    job = report_request(actor=SYSTEM_ACTOR, kind="payments_by_state", format="csv")
    monkeypatch.setattr(services, "_write_management", lambda job, out: 1 / 0)
    assert report_generate(job_id=job.pk) == ReportStatus.FAILED
    job.refresh_from_db()
    assert job.status == "failed"
    assert "ZeroDivisionError" in job.error
    assert report_generate(job_id=job.pk) == ReportStatus.FAILED  # not taken again


def api_actor(caller):
    return Actor(label=f"client:{caller.client_id}", channel=Channel.API)
