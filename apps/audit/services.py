"""Recording business audit events, sealing the hash chains, signing checkpoints, verifying and
exporting. Every app calls `audit_record`; this module calls nothing above it (the ledger's
chain comes in through apps.audit.chains)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any, Protocol

from axes.models import AccessAttempt
from django.conf import settings
from django.db import transaction
from django.db.models import Exists, Max, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.audit.chains import chain_source, chain_sources
from apps.audit.hashing import FORMAT_VERSION, GENESIS_HASH, checkpoint_message, content_hash, iso_utc, link_hash
from apps.audit.models import AuditCheckpoint, AuditEvent, ChainHead, ChainLink
from apps.audit.selectors import Verification, audit_chains_verify, chain_verify, chain_walk, last_checkpoint
from apps.audit.signing import sign, trusted_public_keys
from apps.common.errors import DomainError, ErrorCode, ValidationFailed
from apps.common.principals import Actor

SEAL_BATCH = 2000


class Writable(Protocol):
    def write(self, text: str, /) -> Any: ...


def audit_record(
    *, actor: str, action: str, object_type: str = "", object_id: str = "", detail: dict[str, Any] | None = None
) -> AuditEvent:
    """Append one audit event. Runs inside the caller's transaction, so it commits with the change."""
    return AuditEvent.objects.create(
        actor=actor, action=action, object_type=object_type, object_id=object_id, detail=detail or {}
    )


def audit_record_many(*, actor: str, action: str, object_type: str, object_ids: list[str]) -> None:
    """Append one event per object in a single INSERT (e.g. every row of a page shown unmasked)."""
    AuditEvent.objects.bulk_create(
        [
            AuditEvent(actor=actor, action=action, object_type=object_type, object_id=oid, detail={})
            for oid in object_ids
        ]
    )


def auth_lockout_record(*, username: str, ip_address: str, path: str, failures: int) -> AuditEvent:
    """A username (or API client id) was locked out at one IP after repeated failed secrets."""
    return audit_record(
        actor=f"ip:{ip_address}",
        action="auth.lockout",
        object_type="api_client" if path.startswith("/api/") else "user",
        object_id=username[:80],
        detail={"ip_address": ip_address, "path": path[:200], "failures": failures},
    )


def auth_lockout_release(*, actor: Actor, attempt: AccessAttempt) -> None:
    """Unlock a username+IP before the cool-off ends (an administrator's decision), audited."""
    with transaction.atomic():
        locked = AccessAttempt.objects.select_for_update().filter(pk=attempt.pk).first()
        if locked is None:
            raise ValidationFailed({}, _("This lockout has already ended."))
        audit_record(
            actor=actor.label,
            action="auth.unlock",
            object_type="api_client" if locked.path_info.startswith("/api/") else "user",
            object_id=locked.username[:80] if locked.username else "",
            detail={"ip_address": locked.ip_address, "failures": locked.failures_since_start},
        )
        locked.delete()


def chain_seal(*, chain: str, full: bool = False, batch: int = SEAL_BATCH) -> int:
    """Seal up to `batch` rows of `chain` that have no link yet, oldest id first; return how many.

    The chain head row is locked for the whole transaction, so one sealer extends a chain at a
    time, and writers of the sealed rows never wait for it. A normal pass looks only above the
    chain's horizon: ids at or below it were all sealed at least AUDIT_SEAL_LOOKBACK_SECONDS
    after they were visible, so only a transaction open longer than that can commit one late.
    `full=True` looks at every row and seals such stragglers too (checkpoints and verification
    do, and the hourly task). A late row is sealed at the end of the chain, never skipped.
    """
    return _seal_batch(chain=chain, after_id=None if full else -1, batch=batch)[0]


def _seal_batch(*, chain: str, after_id: int | None, batch: int) -> tuple[int, int]:
    """Seal one batch of ids above `after_id` (-1: above the horizon; None: all); return how
    many were sealed and the highest id looked at."""
    source = chain_source(chain)
    ChainHead.objects.get_or_create(chain=chain)
    with transaction.atomic(durable=True):
        head = ChainHead.objects.select_for_update().get(chain=chain)
        now = timezone.now()
        manager = source.model._default_manager
        start = head.horizon_id if after_id == -1 else (after_id or 0)
        unlinked = manager.filter(pk__gt=start).filter(
            ~Exists(ChainLink.objects.filter(chain=chain, object_id=OuterRef("pk")))
        )
        ids = list(unlinked.order_by("pk").values_list("pk", flat=True)[:batch])
        contents = source.contents(ids) if ids else {}
        links = []
        for object_id in ids:
            digest = content_hash(contents[object_id])
            seq = head.seq + 1
            row_hash = link_hash(chain, seq, head.head_hash, digest)
            links.append(
                ChainLink(
                    chain=chain,
                    seq=seq,
                    object_id=object_id,
                    content_hash=digest,
                    prev_hash=head.head_hash,
                    row_hash=row_hash,
                    sealed_at=now,
                )
            )
            head.seq, head.head_hash = seq, row_hash
        ChainLink.objects.bulk_create(links)
        # Caught up from the horizon (or below it): the horizon may move to what was visible a
        # lookback ago. Not after a batch that started higher: rows below it were not looked at.
        if len(ids) < batch and start <= head.horizon_id:
            lookback = dt.timedelta(seconds=settings.AUDIT_SEAL_LOOKBACK_SECONDS)
            if head.candidate_at is None or head.candidate_at <= now - lookback:
                if head.candidate_at is not None:
                    head.horizon_id = max(head.horizon_id, head.candidate_id)
                head.candidate_id = manager.aggregate(top=Max("pk"))["top"] or 0
                head.candidate_at = now
        head.save()
    return len(ids), ids[-1] if ids else start


def chains_seal(*, full: bool = False) -> dict[str, int]:
    """Seal every registered chain until nothing is left; how many rows each got.

    Each batch continues after the last id of the one before, so sealing a large backlog (the
    first deployment on an existing ledger, a restore) reads every row once, not once per batch.
    """
    sealed: dict[str, int] = {}
    for source in chain_sources():
        sealed[source.name] = 0
        after: int | None = None if full else -1
        while True:
            count, last = _seal_batch(chain=source.name, after_id=after, batch=SEAL_BATCH)
            sealed[source.name] += count
            if count < SEAL_BATCH:
                break
            after = last
    return sealed


class AuditChainBroken(DomainError):
    code = ErrorCode.VALIDATION_ERROR
    status = 409
    title = _("The audit chain is broken; no checkpoint was signed.")


def checkpoint_create(*, actor: str) -> list[AuditCheckpoint]:
    """Seal everything, re-verify each chain since its last checkpoint, and sign each head.

    A chain that does not verify is not signed (a signature would launder the damage):
    AuditChainBroken names the first broken row and nothing is written.
    """
    chains_seal(full=True)
    now = timezone.now()
    grace = dt.timedelta(seconds=settings.AUDIT_SEAL_GRACE_SECONDS)
    created: list[AuditCheckpoint] = []
    with transaction.atomic(durable=True):
        for source in chain_sources():
            head = ChainHead.objects.select_for_update().filter(chain=source.name).first()
            if head is None or head.seq == 0:
                continue
            previous = last_checkpoint(source.name)
            start = (previous.seq, previous.head_hash) if previous is not None else (0, GENESIS_HASH)
            report = chain_verify(source.name, grace=grace, now=now, start=start)
            if report.problems:
                raise AuditChainBroken(
                    _("The audit chain is broken: %(problem)s") % {"problem": report.problems[0]},
                    extra={"chain": source.name},
                )
            day = now.astimezone(dt.UTC).date()
            message = checkpoint_message(
                chain=source.name,
                day=day.isoformat(),
                seq=report.head_seq,
                head_hash=report.head_hash,
                signed_at=iso_utc(now) or "",
            )
            signature, public_key, key_id = sign(message)
            created.append(
                AuditCheckpoint.objects.create(
                    chain=source.name,
                    day=day,
                    seq=report.head_seq,
                    head_hash=report.head_hash,
                    signed_at=now,
                    key_id=key_id,
                    public_key=public_key,
                    signature=signature,
                    created_by=actor,
                )
            )
        audit_record(
            actor=actor,
            action="audit.checkpoint",
            detail={c.chain: {"seq": c.seq, "head_hash": c.head_hash, "key_id": c.key_id} for c in created},
        )
    return created


def audit_verify(*, actor: str, seal: bool = True) -> Verification:
    """Seal (unless told not to), then recompute both chains and every checkpoint; the run is
    itself audited (and sealed at the next pass)."""
    if seal:
        chains_seal(full=True)
    result = audit_chains_verify(grace=dt.timedelta(seconds=settings.AUDIT_SEAL_GRACE_SECONDS), now=timezone.now())
    with transaction.atomic(durable=True):
        audit_record(
            actor=actor,
            action="audit.verify",
            detail={
                "ok": result.ok,
                "rows": {report.chain: report.links for report in result.chains},
                "checkpoints": result.checkpoints,
                "first_problem": str(result.first_problem) if result.first_problem else "",
            },
        )
    return result


@dataclass(frozen=True)
class ExportResult:
    rows: dict[str, int]
    checkpoints: int
    sha256: str


def audit_export(*, actor: str, out: Writable) -> ExportResult:
    """Write both chains (each sealed row with its content and link), the checkpoints and the
    public keys as JSON lines (docs/audit.md); scripts/verify_audit_export.py checks it offline."""
    chains_seal(full=True)
    digest = hashlib.sha256()

    def write(record: dict[str, Any]) -> None:
        line = json.dumps(record, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"
        digest.update(line.encode())
        out.write(line)

    names = [source.name for source in chain_sources()]
    write(
        {
            "type": "header",
            "format": "finsys-audit-export",
            "version": FORMAT_VERSION,
            "exported_at": iso_utc(timezone.now()),
            "chains": names,
        }
    )
    checkpoints = list(AuditCheckpoint.objects.order_by("id"))
    # Only the configured keys: a key stored beside a forged checkpoint must not vouch for it.
    for key_id, public_key in sorted(trusted_public_keys().items()):
        write({"type": "key", "key_id": key_id, "public_key": public_key})
    rows: dict[str, int] = {}
    for name in names:
        rows[name] = 0
        for link, content in chain_walk(name):
            rows[name] += 1
            write(
                {
                    "type": "link",
                    "chain": name,
                    "seq": link.seq,
                    "object_id": link.object_id,
                    "content_hash": link.content_hash,
                    "prev_hash": link.prev_hash,
                    "row_hash": link.row_hash,
                    "content": content,
                }
            )
    for c in checkpoints:
        write(
            {
                "type": "checkpoint",
                "id": c.pk,
                "chain": c.chain,
                "day": c.day.isoformat(),
                "seq": c.seq,
                "head_hash": c.head_hash,
                "signed_at": iso_utc(c.signed_at),
                "key_id": c.key_id,
                "public_key": c.public_key,
                "signature": c.signature,
            }
        )
    result = ExportResult(rows=rows, checkpoints=len(checkpoints), sha256=digest.hexdigest())
    with transaction.atomic(durable=True):
        audit_record(
            actor=actor,
            action="audit.export",
            detail={"rows": rows, "checkpoints": result.checkpoints, "sha256": result.sha256},
        )
    return result
