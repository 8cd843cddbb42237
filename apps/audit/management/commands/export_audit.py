"""manage.py export_audit FILE: both chains, their checkpoints and public keys as JSON lines,
verifiable offline with scripts/verify_audit_export.py (docs/audit.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.audit.services import audit_export


class Command(BaseCommand):
    help = "Export the audit and ledger chains with checkpoints and public keys (JSON lines) for offline checking."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="Where to write the export ('-' for standard output).")

    def handle(self, *args: Any, **options: Any) -> None:
        target = options["file"]
        if target == "-":
            result = audit_export(actor="system:export_audit", out=self.stdout)
            return
        path = Path(target)
        if not path.parent.is_dir():
            raise CommandError(f"no such directory: {path.parent}")
        tmp = path.with_name(path.name + ".partial")
        with tmp.open("w", encoding="utf-8") as out:
            result = audit_export(actor="system:export_audit", out=out)
        tmp.replace(path)
        rows = ", ".join(f"{chain}: {count} rows" for chain, count in result.rows.items())
        self.stdout.write(f"exported {rows}, {result.checkpoints} checkpoints to {path} (sha256 {result.sha256})")
