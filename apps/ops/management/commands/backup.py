"""backup FILE: an encrypted backup of the whole bank (API.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.ops.services.backup import BackupError, backup_create
from apps.ops.services.backup_crypto import BackupKeyError


class Command(BaseCommand):
    help = (
        "Write an encrypted backup of the whole database to FILE (a new file): pg_dump custom format "
        "on PostgreSQL, the online backup on SQLite, sealed with BACKUP_ENCRYPTION_KEY (AES-256-GCM)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = backup_create(path=options["file"].absolute(), actor="system:backup")
        except (BackupError, BackupKeyError) as exc:
            raise CommandError(f"backup failed: {exc}") from exc
        self.stdout.write(
            f"backup written: {result.path} ({result.engine}, {result.file_bytes} bytes, key id {result.key_id})"
        )
