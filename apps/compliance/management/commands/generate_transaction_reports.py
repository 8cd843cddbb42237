"""generate_transaction_reports [--date YYYY-MM-DD] [--xml FILE] [--csv FILE]

Evaluates one business day (default: yesterday) against the configured jurisdictions' rules,
stores new reports (a second run adds only what is new) and optionally exports the day's
reports as XML and CSV (docs/compliance.md).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from apps.compliance.reports import transaction_reports_csv, transaction_reports_generate, transaction_reports_xml


class Command(BaseCommand):
    help = "Generate the large-value and suspicious transaction reports of one business day."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--date", help="Business date, YYYY-MM-DD (default: yesterday)")
        parser.add_argument("--xml", help="Write the day's reports as XML to this file")
        parser.add_argument("--csv", help="Write the day's reports as CSV to this file")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            day = (
                dt.date.fromisoformat(options["date"])
                if options.get("date")
                else timezone.localdate() - dt.timedelta(days=1)
            )
        except ValueError as exc:
            raise CommandError(f"--date: {exc}") from exc
        created = transaction_reports_generate(business_date=day)
        self.stdout.write(f"{day.isoformat()}: {len(created)} new report(s)")
        if options.get("xml"):
            Path(options["xml"]).write_bytes(transaction_reports_xml(business_date=day))
        if options.get("csv"):
            Path(options["csv"]).write_text(transaction_reports_csv(business_date=day), encoding="utf-8")
