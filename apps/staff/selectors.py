"""Reads for the staff login: the session epoch of a user and their TOTP devices."""

from __future__ import annotations

from typing import Any

from django_otp.plugins.otp_totp.models import TOTPDevice

from apps.staff.models import StaffSessionEpoch


def staff_session_epoch(*, user_id: int) -> int:
    """The user's current session epoch (0 until they first log out everywhere)."""
    epoch = StaffSessionEpoch.objects.filter(user_id=user_id).values_list("epoch", flat=True).first()
    return int(epoch or 0)


def staff_has_confirmed_device(*, user: Any) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()
