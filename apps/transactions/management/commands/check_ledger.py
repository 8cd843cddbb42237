"""check_ledger: every entry balances and every cached balance equals its postings."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from apps.transactions.ledger_check import ledger_check


class Command(BaseCommand):
    help = "Prove the ledger: balanced entries, whole minor units, cached balances equal to postings."

    def handle(self, *args: Any, **options: Any) -> None:
        report = ledger_check()
        problems = [
            ("unbalanced entries", report.unbalanced_entries),
            ("entries with fewer than two postings", report.short_entries),
            ("postings with fractions of a minor unit", report.fractional_postings),
            ("accounts whose balance differs from their postings", report.balance_mismatches),
            ("accounts whose available amount differs from balance minus holds", report.available_mismatches),
        ]
        for title, rows in problems:
            for row in rows[:50]:
                self.stderr.write(f"{title}: {row}")
        if not report.ok:
            counts = ", ".join(f"{len(rows)} {title}" for title, rows in problems if rows)
            raise CommandError(f"ledger check failed: {counts}")
        self.stdout.write(
            f"ledger ok: {report.entries} entries balance, {report.accounts} accounts match their postings"
        )
