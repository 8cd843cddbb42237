"""Log records never carry credentials, whatever library wrote them.

Libraries log more than a bank may keep: oauthlib, for one, writes every issued access token
at DEBUG ("Issuing token to client id ..., {'access_token': '...'}"). A log record factory,
installed once at start-up (CommonConfig.ready), blanks the value of any credential-like field
(`access_token`, `refresh_token`, `client_secret`, `password`, `otp_token`, ...) and any
`Bearer`/`Basic` credential in the formatted message before a handler sees the record. It wraps
the factory that was installed before it, so other logging set-ups keep working.

Personal data is not pattern-matched: finsys code never logs it (see CONTRIBUTING.md), and
tests/test_log_hygiene.py checks a full scenario.
"""

from __future__ import annotations

import logging
import re
from typing import Any

REDACTED = "[redacted]"
_FIELDS = r"access_token|refresh_token|id_token|client_secret|password|passwd|secret|otp_token|token_checksum|api_key"
_FIELD_VALUE = re.compile(
    rf"""(?P<key>["']?\b(?:{_FIELDS})\b["']?\s*[:=]\s*)(?P<quote>["']?)(?P<value>[^"'\s,&}}\]]+)""",
    re.IGNORECASE,
)
_AUTH_HEADER = re.compile(r"\b(?P<scheme>Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}", re.IGNORECASE)


def redact(text: str) -> str:
    text = _FIELD_VALUE.sub(lambda m: f"{m.group('key')}{m.group('quote')}{REDACTED}", text)
    return _AUTH_HEADER.sub(lambda m: f"{m.group('scheme')} {REDACTED}", text)


def install() -> None:
    """Wrap the current log record factory with redaction (once)."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "finsys_redacts", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a broken format string: leave it to the handler's error path
            return record
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return record

    factory.finsys_redacts = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)
