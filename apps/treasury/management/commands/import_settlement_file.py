"""Import the gateway's settlement file: `manage.py import_settlement_file FILE --format csv|camt053`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.common.errors import ValidationFailed
from apps.common.principals import Actor, Channel
from apps.treasury.services_recon import settlement_file_import


class Command(BaseCommand):
    help = "Reconcile a settlement file of the payment gateway (CSV or camt.053) against our payments."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--format", choices=["csv", "camt053"], required=True)

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        try:
            content = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc}") from exc
        actor = Actor(label="system:reconciliation", channel=Channel.SYSTEM)
        try:
            result = settlement_file_import(actor=actor, content=content, filename=path.name, fmt=options["format"])
        except ValidationFailed as exc:
            raise CommandError(f"{exc.message}: {'; '.join(str(m) for m in exc.errors.get('file', []))}") from exc
        if result.duplicate:
            self.stdout.write(
                f"{path.name}: already imported on {result.file.imported_at:%Y-%m-%d %H:%M}; nothing changed"
            )
            return
        counts = ", ".join(f"{name} {n}" for name, n in sorted(result.outcomes.items())) or "no lines"
        self.stdout.write(f"{path.name}: {result.file.line_count} lines ({counts}); {result.breaks} breaks")
