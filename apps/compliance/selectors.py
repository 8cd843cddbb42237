"""Read queries on approvals, scoped to what the actor may see."""

from __future__ import annotations

import uuid

from django.utils import timezone

from apps.common.errors import NotFound
from apps.common.models import EmergencyControl
from apps.common.principals import Actor
from apps.compliance.models import Approval, ApprovalStatus


def approval_get(*, actor: Actor, public_id: uuid.UUID | str) -> Approval:
    qs = Approval.objects.all()
    if actor.customer_id is not None:
        qs = qs.filter(customer_id=actor.customer_id)
    try:
        return qs.get(public_id=public_id)
    except (Approval.DoesNotExist, ValueError):
        raise NotFound() from None


def approval_effective_status(approval: Approval) -> str:
    """Pending past its expiry reads as expired, even before the sweep marks it."""
    if approval.status == ApprovalStatus.PENDING and approval.expires_at <= timezone.now():
        return ApprovalStatus.EXPIRED
    return approval.status


def emergency_control_active(*, kind: str, customer_id: int | None = None) -> EmergencyControl | None:
    """The switch of this kind (for this customer) that is on now, if any."""
    return (
        EmergencyControl.objects.select_related("customer")
        .filter(kind=kind, customer__isnull=customer_id is None, active=True)
        .filter(**({"customer_id": customer_id} if customer_id is not None else {}))
        .first()
    )


def emergency_controls_on() -> list[EmergencyControl]:
    return list(EmergencyControl.objects.select_related("customer").filter(active=True).order_by("id"))
