"""Reading the chains back: walking the links, recomputing every hash, checking checkpoints.

Verification trusts nothing in the database but the rows themselves: not the chain heads, not
the public keys stored beside the checkpoints (only the configured ones, see signing.py)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from django.db.models import Exists, OuterRef

from apps.audit.chains import chain_source, chain_sources
from apps.audit.hashing import GENESIS_HASH, checkpoint_message, content_hash, iso_utc, link_hash
from apps.audit.models import AuditCheckpoint, AuditEvent, ChainLink
from apps.audit.signing import signature_valid, trusted_public_keys

WALK_BATCH = 2000
MAX_PROBLEMS = 100


class ProblemKind(StrEnum):
    CONTENT_CHANGED = "content changed"
    ROW_MISSING = "row missing"
    ORDER_CHANGED = "order changed"
    UNSEALED = "unsealed"
    SIGNATURE_BAD = "signature bad"
    CHECKPOINT_MISMATCH = "checkpoint mismatch"


@dataclass(frozen=True)
class Problem:
    chain: str
    kind: ProblemKind
    seq: int | None
    object_id: int | None
    message: str

    def __str__(self) -> str:
        where = [f"chain {self.chain}"]
        if self.seq is not None:
            where.append(f"seq {self.seq}")
        if self.object_id is not None:
            where.append(f"id {self.object_id}")
        return f"{', '.join(where)}: {self.kind}: {self.message}"


@dataclass
class ChainReport:
    chain: str
    links: int = 0
    head_seq: int = 0
    head_hash: str = GENESIS_HASH
    unsealed: int = 0
    problems: list[Problem] = field(default_factory=list)


@dataclass
class Verification:
    chains: list[ChainReport]
    checkpoints: int
    problems: list[Problem]

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first_problem(self) -> Problem | None:
        return self.problems[0] if self.problems else None

    def summary(self) -> str:
        parts = [f"{c.chain}: {c.links} rows, head #{c.head_seq} {c.head_hash[:16]}" for c in self.chains]
        return "; ".join([*parts, f"{self.checkpoints} checkpoints"])


def chain_walk(chain: str, *, after_seq: int = 0) -> Iterator[tuple[ChainLink, dict[str, Any] | None]]:
    """Every link of `chain` after `after_seq`, in order, with the current content of its row
    (None when the row no longer exists)."""
    source = chain_source(chain)
    last = after_seq
    while True:
        links = list(ChainLink.objects.filter(chain=chain, seq__gt=last).order_by("seq")[:WALK_BATCH])
        if not links:
            return
        contents = source.contents([link.object_id for link in links])
        for link in links:
            yield link, contents.get(link.object_id)
        last = links[-1].seq


def chain_verify(
    chain: str, *, grace: dt.timedelta, now: dt.datetime, start: tuple[int, str] = (0, GENESIS_HASH)
) -> ChainReport:
    """Recompute `chain` from `start` (a seq and its row hash; the genesis by default)."""
    report = ChainReport(chain=chain, head_seq=start[0], head_hash=start[1])
    problems = report.problems
    expected, prev = start[0] + 1, start[1]
    for link, content in chain_walk(chain, after_seq=start[0]):
        report.links += 1
        if len(problems) < MAX_PROBLEMS:
            if link.seq != expected:
                missing = f"{expected}" if link.seq == expected + 1 else f"{expected} to {link.seq - 1}"
                problems.append(
                    Problem(chain, ProblemKind.ROW_MISSING, expected, None, f"the links {missing} were removed")
                )
            elif link.prev_hash != prev or link.row_hash != link_hash(
                chain, link.seq, link.prev_hash, link.content_hash
            ):
                problems.append(
                    Problem(
                        chain,
                        ProblemKind.ORDER_CHANGED,
                        link.seq,
                        link.object_id,
                        "the link does not follow the one before it (rows reordered or a link rewritten)",
                    )
                )
            if content is None:
                problems.append(
                    Problem(chain, ProblemKind.ROW_MISSING, link.seq, link.object_id, "the sealed row was deleted")
                )
            elif content_hash(content) != link.content_hash:
                problems.append(
                    Problem(
                        chain,
                        ProblemKind.CONTENT_CHANGED,
                        link.seq,
                        link.object_id,
                        "the row's content no longer matches its sealed hash",
                    )
                )
        expected, prev = link.seq + 1, link.row_hash
        report.head_seq, report.head_hash = link.seq, link.row_hash
    source = chain_source(chain)
    unsealed = (
        source.model._default_manager.filter(created_at__lt=now - grace)
        .filter(~Exists(ChainLink.objects.filter(chain=chain, object_id=OuterRef("pk"))))
        .order_by("pk")
    )
    report.unsealed = unsealed.count()
    first = unsealed.values_list("pk", flat=True).first()
    if first is not None:
        problems.append(
            Problem(
                chain,
                ProblemKind.UNSEALED,
                None,
                first,
                f"{report.unsealed} rows older than {int(grace.total_seconds())} s are not sealed",
            )
        )
    return report


def checkpoint_problems(checkpoint: AuditCheckpoint, trusted: dict[str, str], link: ChainLink | None) -> list[Problem]:
    """What is wrong with one checkpoint: its key, its signature, or the chain it signed."""

    def problem(kind: ProblemKind, message: str) -> list[Problem]:
        object_id = link.object_id if link is not None else None
        return [Problem(checkpoint.chain, kind, checkpoint.seq, object_id, message)]

    message = checkpoint_message(
        chain=checkpoint.chain,
        day=checkpoint.day.isoformat(),
        seq=checkpoint.seq,
        head_hash=checkpoint.head_hash,
        signed_at=iso_utc(checkpoint.signed_at) or "",
    )
    public = trusted.get(checkpoint.key_id)
    if public is None or public != checkpoint.public_key:
        return problem(
            ProblemKind.SIGNATURE_BAD,
            f"checkpoint {checkpoint.pk} is signed by key {checkpoint.key_id}, which is not a trusted audit key",
        )
    if not signature_valid(public, message, checkpoint.signature):
        return problem(ProblemKind.SIGNATURE_BAD, f"checkpoint {checkpoint.pk} has an invalid signature")
    if link is None or link.row_hash != checkpoint.head_hash:
        return problem(
            ProblemKind.CHECKPOINT_MISMATCH,
            f"the chain no longer holds the head signed by checkpoint {checkpoint.pk} (rows removed or rewritten)",
        )
    return []


def checkpoints_verify() -> tuple[int, list[Problem]]:
    trusted = trusted_public_keys()
    problems: list[Problem] = []
    count = 0
    checkpoints = list(AuditCheckpoint.objects.order_by("id"))
    heads = {
        (link.chain, link.seq): link
        for link in ChainLink.objects.filter(
            chain__in={c.chain for c in checkpoints}, seq__in={c.seq for c in checkpoints}
        )
    }
    for checkpoint in checkpoints:
        count += 1
        problems += checkpoint_problems(checkpoint, trusted, heads.get((checkpoint.chain, checkpoint.seq)))
    return count, problems


def audit_chains_verify(*, grace: dt.timedelta, now: dt.datetime) -> Verification:
    reports = [chain_verify(source.name, grace=grace, now=now) for source in chain_sources()]
    count, checkpoint_issues = checkpoints_verify()
    problems = [problem for report in reports for problem in report.problems if problem.kind != ProblemKind.UNSEALED]
    problems += [problem for report in reports for problem in report.problems if problem.kind == ProblemKind.UNSEALED]
    return Verification(chains=reports, checkpoints=count, problems=problems + checkpoint_issues)


def last_checkpoint(chain: str) -> AuditCheckpoint | None:
    return AuditCheckpoint.objects.filter(chain=chain).order_by("-seq", "-id").first()


def audit_event_exists(*, action: str, object_type: str, object_id: str, detail: dict[str, Any]) -> bool:
    """Whether an event with this action and object, and these detail values, was recorded."""
    matches = {f"detail__{key}": value for key, value in detail.items()}
    return AuditEvent.objects.filter(action=action, object_type=object_type, object_id=object_id, **matches).exists()
