"""Reads for the staff login: the session epoch of a user and their TOTP devices."""

from __future__ import annotations

from typing import Any

from django_otp.plugins.otp_totp.models import TOTPDevice

from apps.audit.selectors import audit_event_exists
from apps.staff.models import StaffSessionEpoch


def staff_session_epoch(*, user_id: int) -> int:
    """The user's current session epoch (0 until they first log out everywhere)."""
    epoch = StaffSessionEpoch.objects.filter(user_id=user_id).values_list("epoch", flat=True).first()
    return int(epoch or 0)


def staff_has_confirmed_device(*, user: Any) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def staff_logged_in_from(*, user_id: int, ip_address: str) -> bool:
    """Whether the user completed a staff login from this address before (the audit trail)."""
    return audit_event_exists(
        action="staff.login", object_type="user", object_id=str(user_id), detail={"ip_address": ip_address}
    )
