"""Idempotent execution: the same key and request give the first response, and move money once.

The record (key, request fingerprint and the response) is inserted at the end of the business
action's own database transaction, and the unique index on (principal, key) decides:
- a duplicate that arrives while the first is running does its work, then blocks on the index
  at its INSERT until the first commits, rolls its whole transaction back and replays the first
  response; one arriving later does the same without waiting. Only one of them commits;
- if the first rolls back (a crash, a lost connection), nothing is stored and a retry runs anew;
- a business refusal (DomainError) rolls the whole transaction back; its response is then
  stored by a second, short transaction (INSERT ... ON CONFLICT DO NOTHING: if a duplicate
  stored an answer in between, that answer wins and is replayed). A 400 (malformed request) or
  a 5xx (a temporary stop) is not stored, so a later retry runs anew. What the refusal asked to
  record after its rollback (apps.common.refusals: the alert of a blocked movement) is written
  in that second transaction, only when ours is the stored answer: once per request.

A successful call is BEGIN, the action's statements, one INSERT and COMMIT: no savepoint and no
second statement for the record; on PostgreSQL BEGIN travels with the first statement and the
INSERT with COMMIT (finsys/postgresql/connection.py; the transfer benchmark, bench/README.md). Duplicates, the rare
case, pay for it by doing the action's work before they find out.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from apps.common.database import execute_at_commit
from apps.common.errors import DomainError, IdempotencyConflict
from apps.common.models import IdempotencyRecord
from apps.common.refusals import refusal_settle

Outcome = tuple[int, Any]


@dataclass(frozen=True)
class IdempotentResult:
    status: int
    body: Any
    replayed: bool


def request_fingerprint(method: str, path: str, document: Any) -> str:
    """A digest of what makes two requests 'the same': method, path and the JSON document."""
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(f"{method.upper()} {path}\n{canonical}".encode()).hexdigest()


_TABLE = IdempotencyRecord._meta.db_table
_UNIQUE_KEY = "idempotency_unique_key"


def _insert_record(principal: str, key: str, fingerprint: str, status: int, body: Any) -> None:
    """Plain SQL on the hot path (every money-moving call): no ORM work for a fixed statement.
    On PostgreSQL it travels with the COMMIT (finsys/postgresql): a duplicate key then fails
    the commit, with the same IntegrityError."""
    sql = (
        f"INSERT INTO {_TABLE} (principal, key, fingerprint, created_at, status_code, response) "  # noqa: S608 - our table name
        "VALUES (%s, %s, %s, %s, %s, %s)"
    )
    params: list[Any] = [principal, key, fingerprint, timezone.now(), status, json.dumps(body, cls=DjangoJSONEncoder)]
    execute_at_commit(sql, params)


def _is_record_conflict(error: IntegrityError) -> bool:
    """Our record's INSERT met the unique key: a request with this key got there first."""
    diag = getattr(error.__cause__, "diag", None)
    if diag is not None:  # PostgreSQL names the constraint
        return getattr(diag, "constraint_name", None) == _UNIQUE_KEY
    return f"{_TABLE}.principal, {_TABLE}.key" in str(error)  # SQLite names the columns


def _insert_refusal(principal: str, key: str, fingerprint: str, status: int, body: Any) -> bool:
    """Stores a refusal's answer unless a duplicate stored one first; True when ours was stored."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {_TABLE} (principal, key, fingerprint, created_at, status_code, response) "  # noqa: S608 - our table name
            "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (principal, key) DO NOTHING RETURNING id",
            [principal, key, fingerprint, timezone.now(), status, json.dumps(body, cls=DjangoJSONEncoder)],
        )
        return cursor.fetchone() is not None


def _replay(principal: str, key: str, fingerprint: str) -> IdempotentResult | None:
    """The stored answer for this key, or None when there is none (the first rolled back)."""
    existing = IdempotencyRecord.objects.filter(principal=principal, key=key).first()
    if existing is None:
        return None
    if existing.fingerprint != fingerprint:
        raise IdempotencyConflict()
    assert existing.status_code is not None  # written in the same transaction as the row
    return IdempotentResult(status=existing.status_code, body=existing.response, replayed=True)


def run_idempotent(
    *,
    principal: str,
    key: str,
    fingerprint: str,
    action: Callable[[], Outcome],
    on_refusal: Callable[[DomainError], Outcome],
) -> IdempotentResult:
    for _attempt in range(3):
        try:
            with transaction.atomic():
                status, body = action()
                _insert_record(principal, key, fingerprint, status, body)
            return IdempotentResult(status=status, body=body, replayed=False)
        except IntegrityError as error:
            # Ours rolled back. A stored answer for the key is the answer (the action may have
            # met the first request's rows before the record's index); without one, only a
            # lost race for the key is retried (the first rolled back), anything else is a bug.
            if _replay(principal, key, fingerprint) is None and not _is_record_conflict(error):
                raise
        except DomainError as refusal:
            if refusal.status == 400 or refusal.status >= 500:
                # malformed (API.md), or a temporary stop such as an emergency control (503):
                # nothing is stored, so a later retry runs
                raise
            status, body = on_refusal(refusal)
            with transaction.atomic():
                stored = _insert_refusal(principal, key, fingerprint, status, body)
                if stored:
                    refusal_settle(refusal, caught=True)  # e.g. the alert of a blocked movement
            if stored:
                return IdempotentResult(status=status, body=body, replayed=False)
        replayed = _replay(principal, key, fingerprint)
        if replayed is not None:
            return replayed
        # the request that held the key rolled back meanwhile: ours runs again
    raise RuntimeError("idempotency record kept disappearing")  # pragma: no cover


def idempotency_purge_expired(*, now: Any = None, dry_run: bool = False) -> int:
    """Delete records older than FINSYS_IDEMPOTENCY_TTL_HOURS (at least 24 h, per API.md).

    Returns how many were deleted, or with `dry_run` how many would be.
    """
    hours = max(24, settings.FINSYS_IDEMPOTENCY_TTL_HOURS)
    cutoff = (now or timezone.now()) - timedelta(hours=hours)
    expired = IdempotencyRecord.objects.filter(created_at__lt=cutoff)
    if dry_run:
        return expired.count()
    deleted, _ = expired.delete()
    return deleted
