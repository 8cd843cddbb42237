"""Domain errors: a stable code, an HTTP status and a message for people.

Services raise these; the API turns them into RFC 9457 problem details and the pages into
form messages. Each code is listed once in ErrorCode.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from django.utils.translation import gettext_lazy as _


class ErrorCode(StrEnum):
    VALIDATION_ERROR = "validation_error"
    IDEMPOTENCY_KEY_REQUIRED = "idempotency_key_required"
    MALFORMED_JSON = "malformed_json"
    NOT_AUTHENTICATED = "not_authenticated"
    PERMISSION_DENIED = "permission_denied"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    NOT_ACCEPTABLE = "not_acceptable"
    IDEMPOTENCY_CONFLICT = "idempotency_conflict"
    ALREADY_REVERSED = "already_reversed"
    APPROVAL_NOT_PENDING = "approval_not_pending"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    INSUFFICIENT_FUNDS = "insufficient_funds"
    CURRENCY_MISMATCH = "currency_mismatch"
    ACCOUNT_NOT_ACTIVE = "account_not_active"
    CUSTOMER_NOT_VERIFIED = "customer_not_verified"
    SAME_ACCOUNT = "same_account"
    LIMIT_EXCEEDED = "limit_exceeded"
    BALANCE_NOT_ZERO = "balance_not_zero"
    BLOCKED_BY_SCREENING = "blocked_by_screening"
    NOT_REVERSIBLE = "not_reversible"
    HOLD_NOT_ACTIVE = "hold_not_active"
    THROTTLED = "throttled"
    NOT_IMPLEMENTED = "not_implemented"
    SERVICE_UNAVAILABLE = "service_unavailable"
    READ_ONLY_MODE = "read_only_mode"
    PAYMENTS_STOPPED = "payments_stopped"
    CUSTOMER_FROZEN = "customer_frozen"
    FX_RATE_UNAVAILABLE = "fx_rate_unavailable"
    REPORT_NOT_READY = "report_not_ready"
    REPORT_EXPIRED = "report_expired"


class DomainError(Exception):
    """A business rule refused the request. Nothing was changed."""

    code: ErrorCode = ErrorCode.VALIDATION_ERROR
    status: int = 422
    title: Any = _("The request was refused")

    def __init__(self, message: Any = None, *, extra: dict[str, Any] | None = None) -> None:
        self.message = message if message is not None else self.title
        self.extra = extra or {}
        super().__init__(str(self.message))


class ValidationFailed(DomainError):
    code = ErrorCode.VALIDATION_ERROR
    status = 400
    title = _("The request is not valid")

    def __init__(self, errors: dict[str, list[Any]], message: Any = None) -> None:
        self.errors = errors
        super().__init__(message or self.title)


class NotFound(DomainError):
    code = ErrorCode.NOT_FOUND
    status = 404
    title = _("Not found")


class PermissionDenied(DomainError):
    code = ErrorCode.PERMISSION_DENIED
    status = 403
    title = _("You may not do this")


class InsufficientFunds(DomainError):
    code = ErrorCode.INSUFFICIENT_FUNDS
    title = _("Insufficient funds")


class CurrencyMismatchError(DomainError):
    code = ErrorCode.CURRENCY_MISMATCH
    title = _("The currency does not match the account's")


class AccountNotActive(DomainError):
    code = ErrorCode.ACCOUNT_NOT_ACTIVE
    title = _("The account is not active")


class CustomerNotVerified(DomainError):
    code = ErrorCode.CUSTOMER_NOT_VERIFIED
    title = _("The customer's KYC is not verified")


class SameAccount(DomainError):
    code = ErrorCode.SAME_ACCOUNT
    title = _("The source and destination accounts are the same")


class LimitExceeded(DomainError):
    code = ErrorCode.LIMIT_EXCEEDED
    title = _("A limit would be exceeded")


class BalanceNotZero(DomainError):
    code = ErrorCode.BALANCE_NOT_ZERO
    title = _("The account balance is not zero")


class BlockedByScreening(DomainError):
    code = ErrorCode.BLOCKED_BY_SCREENING
    title = _("Blocked by sanctions screening")


class NotReversible(DomainError):
    code = ErrorCode.NOT_REVERSIBLE
    title = _("This transaction cannot be reversed")


class AlreadyReversed(DomainError):
    code = ErrorCode.ALREADY_REVERSED
    status = 409
    title = _("This transaction has already been reversed")


class ApprovalNotPending(DomainError):
    code = ErrorCode.APPROVAL_NOT_PENDING
    status = 409
    title = _("The approval has already been decided or has expired")


class HoldNotActive(DomainError):
    code = ErrorCode.HOLD_NOT_ACTIVE
    status = 409
    title = _("The hold is no longer active")


class IdempotencyConflict(DomainError):
    code = ErrorCode.IDEMPOTENCY_CONFLICT
    status = 409
    title = _("This Idempotency-Key was used for a different request")


class ReadOnlyMode(DomainError):
    """An emergency control put the whole bank in read-only mode (apps.common.controls)."""

    code = ErrorCode.READ_ONLY_MODE
    status = 503
    title = _("The bank is in read-only mode")


class PaymentsStopped(DomainError):
    """An emergency control stopped every outgoing payment (apps.common.controls)."""

    code = ErrorCode.PAYMENTS_STOPPED
    status = 503
    title = _("Outgoing payments are stopped")


class CustomerFrozen(DomainError):
    """An emergency control froze this customer everywhere (apps.common.controls)."""

    code = ErrorCode.CUSTOMER_FROZEN
    status = 403
    title = _("The customer is frozen")


class FxRateUnavailable(DomainError):
    code = ErrorCode.FX_RATE_UNAVAILABLE
    title = _("No valid exchange rate for this currency pair")
