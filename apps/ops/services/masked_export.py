"""Masked (desensitised) export of customers, accounts and postings for analytics.

No direct identifier leaves: no names, national ids, phones, e-mails, addresses, account
numbers, free-text references or staff names. Rows are linked by pseudonyms, the first 32 hex
digits of HMAC-SHA256(EXPORT_PSEUDONYM_KEY, "<kind>:<public id>"), so the same customer has the
same pseudonym in every export made under the same key, and nobody without the key can go back
from a pseudonym to the customer. Dates of birth become age bands; countries, amounts, currencies,
statuses and booking times stay. The columns are documented in docs/data-governance.md.
"""

from __future__ import annotations

import base64
import binascii
import csv
import datetime as dt
import hashlib
import hmac
import json
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.utils import timezone

from apps.accounts.models import Account
from apps.audit.services import audit_record
from apps.common.money import format_amount
from apps.customers.models import Customer, CustomerKind
from apps.transactions.models import Posting

CUSTOMER_COLUMNS = [
    "customer_pseudonym",
    "kind",
    "country",
    "age_band",
    "kyc_status",
    "risk_rating",
    "created_on",
    "kyc_decided_on",
]
ACCOUNT_COLUMNS = [
    "account_pseudonym",
    "customer_pseudonym",
    "product_code",
    "product_kind",
    "currency",
    "status",
    "is_internal",
    "gl_code",
    "balance",
    "available",
    "overdraft_limit",
    "opened_on",
    "closed_on",
]
TRANSACTION_COLUMNS = [
    "entry_pseudonym",
    "entry_kind",
    "channel",
    "booked_at",
    "account_pseudonym",
    "amount",
    "currency",
    "reverses_entry_pseudonym",
]
FILES = {
    "customers.csv": CUSTOMER_COLUMNS,
    "accounts.csv": ACCOUNT_COLUMNS,
    "transactions.csv": TRANSACTION_COLUMNS,
}
AGE_BANDS = [(18, "under 18"), (25, "18-24"), (35, "25-34"), (45, "35-44"), (55, "45-54"), (65, "55-64")]


class ExportError(Exception):
    """The export could not be made; nothing was written."""


@dataclass
class ExportReport:
    directory: Path
    key_id: str
    rows: dict[str, int] = field(default_factory=dict)


class Pseudonymiser:
    def __init__(self, key: bytes) -> None:
        self._key = key
        self.key_id = hmac.new(key, b"finsys export key id", hashlib.sha256).hexdigest()[:16]

    def __call__(self, kind: str, public_id: object) -> str:
        if public_id is None:
            return ""
        return hmac.new(self._key, f"{kind}:{public_id}".encode(), hashlib.sha256).hexdigest()[:32]


def _pseudonym_key() -> bytes:
    raw = settings.EXPORT_PSEUDONYM_KEY
    if not raw:
        raise ExportError("EXPORT_PSEUDONYM_KEY is not set")
    try:
        key = base64.b64decode(raw, validate=True)
    except binascii.Error:
        key = raw.encode()
    if len(key) < 32:
        raise ExportError("EXPORT_PSEUDONYM_KEY must hold at least 32 bytes (base64 of 32 random bytes)")
    return key


def age_band(date_of_birth: str, today: dt.date) -> str:
    """'35-44' and so on; blank when unknown (corporate customers, erased personal data)."""
    if not date_of_birth:
        return ""
    born = dt.date.fromisoformat(date_of_birth)
    age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    for limit, label in AGE_BANDS:
        if age < limit:
            return label
    return "65+"


def _day(value: dt.datetime | None) -> str:
    return timezone.localdate(value).isoformat() if value else ""


def _customers(pseudonym: Pseudonymiser, today: dt.date) -> Iterator[list[str]]:
    rows = Customer.objects.order_by("pk").only(
        "public_id", "kind", "country", "date_of_birth", "kyc_status", "risk_rating", "created_at", "kyc_decided_at"
    )
    for c in rows.iterator(chunk_size=2000):
        yield [
            pseudonym("customer", c.public_id),
            c.kind,
            c.country,
            age_band(c.date_of_birth, today) if c.kind == CustomerKind.INDIVIDUAL else "",
            c.kyc_status,
            c.risk_rating,
            _day(c.created_at),
            _day(c.kyc_decided_at),
        ]


def _accounts(pseudonym: Pseudonymiser) -> Iterator[list[str]]:
    rows = Account.objects.order_by("pk").values_list(
        "public_id",
        "customer__public_id",
        "product__code",
        "product__kind",
        "currency",
        "status",
        "is_internal",
        "gl_code",
        "balance",
        "available",
        "overdraft_limit",
        "opened_at",
        "closed_at",
    )
    for (public_id, customer, code, kind, currency, status, internal, gl, balance, available, overdraft, opened, closed) in rows.iterator(chunk_size=2000):  # fmt: skip
        yield [
            pseudonym("account", public_id),
            pseudonym("customer", customer),
            code,
            kind,
            currency,
            status,
            "true" if internal else "false",
            gl,
            format_amount(balance, currency),
            format_amount(available, currency),
            format_amount(overdraft, currency),
            _day(opened),
            _day(closed),
        ]


def _transactions(pseudonym: Pseudonymiser) -> Iterator[list[str]]:
    rows = Posting.objects.order_by("pk").values_list(
        "entry__public_id",
        "entry__kind",
        "entry__channel",
        "entry__created_at",
        "account__public_id",
        "amount",
        "currency",
        "entry__reverses__public_id",
    )
    for entry, kind, channel, booked_at, account, amount, currency, reverses in rows.iterator(chunk_size=5000):
        yield [
            pseudonym("entry", entry),
            kind,
            channel,
            booked_at.astimezone(dt.UTC).isoformat(),
            pseudonym("account", account),
            format_amount(amount, currency),
            currency,
            pseudonym("entry", reverses),
        ]


def _write_csv(path: Path, columns: list[str], rows: Iterable[list[str]]) -> int:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    count = 0
    with os.fdopen(fd, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(columns)
        for row in rows:
            writer.writerow(row)
            count += 1
    return count


@contextmanager
def _snapshot(alias: str) -> Iterator[None]:
    """One consistent view of the three tables: on PostgreSQL a repeatable-read, read-only transaction."""
    connection = connections[alias]
    outermost = not connection.in_atomic_block
    with transaction.atomic(using=alias):
        if outermost and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield


def _manifest(out: IO[str], report: ExportReport, created_at: dt.datetime) -> None:
    json.dump(
        {
            "created_at": created_at.isoformat(),
            "pseudonym_key_id": report.key_id,
            "files": {name: {"columns": FILES[name], "rows": report.rows[name]} for name in FILES},
            "documentation": "docs/data-governance.md",
        },
        out,
        indent=2,
    )


def masked_export(*, directory: Path, actor: str, alias: str = DEFAULT_DB_ALIAS) -> ExportReport:
    """Write customers.csv, accounts.csv, transactions.csv and manifest.json into `directory`."""
    pseudonym = Pseudonymiser(_pseudonym_key())
    names = [*FILES, "manifest.json"]
    if directory.exists() and not directory.is_dir():
        raise ExportError(f"{directory} is not a directory")
    clashes = [name for name in names if (directory / name).exists()]
    if clashes:
        raise ExportError(f"{directory} already holds {', '.join(clashes)}: export into a new or empty directory")
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    report = ExportReport(directory=directory, key_id=pseudonym.key_id)
    created_at = timezone.now()
    today = timezone.localdate(created_at)
    written: list[Path] = []
    try:
        with _snapshot(alias):
            for name, rows in (
                ("customers.csv", _customers(pseudonym, today)),
                ("accounts.csv", _accounts(pseudonym)),
                ("transactions.csv", _transactions(pseudonym)),
            ):
                written.append(directory / name)
                report.rows[name] = _write_csv(directory / name, FILES[name], rows)
        written.append(directory / "manifest.json")
        with open(os.open(directory / "manifest.json", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as out:
            _manifest(out, report, created_at)
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        raise
    with transaction.atomic(using=alias):
        audit_record(
            actor=actor,
            action="data.export_masked",
            object_type="export",
            object_id=directory.name,
            detail={"rows": report.rows, "pseudonym_key_id": report.key_id},
        )
    return report
