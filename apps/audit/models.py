"""Business audit events, and the hash chains and signed checkpoints that make them (and the
ledger) tamper-evident. Everything here is append-only except the chain heads, which only
serialise the sealer (docs/audit.md, ADR 0006)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from apps.common.models import AppendOnlyModel


class AuditEvent(AppendOnlyModel):
    actor = models.CharField(max_length=150)
    action = models.CharField(max_length=80, db_index=True)
    object_type = models.CharField(max_length=80, blank=True)
    object_id = models.CharField(max_length=80, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("audit event")
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.actor} {self.action} {self.object_type}:{self.object_id}"


class ChainLink(AppendOnlyModel):
    """One sealed row of a chain: its place (`seq`), the SHA-256 of its content and the hash
    that binds it to the link before. Links live beside the rows they seal, so the ledger and
    audit tables stay strictly insert-only (ADR 0006)."""

    chain = models.CharField(max_length=16)
    seq = models.BigIntegerField()
    object_id = models.BigIntegerField()
    content_hash = models.CharField(max_length=64)
    prev_hash = models.CharField(max_length=64)
    row_hash = models.CharField(max_length=64)
    sealed_at = models.DateTimeField()

    class Meta:
        verbose_name = _("chain link")
        ordering = ["chain", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["chain", "seq"], name="chainlink_unique_seq"),
            models.UniqueConstraint(fields=["chain", "object_id"], name="chainlink_unique_object"),
        ]

    def __str__(self) -> str:
        return f"{self.chain} #{self.seq} ({self.object_id})"


class ChainHead(models.Model):
    """The last link of a chain, and how far back the sealer still looks for late rows.

    Locked by the sealer, so chains are extended by one transaction at a time. It is a cache:
    verification never trusts it, it walks the links."""

    chain = models.CharField(max_length=16, unique=True)
    seq = models.BigIntegerField(default=0)
    head_hash = models.CharField(max_length=64, default="0" * 64)
    # Rows with an id at or below `horizon_id` were all sealed (the full sweep still checks).
    horizon_id = models.BigIntegerField(default=0)
    candidate_id = models.BigIntegerField(default=0)
    candidate_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("chain head")

    def __str__(self) -> str:
        return f"{self.chain} #{self.seq}"


class AuditCheckpoint(AppendOnlyModel):
    """A chain head signed with the bank's Ed25519 audit key, daily and on demand."""

    chain = models.CharField(max_length=16)
    day = models.DateField(db_index=True)
    seq = models.BigIntegerField()
    head_hash = models.CharField(max_length=64)
    signed_at = models.DateTimeField()
    key_id = models.CharField(max_length=16)
    public_key = models.CharField(max_length=64)  # base64 of the raw 32-byte Ed25519 public key
    signature = models.CharField(max_length=128)  # base64 of the 64-byte signature
    created_by = models.CharField(max_length=150)

    class Meta:
        verbose_name = _("audit checkpoint")
        ordering = ["-id"]
        permissions = [("verify_audit", _("Can verify the audit and ledger chains"))]

    def __str__(self) -> str:
        return f"{self.chain} {self.day} #{self.seq}"
