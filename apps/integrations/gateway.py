"""The payment gateway adapter, and the built-in simulated gateway.

finsys talks to the outside payment network only through `PaymentGateway`: `submit` an order
under an idempotency key (the payment's id) and ask for its `status`. A real connector (a
clearing house, a correspondent bank's API) implements the same two calls and is selected
with the FINSYS_PAYMENT_GATEWAY setting (a dotted path); nothing else changes.

Contract for an implementation:
- `submit` with a key the gateway has seen returns the first answer and moves no money again;
- it raises `GatewayTimeout` when the answer did not arrive (the order may or may not have been
  received) and `GatewayUnavailable` when it certainly was not;
- `status` answers `unknown` only for a key the gateway never received.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Protocol

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.module_loading import import_string

from apps.integrations.models import SimulatedGatewayPayment
from apps.integrations.signing import SIGNATURE_HEADER, signature_header

logger = logging.getLogger(__name__)


class GatewayOutcome(StrEnum):
    ACCEPTED = "accepted"  # received; the final answer comes by callback (or a status query)
    SETTLED = "settled"
    REJECTED = "rejected"
    RETURNED = "returned"
    UNKNOWN = "unknown"  # status only: the gateway never received this key


@dataclass(frozen=True)
class GatewayOrder:
    key: str
    amount: Decimal
    currency: str
    beneficiary: dict[str, str] = field(default_factory=dict)
    reference: str = ""


@dataclass(frozen=True)
class GatewayAnswer:
    outcome: GatewayOutcome
    reference: str = ""
    reason: str = ""


class GatewayError(Exception):
    """The gateway could not answer; try again later with the same key."""


class GatewayUnavailable(GatewayError):
    """The order certainly did not reach the gateway."""


class GatewayTimeout(GatewayError):
    """No answer in time: the order may or may not have reached the gateway."""


class PaymentGateway(Protocol):
    def submit(self, order: GatewayOrder) -> GatewayAnswer: ...

    def status(self, key: str) -> GatewayAnswer: ...


def payment_gateway() -> PaymentGateway:
    """The configured gateway (read when called, so tests and operators can change it)."""
    gateway_class = import_string(settings.FINSYS_PAYMENT_GATEWAY)
    gateway: PaymentGateway = gateway_class()
    return gateway


# --- the simulator -------------------------------------------------------------------------

# Beneficiary account numbers starting with this are always rejected by the simulator, so a
# demo or a test can ask for a rejection without relying on the random rate.
SIMULATOR_REJECT_PREFIX = "000"


def _chance(rate: float) -> bool:
    return rate > 0 and secrets.randbelow(1_000_000) < int(rate * 1_000_000)


class SimulatedGateway:
    """A stand-in for the payment network, with the failure modes of a real one.

    Settings: FINSYS_GATEWAY_SIM_LATENCY_MS (each call waits this long), _REJECT_RATE and
    _TIMEOUT_RATE (0 to 1; a timeout loses either the order or only its answer, half each),
    _CALLBACK_URL (when set, `submit` answers `accepted` and the final answer is POSTed there,
    signed with FINSYS_GATEWAY_CALLBACK_SECRET, after the latency; otherwise `submit` answers
    with the final outcome). Its books are the SimulatedGatewayPayment table, keyed by the
    idempotency key, so repeated submissions from any process get the first answer.
    """

    def __init__(self) -> None:
        self.latency = settings.FINSYS_GATEWAY_SIM_LATENCY_MS / 1000
        self.reject_rate = settings.FINSYS_GATEWAY_SIM_REJECT_RATE
        self.timeout_rate = settings.FINSYS_GATEWAY_SIM_TIMEOUT_RATE
        self.callback_url = settings.FINSYS_GATEWAY_SIM_CALLBACK_URL
        self.secret = settings.FINSYS_GATEWAY_CALLBACK_SECRET

    def submit(self, order: GatewayOrder) -> GatewayAnswer:
        if self.latency:
            time.sleep(self.latency)
        if _chance(self.timeout_rate / 2):
            raise GatewayTimeout("simulated timeout: the order was lost")
        record, created = self._record(order)
        if _chance(self.timeout_rate / 2):
            raise GatewayTimeout("simulated timeout: the answer was lost")
        if self.callback_url:
            if created:
                self._call_back_later(record)
            return GatewayAnswer(GatewayOutcome.ACCEPTED, record.reference)
        return GatewayAnswer(GatewayOutcome(record.outcome), record.reference, record.reason)

    def status(self, key: str) -> GatewayAnswer:
        record = SimulatedGatewayPayment.objects.filter(key=key).first()
        if record is None:
            return GatewayAnswer(GatewayOutcome.UNKNOWN)
        return GatewayAnswer(GatewayOutcome(record.outcome), record.reference, record.reason)

    def _record(self, order: GatewayOrder) -> tuple[SimulatedGatewayPayment, bool]:
        account_number = str(order.beneficiary.get("account_number", ""))
        if account_number.startswith(SIMULATOR_REJECT_PREFIX):
            outcome, reason = GatewayOutcome.REJECTED, "beneficiary account closed"
        elif _chance(self.reject_rate):
            outcome, reason = GatewayOutcome.REJECTED, "rejected by the beneficiary bank"
        else:
            outcome, reason = GatewayOutcome.SETTLED, ""
        try:
            with transaction.atomic():
                record = SimulatedGatewayPayment.objects.create(
                    key=order.key,
                    amount=str(order.amount),
                    currency=order.currency,
                    outcome=outcome,
                    reason=reason,
                    reference="SIM" + secrets.token_hex(8).upper(),
                )
            return record, True
        except IntegrityError:  # seen before: the first answer stands
            return SimulatedGatewayPayment.objects.get(key=order.key), False

    def _call_back_later(self, record: SimulatedGatewayPayment) -> None:
        body = json.dumps(
            {"payment_id": record.key, "status": record.outcome, "gateway_reference": record.reference,
             "reason": record.reason}
        ).encode()  # fmt: skip
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: signature_header(self.secret, body)}
        url, delay = self.callback_url, self.latency

        def deliver() -> None:
            time.sleep(delay)
            request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310 - configured URL
            try:
                with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                    response.read()
            except (urllib.error.URLError, OSError) as exc:  # the status query recovers it
                logger.warning("simulated gateway callback failed: %s", exc)

        threading.Thread(target=deliver, daemon=True).start()
