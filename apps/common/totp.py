"""TOTP second factor (django-otp) shared by the staff login and the customer portal:
enrolment with a QR code, confirmation by a first code, verification. Callers audit."""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp.qr import write_qrcode_image


@dataclass(frozen=True)
class Enrolment:
    device: TOTPDevice
    qr_data_uri: str
    secret: str


def totp_enrolment_start(*, user: Any, device_name: str) -> Enrolment:
    """The user's unconfirmed device, made on first call and kept until confirmed (reloading the
    page shows the same secret the user may already have scanned)."""
    with transaction.atomic():
        device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=False).order_by("pk").first()
        if device is None:
            device = TOTPDevice.objects.create(user=user, name=device_name, confirmed=False)
    svg = io.BytesIO()
    write_qrcode_image(device.config_url, svg)
    secret = base64.b32encode(device.bin_key).decode()
    return Enrolment(
        device=device,
        qr_data_uri="data:image/svg+xml;base64," + base64.b64encode(svg.getvalue()).decode(),
        secret=" ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
    )


def totp_enrolment_confirm(*, user: Any, token: str) -> TOTPDevice | None:
    """Confirm the pending device with its first code (in the caller's transaction); None when wrong."""
    device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=False).order_by("pk").first()
    if device is None or not device.verify_token(token):
        return None
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    return device


def totp_verify(*, user: Any, token: str) -> TOTPDevice | None:
    """The confirmed device that accepts this code (each code works once), or None."""
    with transaction.atomic():
        for device in TOTPDevice.objects.select_for_update().filter(user=user, confirmed=True).order_by("pk"):
            if device.verify_token(token):
                return device
    return None
