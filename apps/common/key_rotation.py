"""Re-encrypting every encrypted field under the newest key of FIELD_ENCRYPTION_KEYS.

Runs while the bank is open: rows are taken in small batches, each locked FOR UPDATE in its own
short transaction, so a concurrent change of the same row waits instead of being overwritten.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.apps import apps
from django.db import models, transaction
from django.db.models.functions import Cast

from apps.common.crypto import key_ring
from apps.common.fields import EncryptedTextField


@dataclass
class RotationReport:
    rewritten: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.rewritten.values())


def _encrypted_fields(model: type[models.Model]) -> list[str]:
    return [f.name for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]


def field_keys_rotate(*, batch_size: int = 500) -> RotationReport:
    """Rewrite every value not yet under the primary key; returns how many rows per model."""
    primary = key_ring().primary_id
    report = RotationReport()
    for model in apps.get_models():
        names = _encrypted_fields(model)
        if not names:
            continue
        label = model._meta.label
        report.rewritten[label] = 0
        stale = models.Q()
        raw = {f"raw_{name}": Cast(name, models.TextField()) for name in names}
        for name in names:
            stale |= ~models.Q(**{f"raw_{name}": ""}) & ~models.Q(**{f"raw_{name}__startswith": f"{primary}$"})
        last_pk = 0
        while True:
            with transaction.atomic():
                batch = list(
                    model._default_manager.select_for_update()
                    .annotate(**raw)
                    .filter(stale, pk__gt=last_pk)
                    .order_by("pk")[:batch_size]
                )
                for row in batch:
                    # Reading decrypted the old value; writing encrypts it under the primary key.
                    model._default_manager.filter(pk=row.pk).update(**{name: getattr(row, name) for name in names})
            if not batch:
                break
            report.rewritten[label] += len(batch)
            last_pk = batch[-1].pk
    return report
