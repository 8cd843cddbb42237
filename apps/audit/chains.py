"""The chains the sealer keeps, by name. Each app that owns chained rows registers a source
(in its AppConfig.ready): the model whose rows are chained and how to read their canonical
content. The audit app never imports the apps above it; they come to it (the ledger does)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import models

from apps.audit.hashing import iso_utc

Contents = Callable[[Sequence[int]], dict[int, dict[str, Any]]]


@dataclass(frozen=True)
class ChainSource:
    name: str
    model: type[models.Model]
    # The canonical content of each row id asked for (rows that no longer exist are absent).
    contents: Contents


_CHAINS: dict[str, ChainSource] = {}


def register_chain(source: ChainSource) -> None:
    if len(source.name) > 16 or not source.name.isidentifier():
        raise ValueError(f"bad chain name {source.name!r}")
    _CHAINS[source.name] = source


def chain_sources() -> list[ChainSource]:
    return list(_CHAINS.values())


def chain_source(name: str) -> ChainSource:
    return _CHAINS[name]


def audit_event_contents(ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    from apps.audit.models import AuditEvent

    rows = AuditEvent.objects.filter(id__in=ids).values(
        "id", "actor", "action", "object_type", "object_id", "detail", "created_at"
    )
    return {row["id"]: {**row, "created_at": iso_utc(row["created_at"])} for row in rows}


def register_audit_chain() -> None:
    from apps.audit.models import AuditEvent

    register_chain(ChainSource(name="audit", model=AuditEvent, contents=audit_event_contents))
