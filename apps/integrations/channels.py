"""How a delivery leaves the bank: a signed webhook POST, an e-mail, an SMS.

Each sender returns nothing on success and raises `DeliveryFailed` with a reason otherwise.
SMS goes through a provider interface (FINSYS_SMS_BACKEND, a dotted path); the shipped console
provider writes the message to the log, as Django's console e-mail backend does for mail."""

from __future__ import annotations

import http.client
import json
import logging
import smtplib
import urllib.error
import urllib.request
from typing import Any, Protocol

from django.conf import settings
from django.core.mail import send_mail
from django.utils.module_loading import import_string

from apps.integrations.signing import SIGNATURE_HEADER, signature_header

logger = logging.getLogger(__name__)


class DeliveryFailed(Exception):
    """This attempt did not deliver; the reason is kept on the delivery."""


def webhook_send(*, url: str, secret: str, delivery_id: str, kind: str, document: dict[str, Any]) -> None:
    body = json.dumps(document, separators=(",", ":"), sort_keys=True).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "finsys-webhooks/1",
        "X-Finsys-Event": kind,
        "X-Finsys-Delivery": delivery_id,
        SIGNATURE_HEADER: signature_header(secret, body),
    }
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310 - http(s) only, checked at registration
    try:
        with urllib.request.urlopen(request, timeout=settings.FINSYS_WEBHOOK_TIMEOUT_SECONDS) as response:  # noqa: S310
            response.read(65536)
    except urllib.error.HTTPError as exc:
        raise DeliveryFailed(f"HTTP {exc.code}") from exc
    except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
        raise DeliveryFailed(f"{type(exc).__name__}: {exc}"[:500]) from exc


def email_send(*, to: str, subject: str, text: str) -> None:
    try:
        send_mail(subject, text, settings.DEFAULT_FROM_EMAIL, [to])
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryFailed(f"{type(exc).__name__}: {exc}"[:500]) from exc


class SmsProvider(Protocol):
    def send(self, *, to: str, text: str) -> None:
        """Send or raise DeliveryFailed."""


class ConsoleSmsProvider:
    """Writes the message to the log instead of sending it (development, tests, demos)."""

    sent: list[tuple[str, str]] = []  # the last messages, for tests and the demo

    def send(self, *, to: str, text: str) -> None:
        masked = f"{to[:3]}****{to[-2:]}" if len(to) > 5 else "****"
        logger.warning("SMS to %s: %s", masked, text)
        type(self).sent = [*type(self).sent[-99:], (to, text)]


def sms_send(*, to: str, text: str) -> None:
    provider: SmsProvider = import_string(settings.FINSYS_SMS_BACKEND)()
    provider.send(to=to, text=text)
