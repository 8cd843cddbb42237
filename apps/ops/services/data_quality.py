"""Data quality checks over the whole bank: the ledger proofs, orphan rows, missing KYC data.

Read-only. Foreign keys and check constraints already stop most of this on PostgreSQL; these
checks find what slipped past them anyway (a partial restore, a manual fix, constraints
dropped during a migration, SQLite in development) and name each row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Exists, F, Model, OuterRef, Q, QuerySet

from apps.accounts.models import Account, AccountStatus, Hold
from apps.customers.models import Customer, CustomerKind, KycStatus
from apps.transactions.ledger_check import ledger_check
from apps.transactions.models import JournalEntry, Posting

SAMPLE = 50  # rows named per kind of finding; the count is always complete


@dataclass
class Finding:
    kind: str
    count: int
    sample: list[str]


@dataclass
class DataQualityReport:
    findings: list[Finding] = field(default_factory=list)
    checks: int = 0

    @property
    def ok(self) -> bool:
        return not self.findings

    def add(
        self,
        kind: str,
        rows: list[str] | None = None,
        queryset: QuerySet | None = None,
        label: Callable[..., str] | None = None,
    ) -> None:  # type: ignore[type-arg]
        self.checks += 1
        if queryset is not None:
            count = queryset.count()
            sample = [label(row) for row in queryset[:SAMPLE]] if count and label else []
        else:
            rows = rows or []
            count, sample = len(rows), rows[:SAMPLE]
        if count:
            self.findings.append(Finding(kind=kind, count=count, sample=sample))


def _missing(model: type[Model], column: str) -> Any:
    """NOT EXISTS (the row `column` points at): an anti-join, fast on large tables."""
    return ~Exists(model._default_manager.filter(pk=OuterRef(column)))


def _ledger(report: DataQualityReport) -> None:
    ledger = ledger_check()
    kinds: Iterable[tuple[str, list[str]]] = [
        ("ledger: unbalanced entries", ledger.unbalanced_entries),
        ("ledger: entries with fewer than two postings", ledger.short_entries),
        ("ledger: postings with fractions of a minor unit", ledger.fractional_postings),
        ("ledger: accounts whose balance differs from their postings", ledger.balance_mismatches),
        ("ledger: accounts whose available amount differs from balance minus holds", ledger.available_mismatches),
    ]
    for kind, rows in kinds:
        report.add(kind, rows=rows)


def _orphans(report: DataQualityReport) -> None:
    report.add(
        "orphans: postings whose journal entry is missing",
        queryset=Posting.objects.filter(_missing(JournalEntry, "entry_id"))
        .order_by("pk")
        .values_list("public_id", "entry_id"),
        label=lambda row: f"posting {row[0]} -> entry #{row[1]}",
    )
    report.add(
        "orphans: postings whose account is missing",
        queryset=Posting.objects.filter(_missing(Account, "account_id"))
        .order_by("pk")
        .values_list("public_id", "account_id"),
        label=lambda row: f"posting {row[0]} -> account #{row[1]}",
    )
    report.add(
        "orphans: reversals of a missing entry",
        queryset=JournalEntry.objects.filter(reverses_id__isnull=False)
        .filter(_missing(JournalEntry, "reverses_id"))
        .order_by("pk")
        .values_list("public_id", "reverses_id"),
        label=lambda row: f"entry {row[0]} reverses entry #{row[1]}",
    )
    report.add(
        "orphans: accounts whose customer is missing",
        queryset=Account.objects.filter(customer_id__isnull=False)
        .filter(_missing(Customer, "customer_id"))
        .order_by("pk")
        .values_list("number", "customer_id"),
        label=lambda row: f"account {row[0]} -> customer #{row[1]}",
    )
    report.add(
        "orphans: holds whose account is missing",
        queryset=Hold.objects.filter(_missing(Account, "account_id"))
        .order_by("pk")
        .values_list("public_id", "account_id"),
        label=lambda row: f"hold {row[0]} -> account #{row[1]}",
    )


def _consistency(report: DataQualityReport) -> None:
    report.add(
        "consistency: postings in another currency than their account",
        queryset=Posting.objects.exclude(currency=F("account__currency"))
        .order_by("pk")
        .values_list("public_id", "currency", "account__number", "account__currency"),
        label=lambda row: f"posting {row[0]} in {row[1]} on account {row[2]} ({row[3]})",
    )
    report.add(
        "consistency: open accounts of customers whose KYC is not verified",
        queryset=Account.objects.filter(is_internal=False, status__in=[AccountStatus.ACTIVE, AccountStatus.FROZEN])
        .exclude(customer__kyc_status=KycStatus.VERIFIED)
        .filter(customer__isnull=False)
        .order_by("pk")
        .values_list("number", "customer__public_id", "customer__kyc_status"),
        label=lambda row: f"account {row[0]} of customer {row[1]} ({row[2]})",
    )


def _kyc(report: DataQualityReport) -> None:
    verified = Customer.objects.filter(kyc_status=KycStatus.VERIFIED).order_by("pk")
    report.add(
        "kyc: verified customers without a national id",
        queryset=verified.filter(Q(national_id="") | Q(national_id_index="")).values_list("public_id", "kind"),
        label=lambda row: f"customer {row[0]} ({row[1]})",
    )
    report.add(
        "kyc: verified individuals without a date of birth",
        queryset=verified.filter(kind=CustomerKind.INDIVIDUAL, date_of_birth="").values_list("public_id", flat=True),
        label=lambda public_id: f"customer {public_id}",
    )
    report.add(
        "kyc: verified customers without a recorded decision (who and when)",
        queryset=verified.filter(Q(kyc_decided_at__isnull=True) | Q(kyc_decided_by="")).values_list(
            "public_id", flat=True
        ),
        label=lambda public_id: f"customer {public_id}",
    )


def data_quality_check() -> DataQualityReport:
    """Run every check; the report lists each kind of finding with its count and a sample of rows."""
    report = DataQualityReport()
    for check in (_ledger, _orphans, _consistency, _kyc):
        check(report)
    return report
