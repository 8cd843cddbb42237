"""Retention: delete or erase only what is past its retention period, never ledger or audit rows.

Kinds and their settings (days unless named otherwise):

| kind | rule | setting |
|---|---|---|
| idempotency records | created longer ago than the TTL (at least 24 h) | FINSYS_IDEMPOTENCY_TTL_HOURS |
| sessions | expired longer ago than this | FINSYS_RETENTION_DAYS_SESSIONS |
| OAuth2 access tokens, grants | expired longer ago than this | FINSYS_RETENTION_DAYS_OAUTH_TOKENS |
| OAuth2 refresh tokens | revoked longer ago than this | FINSYS_RETENTION_DAYS_OAUTH_TOKENS |
| personal data of rejected applicants | KYC rejected longer ago than this, never a client: fields erased, row kept | FINSYS_RETENTION_DAYS_REJECTED_KYC |

Journal entries, postings, accounts, holds, approvals and audit events are never touched.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import transaction
from django.utils import timezone
from oauth2_provider.models import get_access_token_model, get_grant_model, get_refresh_token_model

from apps.audit.services import audit_record
from apps.common.idempotency import idempotency_purge_expired
from apps.common.principals import Actor, Channel
from apps.customers.selectors import customers_rejected_pii_due
from apps.customers.services import customers_purge_rejected_pii

RETENTION_ACTOR = Actor(label="system:retention", channel=Channel.SYSTEM)


@dataclass
class RetentionReport:
    dry_run: bool
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def _days(name: str) -> dt.timedelta:
    return dt.timedelta(days=max(0, int(getattr(settings, name))))


def retention_purge(*, actor: Actor, dry_run: bool = False, now: dt.datetime | None = None) -> RetentionReport:
    """Purge every kind of record past retention (or, with `dry_run`, count what would go)."""
    now = now or timezone.now()
    report = RetentionReport(dry_run=dry_run)
    report.counts["idempotency_records"] = idempotency_purge_expired(now=now, dry_run=dry_run)

    token_cutoff = now - _days("FINSYS_RETENTION_DAYS_OAUTH_TOKENS")
    querysets = {
        "sessions": Session.objects.filter(expire_date__lt=now - _days("FINSYS_RETENTION_DAYS_SESSIONS")),
        "oauth_access_tokens": get_access_token_model().objects.filter(expires__lt=token_cutoff),
        "oauth_refresh_tokens": get_refresh_token_model().objects.filter(revoked__lt=token_cutoff),
        "oauth_grants": get_grant_model().objects.filter(expires__lt=token_cutoff),
    }
    for kind, queryset in querysets.items():
        if dry_run:
            report.counts[kind] = queryset.count()
            continue
        with transaction.atomic():
            _total, per_model = queryset.delete()
        report.counts[kind] = per_model.get(queryset.model._meta.label, 0)

    kyc_cutoff = now - _days("FINSYS_RETENTION_DAYS_REJECTED_KYC")
    if dry_run:
        report.counts["rejected_kyc_personal_data"] = customers_rejected_pii_due(decided_before=kyc_cutoff).count()
    else:
        erased = 0
        while batch := customers_purge_rejected_pii(actor=actor, decided_before=kyc_cutoff):
            erased += len(batch)
        report.counts["rejected_kyc_personal_data"] = erased
        with transaction.atomic():
            audit_record(actor=actor.label, action="retention.purge", object_type="retention", detail=report.counts)
    return report
