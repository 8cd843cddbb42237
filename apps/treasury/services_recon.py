"""Reconciliation of the gateway's settlement file against our payments (docs/treasury.md).

`settlement_file_import` parses the file (nothing is kept when it is malformed), then in one
transaction stores it, its lines and a decision per line under the payments' row locks:

| file says | our payment is | outcome |
|---|---|---|
| settled  | submitted (no other answer recorded) | `settle`: the answer is recorded and booked |
| rejected | submitted (no other answer recorded) | `reject`: the hold is released |
| returned | settled (or submitted: settled first) | `return`: the compensating entry |
| the same final status | that status | `agreed`: nothing to do |
| anything | unknown, other amount or currency, another state | `break` |

and a `missing_from_file` break for every payment still submitted on or before the file's
statement date that the file does not mention. After commit the decisions are carried out with
the payment services (`payment_record_answer`, `payments_settle`, `payment_return`), each
idempotent under the payment's lock. Importing the same bytes again stores nothing and only
carries out what is left of the first import (normally nothing), so a crash between the two
steps is repaired by importing the file again.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.audit.services import audit_record
from apps.common.errors import ValidationFailed
from apps.common.principals import Actor
from apps.integrations.gateway import GatewayAnswer, GatewayOutcome
from apps.transactions.models import Payment, PaymentStatus
from apps.transactions.services_payments import payment_record_answer, payment_return, payments_settle
from apps.treasury.models import (
    Break,
    BreakKind,
    BreakStatus,
    LineOutcome,
    SettlementFile,
    SettlementLine,
)
from apps.treasury.settlement_formats import PARSERS, ParsedLine, SettlementFileError


@dataclass
class ImportResult:
    file: SettlementFile
    duplicate: bool
    outcomes: dict[str, int] = field(default_factory=dict)
    breaks: int = 0


def _decide(line: ParsedLine, payment: Payment | None) -> tuple[str, str, str]:
    """(outcome, break kind, detail) of one line against our payment (locked)."""
    if payment is None:
        return LineOutcome.BREAK, BreakKind.UNKNOWN_REFERENCE, f"no payment {line.payment_key}"
    if line.currency != payment.currency:
        return LineOutcome.BREAK, BreakKind.CURRENCY_MISMATCH, f"file {line.currency}, ours {payment.currency}"
    if line.amount != payment.amount:
        return (
            LineOutcome.BREAK,
            BreakKind.AMOUNT_MISMATCH,
            f"file {line.amount} {line.currency}, ours {payment.amount.normalize()} {payment.currency}",
        )
    status = payment.status
    if status == line.status:
        return LineOutcome.AGREED, "", ""
    submitted_open = status == PaymentStatus.SUBMITTED and payment.gateway_outcome in ("", GatewayOutcome.SETTLED)
    if line.status == "settled" and submitted_open:
        return LineOutcome.SETTLE, "", ""
    if line.status == "returned" and (status == PaymentStatus.SETTLED or submitted_open):
        return LineOutcome.RETURN, "", ""
    if (
        line.status == "rejected"
        and status == PaymentStatus.SUBMITTED
        and payment.gateway_outcome in ("", GatewayOutcome.REJECTED)
    ):
        return LineOutcome.REJECT, "", ""
    recorded = f" (gateway answer {payment.gateway_outcome})" if payment.gateway_outcome else ""
    return LineOutcome.BREAK, BreakKind.STATE_MISMATCH, f"file {line.status}, ours {status}{recorded}"


def _payment_pk(key: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(key)
    except ValueError:
        return None


def settlement_file_import(*, actor: Actor, content: bytes, filename: str, fmt: str) -> ImportResult:
    """Import one settlement file (see the module docstring). Raises ValidationFailed naming
    the line when the file is malformed; then nothing is stored or changed."""
    if fmt not in PARSERS:
        raise ValidationFailed({"format": [_("Use csv or camt053.")]})
    try:
        parsed = PARSERS[fmt](content)
    except SettlementFileError as exc:
        raise ValidationFailed(
            {"file": [_("Line %(line)s: %(message)s") % {"line": exc.line or "-", "message": exc.message}]},
            message=_("The settlement file is not valid; nothing was imported."),
        ) from None
    digest = hashlib.sha256(content).hexdigest()
    existing = SettlementFile.objects.filter(sha256=digest).first()
    if existing is not None:
        _carry_out(existing, actor)
        return ImportResult(file=existing, duplicate=True)
    keys = {line.payment_key: _payment_pk(line.payment_key) for line in parsed}
    statement_date = max((line.value_date for line in parsed), default=timezone.localdate())
    result_outcomes: dict[str, int] = {}
    with transaction.atomic(durable=True):
        ids = sorted({pid for pid in keys.values() if pid is not None}, key=str)
        payments = {
            p.public_id: p for p in Payment.objects.select_for_update().filter(public_id__in=ids).order_by("pk")
        }
        file = SettlementFile.objects.create(
            sha256=digest,
            filename=filename[:255],
            format=fmt,
            statement_date=statement_date,
            line_count=len(parsed),
            imported_by=actor.label,
        )
        seen: set[int] = set()
        breaks: list[Break] = []
        for line in parsed:
            pid = keys[line.payment_key]
            payment = payments.get(pid) if pid is not None else None
            outcome, kind, detail = _decide(line, payment)
            if payment is not None and payment.pk in seen and outcome != LineOutcome.BREAK:
                outcome, kind, detail = LineOutcome.BREAK, BreakKind.STATE_MISMATCH, "payment twice in the file"
            if payment is not None:
                seen.add(payment.pk)
            row = SettlementLine.objects.create(
                file=file,
                line_no=line.line_no,
                payment_key=line.payment_key,
                gateway_reference=line.gateway_reference,
                amount=line.amount,
                currency=line.currency,
                status=line.status,
                value_date=line.value_date,
                payment=payment,
                outcome=outcome,
            )
            result_outcomes[outcome] = result_outcomes.get(outcome, 0) + 1
            if outcome == LineOutcome.BREAK:
                breaks.append(
                    Break(
                        kind=kind, detail=f"line {line.line_no}: {detail}"[:255], file=file, line=row, payment=payment
                    )
                )
        already = Break.objects.filter(kind=BreakKind.MISSING_FROM_FILE, status=BreakStatus.OPEN).values("payment_id")
        missing = (
            Payment.objects.filter(status=PaymentStatus.SUBMITTED, created_at__date__lte=statement_date)
            .exclude(pk__in=seen)
            .exclude(pk__in=already)
            .order_by("pk")
        )
        for payment in missing:
            breaks.append(
                Break(
                    kind=BreakKind.MISSING_FROM_FILE,
                    detail=f"submitted {payment.created_at:%Y-%m-%d}, not in the file of {statement_date}",
                    file=file,
                    payment=payment,
                )
            )
        Break.objects.bulk_create(breaks)
        audit_record(
            actor=actor.label,
            action="settlement.import",
            object_type="settlement_file",
            object_id=str(file.public_id),
            detail={"filename": file.filename, "lines": len(parsed), "breaks": len(breaks), **result_outcomes},
        )
    _carry_out(file, actor)
    return ImportResult(file=file, duplicate=False, outcomes=result_outcomes, breaks=len(breaks))


def _carry_out(file: SettlementFile, actor: Actor) -> None:
    """Book what the file's lines decided, through the payment services (idempotent: a payment
    already in the line's status is left alone)."""
    lines = file.lines.filter(
        outcome__in=[LineOutcome.SETTLE, LineOutcome.REJECT, LineOutcome.RETURN], payment__isnull=False
    ).order_by("line_no")
    for line in lines:
        assert line.payment_id is not None
        reason = f"settlement file {file.filename} line {line.line_no}"
        if line.outcome in (LineOutcome.SETTLE, LineOutcome.RETURN):
            payment_record_answer(
                payment_id=line.payment_id,
                answer=GatewayAnswer(GatewayOutcome.SETTLED, reference=line.gateway_reference, reason=reason),
            )
        if line.outcome == LineOutcome.REJECT:
            payment_record_answer(
                payment_id=line.payment_id,
                answer=GatewayAnswer(GatewayOutcome.REJECTED, reference=line.gateway_reference, reason=reason),
            )
        # An answer recorded earlier (a callback) but not yet booked by the sweep: book it now.
        payments_settle(payment_ids=[line.payment_id])
        if line.outcome == LineOutcome.RETURN:
            payment_return(payment_id=line.payment_id, reason=reason, actor=actor)


def break_resolve(*, actor: Actor, brk: Break, note: str) -> Break:
    """Operations closed a break after investigating it (audited)."""
    if not note.strip():
        raise ValidationFailed({"note": [_("Say how the break was resolved.")]})
    with transaction.atomic():
        locked = Break.objects.select_for_update().get(pk=brk.pk)
        if locked.status != BreakStatus.OPEN:
            raise ValidationFailed({"status": [_("This break is already resolved.")]})
        locked.status = BreakStatus.RESOLVED
        locked.resolved_by = actor.label
        locked.resolved_at = timezone.now()
        locked.note = note.strip()[:255]
        locked.save(update_fields=["status", "resolved_by", "resolved_at", "note", "updated_at"])
        audit_record(
            actor=actor.label,
            action="settlement.break_resolve",
            object_type="reconciliation_break",
            object_id=str(locked.public_id),
            detail={"kind": locked.kind, "note": locked.note},
        )
    return locked
