"""Read queries on approvals, scoped to what the actor may see."""

from __future__ import annotations

import uuid

from django.utils import timezone

from apps.common.errors import NotFound
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
