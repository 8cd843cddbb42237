"""The request id: one per HTTP request, bound in contextvars so every log line of the request
carries it, and handed on to the Celery tasks the request sends (see finsys/celery.py)."""

from __future__ import annotations

import contextvars
import uuid
from collections.abc import Mapping
from typing import Any

import structlog

REQUEST_ID_HEADER = "X-Request-ID"
# The message header that carries it into a Celery task.
TASK_HEADER = "finsys_request_id"
MAX_LENGTH = 128


def request_id_is_valid(value: str) -> bool:
    """1 to 128 printable ASCII characters (no spaces or control characters: it goes into logs)."""
    return 0 < len(value) <= MAX_LENGTH and all("!" <= ch <= "~" for ch in value)


def request_id_new() -> str:
    return uuid.uuid4().hex


def request_id_bind(request_id: str, **more: Any) -> Mapping[str, contextvars.Token[Any]]:
    """Bind it (and `more`) for the log lines that follow; pass the result to `request_id_unbind`."""
    return structlog.contextvars.bind_contextvars(request_id=request_id, **more)


def request_id_unbind(tokens: Mapping[str, contextvars.Token[Any]]) -> None:
    structlog.contextvars.reset_contextvars(**tokens)


def request_id_current() -> str | None:
    value = structlog.contextvars.get_contextvars().get("request_id")
    return value if isinstance(value, str) else None
