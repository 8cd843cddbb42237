"""purge_expired_data: delete or erase what is past its retention period (never ledger or audit)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from apps.ops.services.retention import RETENTION_ACTOR, retention_purge


class Command(BaseCommand):
    help = (
        "Purge idempotency records, sessions and OAuth2 tokens past retention, and erase the personal data "
        "of rejected applicants past FINSYS_RETENTION_DAYS_REJECTED_KYC. Ledger and audit rows are never touched."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="Count what would be purged; change nothing.")

    def handle(self, *args: Any, **options: Any) -> None:
        report = retention_purge(actor=RETENTION_ACTOR, dry_run=options["dry_run"])
        verb = "would purge" if report.dry_run else "purged"
        for kind, count in report.counts.items():
            self.stdout.write(f"{kind}: {count}")
        self.stdout.write(f"{verb} {report.total} records")
