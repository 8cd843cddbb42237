"""export_masked: no direct identifiers, stable pseudonyms, documented columns, an audit event."""

from __future__ import annotations

import base64
import csv
import datetime as dt
import json
import secrets
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from apps.audit.models import AuditEvent
from apps.common.money import Money
from apps.common.principals import SYSTEM_ACTOR
from apps.customers.models import Customer
from apps.customers.services import customer_create
from apps.ops.services.masked_export import FILES, age_band
from apps.transactions.services import transaction_reverse, transfer_create

ROOT = Path(__file__).resolve().parents[3]


def _read(directory: Path, name: str) -> list[dict[str, str]]:
    with (directory / name).open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture
def bank(make_account, make_customer):
    alice = customer_create(
        actor=SYSTEM_ACTOR, kind="individual", full_name="Alice Zhang", country="CN",
        national_id="11010519491231002X", date_of_birth=dt.date(1949, 12, 31),
        email="alice@example.com", phone="+8613800138000", address="1 Chang'an Avenue, Beijing",
    )  # fmt: skip
    from apps.customers.services import customer_decide_kyc

    alice = customer_decide_kyc(actor=SYSTEM_ACTOR, customer=alice, decision="verified")
    a = make_account(customer=alice, balance="300.00")
    b = make_account(balance="5.00")
    company = make_customer(kind="corporate")
    entry = transfer_create(actor=SYSTEM_ACTOR, from_account=a.public_id, to_account=b.public_id, money=Money(Decimal("12.34"), "CNY"), reference="Rent for Alice Zhang")  # fmt: skip
    transaction_reverse(actor=SYSTEM_ACTOR, entry=entry, reason="typo")
    return {"alice": alice, "a": a, "b": b, "company": company}


def test_export_holds_no_direct_identifiers_and_documents_its_columns(bank, tmp_path, capsys):
    out = tmp_path / "export"
    call_command("export_masked", str(out))
    assert "masked export written" in capsys.readouterr().out

    blob = "".join((out / name).read_text(encoding="utf-8") for name in [*FILES, "manifest.json"])
    for customer in Customer.objects.all():
        for value in (customer.full_name, customer.national_id, customer.email, customer.public_id, customer.phone,
                      customer.address, customer.date_of_birth):  # fmt: skip
            assert not value or str(value) not in blob
    for forbidden in ("Alice", "Chang'an", "Rent for", bank["a"].number, bank["b"].number, "system:internal"):
        assert forbidden not in blob

    customers = _read(out, "customers.csv")
    accounts = _read(out, "accounts.csv")
    postings = _read(out, "transactions.csv")
    for name, columns in FILES.items():
        assert list(_read(out, name)[0]) == columns
    docs = (ROOT / "docs" / "data-governance.md").read_text(encoding="utf-8")
    for column in {c for columns in FILES.values() for c in columns}:
        assert f"`{column}`" in docs, f"column {column} is not documented"

    alice = next(row for row in customers if row["age_band"] == "65+")
    assert (alice["kind"], alice["country"], alice["kyc_status"]) == ("individual", "CN", "verified")
    company = next(row for row in customers if row["kind"] == "corporate")
    assert company["age_band"] == ""
    alice_accounts = [row for row in accounts if row["customer_pseudonym"] == alice["customer_pseudonym"]]
    assert [row["balance"] for row in alice_accounts] == ["300.00"]  # transfer and its reversal cancel out
    internal = [row for row in accounts if row["is_internal"] == "true"]
    assert internal
    assert all(row["customer_pseudonym"] == "" for row in internal)

    mine = [row for row in postings if row["account_pseudonym"] == alice_accounts[0]["account_pseudonym"]]
    assert sorted(row["amount"] for row in mine) == ["-12.34", "12.34", "300.00"]
    reversal = next(row for row in postings if row["entry_kind"] == "reversal")
    transfer = next(row for row in postings if row["entry_kind"] == "transfer")
    assert reversal["reverses_entry_pseudonym"] == transfer["entry_pseudonym"]
    assert sum(Decimal(row["amount"]) for row in postings) == 0

    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["files"]["transactions.csv"]["rows"] == len(postings)
    event = AuditEvent.objects.get(action="data.export_masked")
    assert event.detail["rows"] == {
        "customers.csv": 3,
        "accounts.csv": len(accounts),
        "transactions.csv": len(postings),
    }
    for name in [*FILES, "manifest.json"]:
        assert (out / name).stat().st_mode & 0o777 == 0o600


def test_pseudonyms_are_stable_across_exports_and_change_with_the_key(bank, tmp_path, settings):
    call_command("export_masked", str(tmp_path / "first"))
    call_command("export_masked", str(tmp_path / "second"))
    first, second = _read(tmp_path / "first", "customers.csv"), _read(tmp_path / "second", "customers.csv")
    assert [r["customer_pseudonym"] for r in first] == [r["customer_pseudonym"] for r in second]
    assert len({r["customer_pseudonym"] for r in first}) == 3

    settings.EXPORT_PSEUDONYM_KEY = base64.b64encode(secrets.token_bytes(32)).decode()
    call_command("export_masked", str(tmp_path / "other-key"))
    other = _read(tmp_path / "other-key", "customers.csv")
    assert not {r["customer_pseudonym"] for r in first} & {r["customer_pseudonym"] for r in other}


def test_export_refuses_an_occupied_directory_or_a_missing_key_and_writes_nothing(bank, tmp_path, settings):
    occupied = tmp_path / "occupied"
    occupied.mkdir()
    (occupied / "accounts.csv").write_text("keep me")
    with pytest.raises(CommandError, match=r"already holds accounts\.csv"):
        call_command("export_masked", str(occupied))
    assert [p.name for p in occupied.iterdir()] == ["accounts.csv"]
    assert (occupied / "accounts.csv").read_text() == "keep me"

    settings.EXPORT_PSEUDONYM_KEY = ""
    with pytest.raises(CommandError, match="EXPORT_PSEUDONYM_KEY is not set"):
        call_command("export_masked", str(tmp_path / "new"))
    assert not (tmp_path / "new").exists()
    assert not AuditEvent.objects.filter(action="data.export_masked").exists()


@pytest.mark.parametrize(
    ("born", "band"),
    [
        ("2010-06-02", "under 18"),
        ("2008-06-01", "18-24"),
        ("2008-06-02", "under 18"),
        ("1991-01-01", "35-44"),
        ("1950-01-01", "65+"),
        ("", ""),
    ],
)
def test_dates_of_birth_become_age_bands(born, band):
    assert age_band(born, dt.date(2026, 6, 1)) == band
