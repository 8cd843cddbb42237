import csv
import datetime as dt
import io
from decimal import Decimal
from io import StringIO

import pytest
from defusedxml.ElementTree import fromstring
from django.core.management import call_command
from django.utils import timezone

from apps.common.money import Money
from apps.common.principals import SYSTEM_ACTOR
from apps.compliance.models import Case, ReportRecord, ReportRule
from apps.compliance.reports import (
    fx_convert,
    transaction_reports_csv,
    transaction_reports_generate,
    transaction_reports_xml,
)
from apps.transactions.models import Payment
from apps.transactions.services import deposit_create, transfer_create, withdrawal_create
from apps.transactions.services_payments import Beneficiary, payment_create

DAY = dt.date(2026, 3, 2)


def _at(day, hour=12):
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))


def _cash(account, amount, *, out=False, day=DAY):
    book = withdrawal_create if out else deposit_create
    book(
        actor=SYSTEM_ACTOR,
        account=account.public_id,
        money=Money(Decimal(amount), account.currency),
        booked_at=_at(day),
    )


def _pay(account, amount, country):
    payment = payment_create(
        actor=SYSTEM_ACTOR,
        from_account=account.public_id,
        money=Money(Decimal(amount), "CNY"),
        beneficiary=Beneficiary(name="Acme Trading", account_number="123456789", bank_code="CHASUS33", country=country),
    )
    Payment.objects.filter(pk=payment.pk).update(created_at=_at(DAY, 15))


@pytest.fixture
def day(settings, make_customer, make_account):
    """A business day of movements; returns customer name -> customer."""
    settings.FINSYS_AML_JURISDICTIONS = ["PBOC-2016", "US-CTR"]
    people = {}

    def person(name, kind="individual", currency="CNY", balance="0"):
        customer = make_customer(name=name, kind=kind)
        people[name] = customer
        return make_account(customer=customer, currency=currency, balance=balance)

    a = person("A cash exactly 50000")
    _cash(a, "30000")
    _cash(a, "20000")  # cumulative: 50,000.00 is reported (at least)
    b = person("B cash just under", balance="10000")
    _cash(b, "40000")
    _cash(b, "9999.99", out=True)  # in and out add up: 49,999.99 is not reported
    _cash(b, "60000", day=DAY + dt.timedelta(days=1))  # another day
    c = person("C usd exactly 10000", currency="USD")
    _cash(c, "10000.00")  # PBOC foreign cash (at least USD 10,000); not a CTR (more than)
    d = person("D usd over 10000", currency="USD")
    _cash(d, "10000.01")
    e = person("E cny over the ctr line")
    _cash(e, "71000.08")  # 10,000.01 USD at 7.10
    f = person("F domestic sender", balance="600000")
    g = person("G corporate receiver", kind="corporate")
    transfer_create(
        actor=SYSTEM_ACTOR,
        from_account=f.public_id,
        to_account=g.public_id,
        money=Money(Decimal("500000"), "CNY"),
        booked_at=_at(DAY),
    )  # F reaches the individual domestic line; G stays far below the corporate one
    h = person("H cross-border 200000", balance="300000")
    _pay(h, "200000.00", "US")
    i = person("I cross-border just under", balance="300000")
    _pay(i, "199999.99", "US")
    j = person("J domestic payment", balance="300000")
    _pay(j, "250000.00", "CN")  # domestic: below 500,000
    return people


def _reported(people):
    names = {c.pk: name for name, c in people.items()}
    return sorted(
        (r.rule.jurisdiction, r.rule.code, names[r.customer_id], str(r.total))
        for r in ReportRecord.objects.select_related("rule")
    )


def test_a_day_of_transactions_gives_exactly_these_reports(day):
    created = transaction_reports_generate(business_date=DAY)
    assert _reported(day) == [
        ("PBOC-2016", "CASH-CNY", "A cash exactly 50000", "50000.0000"),
        ("PBOC-2016", "CASH-CNY", "E cny over the ctr line", "71000.0800"),
        ("PBOC-2016", "CASH-FX", "C usd exactly 10000", "10000.0000"),
        ("PBOC-2016", "CASH-FX", "D usd over 10000", "10000.0100"),
        ("PBOC-2016", "IND-CROSS-BORDER", "H cross-border 200000", "200000.0000"),
        ("PBOC-2016", "IND-DOMESTIC", "F domestic sender", "500000.0000"),
        ("US-CTR", "CASH", "D usd over 10000", "10000.0100"),
        ("US-CTR", "CASH", "E cny over the ctr line", "10000.0100"),
    ]
    assert len(created) == 8
    a = ReportRecord.objects.get(customer=day["A cash exactly 50000"])
    assert a.transaction_count == 2
    # Each report is a case to review.
    assert Case.objects.filter(kind="large_value").count() == 8
    assert all(r.case_id for r in ReportRecord.objects.all())


def test_running_a_day_again_adds_nothing(day):
    transaction_reports_generate(business_date=DAY)
    assert transaction_reports_generate(business_date=DAY) == []
    assert ReportRecord.objects.count() == 8
    assert Case.objects.count() == 8


def test_only_the_configured_jurisdictions_report(day, settings):
    settings.FINSYS_AML_JURISDICTIONS = ["US-CTR"]
    transaction_reports_generate(business_date=DAY)
    assert {r.rule.code for r in ReportRecord.objects.select_related("rule")} == {"CASH"}


def test_a_rule_switched_off_or_retuned_in_the_data_is_followed(day):
    ReportRule.objects.filter(jurisdiction="PBOC-2016").exclude(code="CASH-CNY").update(active=False)
    ReportRule.objects.filter(code="CASH-CNY").update(threshold=Decimal("60000"))
    ReportRule.objects.filter(jurisdiction="US-CTR").update(active=False)
    transaction_reports_generate(business_date=DAY)
    assert _reported(day) == [("PBOC-2016", "CASH-CNY", "E cny over the ctr line", "71000.0800")]


def test_reports_export_as_xml_and_csv(day, tmp_path):
    out = StringIO()
    xml_file, csv_file = tmp_path / "r.xml", tmp_path / "r.csv"
    call_command(
        "generate_transaction_reports",
        "--date",
        DAY.isoformat(),
        "--xml",
        str(xml_file),
        "--csv",
        str(csv_file),
        stdout=out,
    )
    assert "8 new report(s)" in out.getvalue()
    root = fromstring(xml_file.read_bytes())
    assert root.tag == "TransactionReports"
    assert root.get("businessDate") == "2026-03-02"
    reports = root.findall("Report")
    assert len(reports) == 8
    ctr = [r for r in reports if r.get("jurisdiction") == "US-CTR"]
    assert {r.find("Customer").text for r in ctr} == {"D usd over 10000", "E cny over the ctr line"}
    assert {r.find("Total").get("currency") for r in ctr} == {"USD"}
    rows = list(csv.DictReader(io.StringIO(csv_file.read_text(encoding="utf-8"))))
    assert len(rows) == 8
    assert rows == list(csv.DictReader(io.StringIO(transaction_reports_csv(business_date=DAY))))
    assert transaction_reports_xml(business_date=DAY).startswith(b"<?xml")


def test_fx_equivalents_use_the_configured_table(settings):
    settings.FINSYS_AML_FX_RATES = {"CNY": "1", "USD": "7.10"}
    assert fx_convert(Decimal("71000.08"), "CNY", "USD") == Decimal("10000.01")
    assert fx_convert(Decimal("100"), "USD", "CNY") == Decimal("710.00")
    assert fx_convert(Decimal("100"), "CHF", "CNY") is None
