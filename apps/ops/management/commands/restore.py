"""restore FILE: restore an encrypted backup into an empty database (API.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.ops.services.backup import BackupError, backup_restore, backup_verify
from apps.ops.services.backup_crypto import BackupFormatError, BackupKeyError


class Command(BaseCommand):
    help = (
        "Restore a backup made by `backup` into the configured database, which must be empty. The whole "
        "file is authenticated first; a damaged, altered or truncated file, or a wrong key, changes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--verify-only", action="store_true", help="Only authenticate the file; touch no database.")

    def handle(self, *args: Any, **options: Any) -> None:
        path = options["file"].absolute()
        try:
            if options["verify_only"]:
                checked = backup_verify(path=path)
                self.stdout.write(
                    f"backup ok: {path} ({checked.engine}, made {checked.created_at}, {checked.plaintext_bytes} bytes)"
                )
                return
            result = backup_restore(path=path)
        except (BackupError, BackupFormatError, BackupKeyError) as exc:
            raise CommandError(f"restore refused: {exc}") from exc
        self.stdout.write(
            f"restored {path} ({result.engine}, made {result.created_at}, {result.plaintext_bytes} bytes); "
            "next: migrate, ANALYZE, check_ledger"
        )
