"""export_masked DIR: a desensitised export of customers, accounts and postings for analytics."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.ops.services.masked_export import ExportError, masked_export


class Command(BaseCommand):
    help = (
        "Write customers.csv, accounts.csv, transactions.csv and manifest.json into DIR: pseudonyms "
        "(HMAC-SHA256 under EXPORT_PSEUDONYM_KEY) instead of ids, no names or other direct identifiers, "
        "age bands instead of dates of birth. Columns: docs/data-governance.md. The export is audited."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("directory", type=Path)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            report = masked_export(directory=options["directory"].absolute(), actor="system:export_masked")
        except ExportError as exc:
            raise CommandError(f"export refused: {exc}") from exc
        rows = ", ".join(f"{name} {count}" for name, count in report.rows.items())
        self.stdout.write(f"masked export written to {report.directory}: {rows} (pseudonym key id {report.key_id})")
