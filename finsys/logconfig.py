"""Logging: structlog renders every log line (ours and every library's) as one JSON object on
stderr, with the request id and any other context bound in contextvars.

Never log request bodies, headers such as Authorization, tokens, passwords or unmasked personal
data: only the allow-listed `extra` keys below reach the output.
"""

from __future__ import annotations

from typing import Any

import structlog

# stdlib `extra={...}` keys copied into the JSON line; anything else passed as extra is dropped
# (Django's own loggers attach the request object, which must not be dumped).
EXTRA_KEYS = ["method", "path", "status", "status_code", "duration_ms", "task", "task_id", "view"]


def _shared_processors() -> list[Any]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]


def logging_config(*, level: str, fmt: str) -> dict[str, Any]:
    """The LOGGING setting: `fmt` is "json" (default) or "console" (readable, for development)."""
    renderer: Any = (
        structlog.dev.ConsoleRenderer(colors=False) if fmt == "console" else structlog.processors.JSONRenderer()
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "structlog": {
                "()": structlog.stdlib.ProcessorFormatter,
                "processors": [
                    structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.format_exc_info,
                    renderer,
                ],
                "foreign_pre_chain": [*_shared_processors(), structlog.stdlib.ExtraAdder(allow=EXTRA_KEYS)],
            }
        },
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "structlog"}},
        "root": {"handlers": ["console"], "level": level},
    }


def configure_structlog() -> None:
    """structlog's own loggers (structlog.get_logger) hand their events to stdlib logging, so
    one formatter renders everything."""
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *_shared_processors(),
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
