"""manage.py verify_audit: recompute the audit and ledger chains and check every checkpoint.

Exits 0 with a one-line summary; otherwise non-zero with one line on stderr naming the first
broken row (chain, seq, id, what is wrong). API.md fixes this contract."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.audit.services import audit_verify


class Command(BaseCommand):
    help = "Re-compute the audit and ledger hash chains and checkpoint signatures; name the first broken row."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--no-seal",
            action="store_true",
            help="Verify what is sealed now, without sealing new rows first (rows unsealed past the grace are reported).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = audit_verify(actor="system:verify_audit", seal=not options["no_seal"])
        except ImproperlyConfigured as problem:  # a malformed audit key setting
            raise CommandError(f"audit verification impossible: {problem}", returncode=2) from problem
        if not result.ok:
            more = f" (and {len(result.problems) - 1} more problems)" if len(result.problems) > 1 else ""
            raise CommandError(f"audit verification failed: {result.first_problem}{more}", returncode=1)
        self.stdout.write(f"audit verified: {result.summary()}")
