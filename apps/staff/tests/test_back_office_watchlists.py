"""Watchlist uploads through the back office: checked on upload, imported only when a second
compliance officer approves, never by the uploader."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.audit.models import AuditEvent
from apps.compliance.models import Approval, ApprovalStatus, Watchlist, WatchlistEntry
from apps.compliance.services_watchlists import WATCHLIST_IMPORT_ACTION
from apps.staff.tests.queues_support import client_of

pytestmark = pytest.mark.django_db
DATA = Path(__file__).resolve().parents[2] / "compliance" / "tests" / "data"


def _upload(client, name="internal", fmt="csv", path="internal.csv", content=None, **extra):
    body = content if content is not None else (DATA / path).read_bytes()
    return client.post(
        "/staff/watchlists/",
        {"name": name, "source_format": fmt, "list_file": SimpleUploadedFile(path, body), "reason": "monthly", **extra},
        follow=True,
    )


def _messages(response) -> str:
    return " ".join(str(m) for m in response.context["messages"])


def test_upload_waits_the_maker_cannot_approve_a_second_officer_imports():
    _maker, maker = client_of("compliance_officer", "mia")
    _checker, checker = client_of("compliance_officer", "chen")
    response = _upload(maker)
    assert "waits for a second officer" in _messages(response)
    approval = Approval.objects.get(action=WATCHLIST_IMPORT_ACTION)
    assert approval.status == ApprovalStatus.PENDING
    assert approval.payload["entries"] == 3
    assert not Watchlist.objects.exists()

    own = maker.post(f"/staff/watchlists/uploads/{approval.public_id}/decide/", {"decision": "approve"}, follow=True)
    assert "another person must decide" in _messages(own)
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.PENDING
    assert not WatchlistEntry.objects.exists()

    done = checker.post(f"/staff/watchlists/uploads/{approval.public_id}/decide/", {"decision": "approve"}, follow=True)
    assert "Approved" in _messages(done)
    approval.refresh_from_db()
    assert (approval.status, approval.decided_by) == (ApprovalStatus.APPROVED, "user:chen")
    listed = Watchlist.objects.get(name="internal")
    assert listed.entry_count == 3 == WatchlistEntry.objects.filter(watchlist=listed).count()
    assert "王小明" in set(WatchlistEntry.objects.values_list("name", flat=True))
    page = checker.get("/staff/watchlists/").content.decode()
    assert listed.version[:16] in page
    assert "3 added" in page
    assert AuditEvent.objects.filter(action="watchlist.import", object_id="internal").count() == 1

    twice = checker.post(
        f"/staff/watchlists/uploads/{approval.public_id}/decide/", {"decision": "approve"}, follow=True
    )
    assert "already been decided" in _messages(twice)
    assert AuditEvent.objects.filter(action="watchlist.import").count() == 1  # ran once


def test_un_xml_and_ofac_csv_with_aliases_are_accepted():
    _m, maker = client_of("compliance_officer", "mia")
    _c, checker = client_of("compliance_officer", "chen")
    _upload(maker, name="un", fmt="un", path="un_consolidated_sample.xml")
    alt = SimpleUploadedFile("alt.csv", (DATA / "alt.csv").read_bytes())
    _upload(maker, name="ofac-sdn", fmt="ofac", path="sdn.csv", alt=alt)
    for approval in Approval.objects.filter(action=WATCHLIST_IMPORT_ACTION):
        checker.post(f"/staff/watchlists/uploads/{approval.public_id}/decide/", {"decision": "approve"})
    assert set(Watchlist.objects.values_list("name", flat=True)) == {"un", "ofac-sdn"}
    assert all(w.entry_count > 0 for w in Watchlist.objects.all())


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"content": b"not,a,list\n1,2,3\n"}, "not a valid list"),
        ({"content": b"<consolidated><broken"}, "not a valid list"),
        ({"content": b""}, "The submitted file is empty."),
        ({"fmt": ""}, "This field is required."),
        ({"name": "bad name!"}, "letters, digits"),
    ],
)
def test_a_bad_upload_is_a_form_error_and_nothing_is_stored(fields, message):
    _m, maker = client_of("compliance_officer", "mia")
    fmt = fields.get("fmt", "un" if fields.get("content", b"").startswith(b"<") else "csv")
    response = _upload(maker, name=fields.get("name", "internal"), fmt=fmt, content=fields.get("content"))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Approval.objects.exists()
    assert not Watchlist.objects.exists()


def test_rejected_upload_is_never_imported_and_others_may_not_decide():
    _m, maker = client_of("compliance_officer", "mia")
    _c, checker = client_of("compliance_officer", "chen")
    _r, risk = client_of("risk_officer", "rita")
    _upload(maker)
    approval = Approval.objects.get(action=WATCHLIST_IMPORT_ACTION)
    assert (
        risk.post(f"/staff/watchlists/uploads/{approval.public_id}/decide/", {"decision": "approve"}).status_code == 403
    )
    assert risk.get("/staff/watchlists/").status_code == 403
    _a, auditor = client_of("auditor")
    assert auditor.get("/staff/watchlists/").status_code == 403
    checker.post(
        f"/staff/watchlists/uploads/{approval.public_id}/decide/", {"decision": "reject", "reason": "wrong file"}
    )
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.REJECTED
    assert not Watchlist.objects.exists()


def test_the_same_file_twice_waits_once():
    _m, maker = client_of("compliance_officer", "mia")
    _upload(maker)
    again = _upload(maker)
    assert again.status_code == 400
    assert "already waiting for approval" in again.content.decode()
    assert Approval.objects.filter(action=WATCHLIST_IMPORT_ACTION).count() == 1


def test_an_upload_whose_file_is_gone_is_refused_at_approval_not_a_500():
    from django.core.files.storage import default_storage

    _m, maker = client_of("compliance_officer", "mia")
    _c, checker = client_of("compliance_officer", "chen")
    _upload(maker)
    approval = Approval.objects.get(action=WATCHLIST_IMPORT_ACTION)
    default_storage.delete(approval.payload["file"])
    response = checker.post(
        f"/staff/watchlists/uploads/{approval.public_id}/decide/", {"decision": "approve"}, follow=True
    )
    assert response.status_code == 200
    assert "no longer stored" in _messages(response)
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.PENDING
    assert not Watchlist.objects.exists()
