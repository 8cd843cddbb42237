"""Business actions of the back office itself (the rest are other apps' services): recording a
postings export, and posting a counter movement once per form (the form's one-time token is the
idempotency key, apps.common.idempotency)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import transaction

from apps.audit.services import audit_record
from apps.common.errors import DomainError
from apps.common.idempotency import IdempotentResult, request_fingerprint, run_idempotent
from apps.common.principals import Actor


def postings_export_record(*, actor: Actor, account_public_id: str, rows: int, filters: dict[str, Any]) -> None:
    """Every CSV export of an account's postings leaves an audit event: who, which account, what."""
    with transaction.atomic():
        audit_record(
            actor=actor.label,
            action="account.postings_export",
            object_type="account",
            object_id=account_public_id,
            detail={"rows": rows, "filters": {k: str(v) for k, v in filters.items() if v not in (None, "")}},
        )


def counter_post_once(
    *, actor: Actor, token: str, form_name: str, document: dict[str, Any], action: Callable[[], dict[str, Any]]
) -> IdempotentResult:
    """Run `action` (a movement service) once for this form token: a second submission of the same
    form replays the first outcome (posted: the same receipt; refused: the same message) and moves
    no money. A refusal is stored as {"error": message, "code": code}."""

    def run() -> tuple[int, Any]:
        return 201, action()

    def refused(refusal: DomainError) -> tuple[int, Any]:
        return refusal.status, {"error": str(refusal.message), "code": str(refusal.code)}

    return run_idempotent(
        principal=actor.label,
        key=f"staff-form:{token}",
        fingerprint=request_fingerprint("POST", f"staff:{form_name}", document),
        action=run,
        on_refusal=refused,
    )
