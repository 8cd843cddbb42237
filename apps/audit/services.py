"""Recording business audit events. Every app calls this; it calls nothing above it."""

from __future__ import annotations

from typing import Any

from axes.models import AccessAttempt
from django.db import transaction
from django.utils.translation import gettext as _

from apps.audit.models import AuditEvent
from apps.common.errors import ValidationFailed
from apps.common.principals import Actor


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


def auth_lockout_record(*, username: str, ip_address: str, path: str, failures: int) -> AuditEvent:
    """A username (or API client id) was locked out at one IP after repeated failed secrets."""
    return audit_record(
        actor=f"ip:{ip_address}",
        action="auth.lockout",
        object_type="api_client" if path.startswith("/api/") else "user",
        object_id=username[:80],
        detail={"ip_address": ip_address, "path": path[:200], "failures": failures},
    )


def auth_lockout_release(*, actor: Actor, attempt: AccessAttempt) -> None:
    """Unlock a username+IP before the cool-off ends (an administrator's decision), audited."""
    with transaction.atomic():
        locked = AccessAttempt.objects.select_for_update().filter(pk=attempt.pk).first()
        if locked is None:
            raise ValidationFailed({}, _("This lockout has already ended."))
        audit_record(
            actor=actor.label,
            action="auth.unlock",
            object_type="api_client" if locked.path_info.startswith("/api/") else "user",
            object_id=locked.username[:80] if locked.username else "",
            detail={"ip_address": locked.ip_address, "failures": locked.failures_since_start},
        )
        locked.delete()
