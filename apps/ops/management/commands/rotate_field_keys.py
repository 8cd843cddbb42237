"""rotate_field_keys: re-encrypt personal data under the newest FIELD_ENCRYPTION_KEYS key."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from apps.audit.services import audit_record
from apps.common.crypto import key_ring
from apps.common.key_rotation import field_keys_rotate


class Command(BaseCommand):
    help = (
        "Re-encrypt every encrypted field under the first key of FIELD_ENCRYPTION_KEYS, in small "
        "locked batches, without downtime. Keep the old keys listed until this has run."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args: Any, **options: Any) -> None:
        report = field_keys_rotate(batch_size=options["batch_size"])
        primary = key_ring().primary_id
        audit_record(
            actor="system:rotate_field_keys", action="keys.rotate_field_keys",
            detail={"primary_key_id": primary, "rewritten": report.rewritten},
        )  # fmt: skip
        rows = ", ".join(f"{label} {count}" for label, count in report.rewritten.items())
        self.stdout.write(f"re-encrypted {report.total} rows under key {primary}: {rows}")
