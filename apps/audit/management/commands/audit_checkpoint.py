"""manage.py audit_checkpoint: sign the head of each chain now (beat does it daily)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from apps.audit.services import AuditChainBroken, checkpoint_create


class Command(BaseCommand):
    help = "Seal both chains, re-verify them since the last checkpoint and sign their heads (Ed25519)."

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            created = checkpoint_create(actor="system:audit_checkpoint")
        except AuditChainBroken as refusal:
            raise CommandError(str(refusal.message), returncode=1) from refusal
        except ImproperlyConfigured as problem:  # no or a malformed AUDIT_SIGNING_KEY
            raise CommandError(f"no checkpoint signed: {problem}", returncode=2) from problem
        if not created:
            self.stdout.write("nothing to sign: both chains are empty")
        for checkpoint in created:
            self.stdout.write(
                f"checkpoint {checkpoint.pk}: {checkpoint.chain} #{checkpoint.seq} {checkpoint.head_hash}"
                f" signed by key {checkpoint.key_id}"
            )
