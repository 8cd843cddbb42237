"""Staff authentication actions: TOTP enrolment and verification, logins, log out everywhere.

Each writes its audit event in the same transaction. Sessions themselves (Django's login and
logout) belong to the views; these functions change only the stored state.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from apps.audit.services import audit_record
from apps.common.principals import Actor
from apps.common.totp import Enrolment, totp_enrolment_confirm, totp_enrolment_start, totp_verify
from apps.integrations.services import outbox_emit
from apps.staff.models import StaffSessionEpoch
from apps.staff.selectors import staff_logged_in_from

ENROLMENT_DEVICE_NAME = "authenticator"


def _label(user: Any) -> str:
    return f"user:{user.get_username()}"


def staff_otp_enrolment_start(*, user: Any) -> Enrolment:
    """The user's unconfirmed TOTP device with its QR code (apps.common.totp)."""
    return totp_enrolment_start(user=user, device_name=ENROLMENT_DEVICE_NAME)


def staff_otp_enrolment_confirm(*, user: Any, token: str) -> TOTPDevice | None:
    """Confirm the pending device with its first code; None when the code is wrong."""
    with transaction.atomic():
        device = totp_enrolment_confirm(user=user, token=token)
        if device is not None:
            audit_record(actor=_label(user), action="staff.otp_enrolled", object_type="user", object_id=str(user.pk))
        return device


def staff_otp_verify(*, user: Any, token: str) -> TOTPDevice | None:
    """The confirmed device that accepts this code (each code works once), or None."""
    return totp_verify(user=user, token=token)


def staff_login_record(*, user: Any, ip_address: str) -> None:
    """Both factors passed: the login is recorded. A login from an address this user never
    logged in from before also sends them a login alert by e-mail (through the outbox)."""
    with transaction.atomic():
        known_address = staff_logged_in_from(user_id=int(user.pk), ip_address=ip_address)
        audit_record(
            actor=_label(user),
            action="staff.login",
            object_type="user",
            object_id=str(user.pk),
            detail={"ip_address": ip_address},
        )
        if not known_address and user.email:
            outbox_emit(
                kind="security.login_alert",
                payload={"user": user.get_username(), "ip_address": ip_address, "at": timezone.now().isoformat()},
                notify_email=user.email,
                message=_(
                    "finsys: your staff account %(user)s was just logged in to from a new address, %(ip)s. "
                    "If this was not you, tell the bank's security team at once."
                )
                % {"user": user.get_username(), "ip": ip_address},
            )


def staff_logout_everywhere(*, user: Any) -> int:
    """End every session of the user, on every device; returns the new epoch."""
    with transaction.atomic():
        StaffSessionEpoch.objects.get_or_create(user=user)
        StaffSessionEpoch.objects.filter(user=user).update(epoch=F("epoch") + 1)
        epoch = StaffSessionEpoch.objects.values_list("epoch", flat=True).get(user=user)
        audit_record(actor=_label(user), action="staff.logout_everywhere", object_type="user", object_id=str(user.pk))
        return int(epoch)


def staff_otp_reset(*, actor: Actor, user: Any) -> None:
    """An administrator removes a user's TOTP devices (a lost phone): the user enrols again at
    the next login, and their open sessions end."""
    with transaction.atomic():
        removed, _ = TOTPDevice.objects.filter(user=user).delete()
        StaffSessionEpoch.objects.get_or_create(user=user)
        StaffSessionEpoch.objects.filter(user=user).update(epoch=F("epoch") + 1)
        audit_record(
            actor=actor.label,
            action="staff.otp_reset",
            object_type="user",
            object_id=str(user.pk),
            detail={"username": user.get_username(), "devices_removed": removed},
        )
