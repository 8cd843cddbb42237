"""Account history: filters (date range, amount range, direction, text), pages, CSV export with
exactly the filtered rows, the PDF statement through a report job, and form validation."""

from __future__ import annotations

import csv
import io
import uuid

import pytest

from apps.audit.models import AuditEvent
from apps.reports.models import ReportJob
from tests.support import portal_client

pytestmark = pytest.mark.django_db


def rows_of(response) -> list[str]:
    """The references shown on a history page (one per booking row)."""
    html = response.content.decode()
    return [chunk.split("</td>")[0] for chunk in html.split('data-label="Description">')[1:]]


def history(client, account, **params):
    return client.get(f"/portal/accounts/{account.public_id}/", params)


def test_history_shows_every_booking_newest_first(alice):
    response = history(portal_client(alice.user), alice.accounts[0])
    assert response.status_code == 200
    shown = rows_of(response)
    assert len(shown) == 3
    # by booking time: the March transfer was booked with a March date
    assert "=cmd|calc" in shown[0]
    assert shown[1].startswith("Deposit")
    assert "rent March" in shown[2]
    assert "\u2212120.50\u00a0CNY" in response.content.decode()  # money out, locale-formatted


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"date_from": "2026-03-01", "date_to": "2026-03-01"}, ["rent March"]),
        ({"date_to": "2026-03-02"}, ["rent March"]),
        ({"amount_min": "100", "amount_max": "200"}, ["rent March"]),
        ({"amount_max": "10"}, ["=cmd|calc"]),
        ({"direction": "in"}, ["Deposit"]),
        ({"direction": "out"}, ["=cmd|calc", "rent March"]),
        ({"date_from": "2026-03-02"}, ["=cmd|calc", "Deposit"]),
        ({"text": "RENT"}, ["rent March"]),
        ({"text": "nothing like this"}, []),
    ],
)
def test_filters(alice, params, expected):
    shown = rows_of(history(portal_client(alice.user), alice.accounts[0], **params))
    assert len(shown) == len(expected), shown
    for row, want in zip(shown, expected, strict=True):
        assert want in row


def test_text_search_finds_a_transaction_by_its_id(alice):
    posting = alice.accounts[0].postings.select_related("entry").filter(entry__reference="rent March").get()
    shown = rows_of(history(portal_client(alice.user), alice.accounts[0], text=str(posting.entry.public_id)))
    assert len(shown) == 1
    assert "rent March" in shown[0]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"date_from": "2026-04-01", "date_to": "2026-03-01"}, "The end date is before the start date."),
        ({"amount_min": "50", "amount_max": "5"}, "The highest amount is below the lowest."),
        ({"amount_min": "-5"}, "Ensure this value is greater than or equal to 0."),
        ({"amount_min": "abc"}, "Enter a number."),
        ({"date_from": "31/31/2026"}, "Enter a valid date."),
        ({"direction": "sideways"}, "Select a valid choice."),
    ],
)
def test_bad_filters_get_a_message_not_an_error(alice, params, message):
    response = history(portal_client(alice.user), alice.accounts[0], **params)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert len(rows_of(response)) == 3  # an invalid filter filters on nothing


def test_history_pages(alice, make_account):
    from decimal import Decimal

    from apps.common.money import Money
    from apps.common.principals import SYSTEM_ACTOR
    from apps.transactions.services import deposit_create

    account = alice.accounts[2]
    for n in range(30):
        deposit_create(actor=SYSTEM_ACTOR, account=account.public_id, money=Money(Decimal(n + 1), "USD"))
    client = portal_client(alice.user)
    first = history(client, account, direction="in")
    assert len(rows_of(first)) == 25
    assert "Page 1 of 2" in first.content.decode()
    assert "direction=in&amp;page=2" in first.content.decode()
    second = history(client, account, direction="in", page="2")
    assert len(rows_of(second)) == 6
    assert len(rows_of(history(client, account, page="999"))) == 6  # past the end: the last page
    assert history(client, account, page="x").status_code == 200


def test_csv_export_has_exactly_the_filtered_rows(alice):
    client = portal_client(alice.user)
    account = alice.accounts[0]
    response = client.get(f"/portal/accounts/{account.public_id}/history.csv", {"direction": "out"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert f'filename="finsys-{account.number}-history.csv"' in response["Content-Disposition"]
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))
    assert rows[0] == ["booked_at", "transaction", "kind", "reference", "amount", "currency", "balance_after"]
    assert [row[3] for row in rows[1:]] == ["'=cmd|calc", "rent March"]  # a formula is defused
    assert [row[4] for row in rows[1:]] == ["-9.99", "-120.50"]
    assert [row[6] for row in rows[1:]] == ["869.51", "879.50"]
    assert all(row[5] == "CNY" for row in rows[1:])
    assert AuditEvent.objects.filter(action="export.portal_history_csv", object_id=str(account.public_id)).count() == 1


def test_csv_export_with_bad_filters_is_refused_with_a_message(alice):
    response = portal_client(alice.user).get(
        f"/portal/accounts/{alice.accounts[0].public_id}/history.csv", {"amount_min": "x"}
    )
    assert response.status_code == 400
    assert b"Fix the filters before exporting." in response.content
    assert not AuditEvent.objects.filter(action="export.portal_history_csv").exists()


def test_statement_pdf_for_a_period(alice):
    client = portal_client(alice.user)
    account = alice.accounts[0]
    response = client.post(
        f"/portal/accounts/{account.public_id}/statement/", {"date_from": "2026-03-01", "date_to": "2026-03-31"}
    )
    job = ReportJob.objects.get()
    assert response["Location"] == f"/portal/statements/{job.public_id}/"
    assert job.requested_for_customer_id == alice.customer.pk
    page = client.get(response["Location"])
    assert page.status_code == 200
    job.refresh_from_db()
    if job.status == "done":  # eager Celery ran it at commit
        assert b"Download PDF" in page.content
        download = client.get(f"/portal/statements/{job.public_id}/download/")
        assert download.status_code == 200
        assert download["Content-Type"] == "application/pdf"
        content = b"".join(download.streaming_content)
        assert content.startswith(b"%PDF-")
        assert AuditEvent.objects.filter(action="export.report_download", object_id=str(job.public_id)).exists()
    else:
        assert b"Preparing your statement" in page.content
        assert b'http-equiv="refresh"' in page.content


def test_statement_jobs_of_another_customer_answer_404(alice, bob):
    client = portal_client(bob.user)
    client.post(
        f"/portal/accounts/{bob.accounts[0].public_id}/statement/", {"date_from": "2026-03-01", "date_to": "2026-03-31"}
    )
    job = ReportJob.objects.get()
    mine = portal_client(alice.user)
    assert mine.get(f"/portal/statements/{job.public_id}/").status_code == 404
    assert mine.get(f"/portal/statements/{job.public_id}/download/").status_code == 404
    assert mine.get(f"/portal/statements/{uuid.uuid4()}/").status_code == 404


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"date_from": "2026-03-31", "date_to": "2026-03-01"}, "The end date is before the start date."),
        ({"date_from": "2026-03-01", "date_to": "2999-01-01"}, "The period may not end in the future."),
        ({"date_from": "2020-01-01", "date_to": "2026-01-01"}, "The period is longer than 366 days."),
        ({"date_from": "", "date_to": "2026-01-01"}, "This field is required."),
        ({"date_from": "nope", "date_to": "2026-01-01"}, "Enter a valid date."),
    ],
)
def test_statement_form_validation(alice, data, message):
    response = portal_client(alice.user).post(f"/portal/accounts/{alice.accounts[0].public_id}/statement/", data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not ReportJob.objects.exists()
