"""data_quality: ledger invariants, orphan rows and missing KYC data; non-zero exit on any finding."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from apps.ops.services.data_quality import data_quality_check


class Command(BaseCommand):
    help = (
        "Check the ledger (as check_ledger does), orphan rows, cross-table consistency and verified customers "
        "missing KYC data. Lists the findings on stderr and exits 1 if there is any; only reads."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        report = data_quality_check()
        for finding in report.findings:
            for row in finding.sample:
                self.stderr.write(f"{finding.kind}: {row}")
            if finding.count > len(finding.sample):
                self.stderr.write(f"{finding.kind}: ... and {finding.count - len(finding.sample)} more")
        if not report.ok:
            summary = "; ".join(f"{finding.count} {finding.kind}" for finding in report.findings)
            raise CommandError(f"data quality check failed: {summary}")
        self.stdout.write(f"data quality ok: {report.checks} checks, no findings")
