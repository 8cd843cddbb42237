"""django-auditlog on every finsys model: who changed what, before and after, from where.

Registered by model label from AuditConfig.ready(), so the audit app imports nothing above it
and a model added later is covered without anyone remembering to register it. Left out:
- append-only models (ledger, audit events, chain links, checkpoints): each row is its own
  record, and journal entries are the transfer hot path;
- EXCLUDED_MODELS: technical rows written per request (idempotency records);
- per model, EXCLUDED_FIELDS: cached columns the ledger rewrites with every posting
  (Account.balance/available, updated by raw SQL or .update() anyway, which auditlog never
  sees), the blind index, and `updated_at` (noise).
Encrypted personal data (every EncryptedTextField) is masked completely: the log says that the
national id changed, never what it was or became.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.db import models

from apps.common.fields import EncryptedTextField
from apps.common.models import AppendOnlyModel

EXCLUDED_MODELS = {
    "common.idempotencyrecord",
    "audit.chainhead",
    "risk.limitusage",
    "risk.customerbaseline",
    "compliance.watchlistentry",
}
EXCLUDED_FIELDS: dict[str, list[str]] = {
    "accounts.account": ["balance", "available"],
    "customers.customer": ["national_id_index"],
    "auth.user": ["password", "last_login"],
    "oauth2_provider.application": ["client_secret"],
}
# Models outside apps/ that are still bank configuration: staff users and roles, API clients.
EXTRA_MODELS = ["auth.user", "auth.group", "oauth2_provider.application"]
MASK = "********"


def mask_all(value: str) -> str:
    """auditlog's mask callable: nothing of the value survives (empty stays empty)."""
    return MASK if value not in ("", "None") else value


def _tracked_models() -> list[type[models.Model]]:
    found = [m for config in apps.get_app_configs() if config.name.startswith("apps.") for m in config.get_models()]
    found += [apps.get_model(label) for label in EXTRA_MODELS]
    return [m for m in found if not issubclass(m, AppendOnlyModel) and m._meta.label_lower not in EXCLUDED_MODELS]


def auditlog_register_models() -> list[str]:
    """Register every tracked model with auditlog; return their labels."""
    from auditlog.registry import auditlog

    labels = []
    for model in _tracked_models():
        label = model._meta.label_lower
        masked = [f.name for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
        options: dict[str, Any] = {"exclude_fields": ["updated_at", *EXCLUDED_FIELDS.get(label, [])]}
        if masked:
            options.update(mask_fields=masked, mask_callable="apps.audit.auditlog.mask_all")
        if not auditlog.contains(model):
            auditlog.register(model, **options)
        labels.append(label)
    return labels
