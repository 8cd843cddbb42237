"""roles_sync: make the staff role groups hold exactly the permissions of apps/common/roles.py (audited)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from apps.audit.services import audit_record
from apps.common.roles import roles_sync


class Command(BaseCommand):
    help = "Create or update the staff role groups from the permission matrix in code (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            counts = roles_sync()
        except LookupError as exc:
            raise CommandError(f"{exc} (run migrate first)") from None
        audit_record(actor="system:cli", action="roles.sync", detail={"permissions": counts})
        for role, count in counts.items():
            self.stdout.write(f"{role}: {count} permissions")
