"""Idempotent execution: the same key and request give the first response, and move money once.

The record is inserted first, in the same database transaction as the business action, so:
- a duplicate that arrives while the first is running blocks on the unique index until the
  first commits, then finds the stored response and replays it;
- if the first rolls back (a crash, a lost connection), nothing is stored and a retry runs anew;
- a business refusal (DomainError) rolls the whole transaction back, record included; its
  response is then stored by a second, short transaction (INSERT ... ON CONFLICT DO NOTHING: if a
  duplicate stored an answer in between, that answer wins and is replayed). A 400 (malformed
  request) or a 5xx (a temporary stop) is not stored, so a later retry runs anew. What the
  refusal asked to record after its rollback (apps.common.refusals: the alert of a blocked
  movement) is written in that second transaction, only when ours is the stored answer: once
  per request.

No savepoint: a successful call is BEGIN, the record INSERT, the action's statements, the
response UPDATE and COMMIT. Refusals are the rare path and pay the extra transaction instead of
every call paying a SAVEPOINT and a RELEASE round trip (the transfer benchmark, bench/).
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


def _insert_record(principal: str, key: str, fingerprint: str) -> int:
    """Plain SQL on the hot path (every money-moving call): no ORM work for a fixed statement."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {_TABLE} (principal, key, fingerprint, created_at) VALUES (%s, %s, %s, %s) RETURNING id",  # noqa: S608 - our table name
            [principal, key, fingerprint, timezone.now()],
        )
        return int(cursor.fetchone()[0])


def _store_response(record_id: int, status: int, body: Any) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {_TABLE} SET status_code = %s, response = %s WHERE id = %s",  # noqa: S608 - our table name
            [status, json.dumps(body, cls=DjangoJSONEncoder), record_id],
        )


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
        inserted = False
        try:
            with transaction.atomic():
                record_id = _insert_record(principal, key, fingerprint)
                inserted = True
                status, body = action()
                _store_response(record_id, status, body)
            return IdempotentResult(status=status, body=body, replayed=False)
        except IntegrityError:
            if inserted:
                raise
        except DomainError as refusal:
            if not inserted or refusal.status == 400 or refusal.status >= 500:
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
        # the first request rolled back meanwhile: ours runs now
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
