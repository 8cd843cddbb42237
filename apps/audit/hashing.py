"""How a chained row is hashed and a checkpoint signed: the exact bytes, documented in
docs/audit.md and repeated (standard library only) in scripts/verify_audit_export.py, so an
auditor recomputes everything offline. Change nothing here without a new format version."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from decimal import Decimal
from typing import Any

FORMAT_VERSION = 1
GENESIS_HASH = "0" * 64


def canonical_json(content: dict[str, Any]) -> bytes:
    """Sorted keys, no spaces, UTF-8 (not \\u escapes): one byte string per content."""
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def content_hash(content: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(content)).hexdigest()


def link_hash(chain: str, seq: int, prev_hash: str, content_digest: str) -> str:
    """The row hash: binds the content to its chain, its place and everything before it."""
    return hashlib.sha256(f"{chain}:{seq}:{prev_hash}:{content_digest}".encode()).hexdigest()


def iso_utc(value: dt.datetime | None) -> str | None:
    """A timestamp as ISO 8601 in UTC with microseconds: `2026-11-29T12:00:00.000000+00:00`."""
    if value is None:
        return None
    return value.astimezone(dt.UTC).isoformat(timespec="microseconds")


def amount_str(value: Decimal) -> str:
    """An amount as the database holds it: four decimal places, no exponent (`-12.5000`)."""
    return format(value.quantize(Decimal("0.0001")), "f")


def checkpoint_message(*, chain: str, day: str, seq: int, head_hash: str, signed_at: str) -> bytes:
    """The bytes an audit checkpoint signs."""
    return f"finsys-audit-checkpoint:v{FORMAT_VERSION}:{chain}:{day}:{seq}:{head_hash}:{signed_at}".encode()
