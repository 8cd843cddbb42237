"""Recording business audit events. Every app calls this; it calls nothing above it."""

from __future__ import annotations

from typing import Any

from apps.audit.models import AuditEvent


def audit_record(
    *, actor: str, action: str, object_type: str = "", object_id: str = "", detail: dict[str, Any] | None = None
) -> AuditEvent:
    """Append one audit event. Runs inside the caller's transaction, so it commits with the change."""
    return AuditEvent.objects.create(
        actor=actor, action=action, object_type=object_type, object_id=object_id, detail=detail or {}
    )


def audit_record_many(*, actor: str, action: str, object_type: str, object_ids: list[str]) -> None:
    """Append one event per object in a single INSERT (e.g. every row of a page shown unmasked)."""
    AuditEvent.objects.bulk_create(
        [
            AuditEvent(actor=actor, action=action, object_type=object_type, object_id=oid, detail={})
            for oid in object_ids
        ]
    )
