"""AML services: watchlist imports, name screening, and compliance cases (docs/compliance.md).

Screening runs in three places:
- onboarding and name changes: apps.customers calls its name listeners (apps/customers/hooks.py)
  and ours enqueues `screen_customer` after commit; a hit opens a case;
- every external payment: `payment_screener` is registered in apps.transactions.screening; a
  score at or above FINSYS_SCREENING_BLOCK_SCORE refuses the payment (422 blocked_by_screening),
  the review band holds it in pending_approval, and either opens a case;
- after each list import: `customers_rescreen` screens every customer against the new lists.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.files.base import File
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.audit.services import audit_record
from apps.common.errors import ValidationFailed
from apps.common.jobs import job_enqueue_after_commit, job_send
from apps.common.principals import Actor
from apps.compliance.models import (
    Case,
    CaseDisposition,
    CaseKind,
    CaseNote,
    CaseStatus,
    Watchlist,
    WatchlistEntry,
)
from apps.compliance.screening.formats import ListedParty, parse_ofac_csv, parse_simple_csv, parse_un_xml
from apps.compliance.screening.matching import IndexedEntry, Match, WatchlistIndex
from apps.customers.models import Customer
from apps.transactions.screening import ScreeningDecision, ScreeningOutcome

if TYPE_CHECKING:
    from apps.transactions.models import Payment

SCREEN_CUSTOMER_TASK = "apps.compliance.tasks.screen_customer"
RESCREEN_TASK = "apps.compliance.tasks.rescreen_customers"
BLOCKED_PAYMENT_CASE_TASK = "apps.compliance.tasks.open_blocked_payment_case"


# --- watchlists ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportResult:
    watchlist: Watchlist
    added: int
    updated: int
    removed: int
    unchanged: bool


def watchlist_parse(*, source_format: str, data: bytes, alt: bytes | None = None) -> list[ListedParty]:
    if source_format == "un":
        return parse_un_xml(data)
    if source_format == "ofac":
        return parse_ofac_csv(data, alt)
    if source_format == "csv":
        return parse_simple_csv(data)
    raise ValueError(f"unknown list format {source_format!r}")


def watchlist_import(
    *, actor: Actor, name: str, source_format: str, data: bytes, alt: bytes | None = None
) -> ImportResult:
    """Load or update a list: entries added, changed and removed; the same file twice changes
    nothing. Raises FormatError (nothing stored) on a malformed file. Re-screens after commit."""
    parties = watchlist_parse(source_format=source_format, data=data, alt=alt)
    with transaction.atomic(durable=True):
        return watchlist_store(actor=actor, name=name, source_format=source_format, parties=parties,
                                version=watchlist_version(data, alt))  # fmt: skip


def watchlist_version(data: bytes, alt: bytes | None) -> str:
    return hashlib.sha256(data + b"\0" + (alt or b"")).hexdigest()


def watchlist_store(
    *, actor: Actor, name: str, source_format: str, parties: list[ListedParty], version: str
) -> ImportResult:
    """The import itself, inside the caller's transaction (an import or an approved upload)."""
    watchlist, _created = Watchlist.objects.select_for_update().get_or_create(
        name=name, defaults={"source_format": source_format, "version": ""}
    )
    if watchlist.version == version:
        return ImportResult(watchlist, 0, 0, 0, unchanged=True)
    existing = {e.ref: e for e in WatchlistEntry.objects.filter(watchlist=watchlist)}
    incoming = {p.ref: p for p in parties}
    to_add, to_update = [], []
    fields = ["entry_type", "name", "aliases", "country", "birth_date", "programs"]
    for ref, party in incoming.items():
        values = {f: getattr(party, f) for f in fields}
        row = existing.get(ref)
        if row is None:
            to_add.append(WatchlistEntry(watchlist=watchlist, ref=ref, **values))
        elif any(getattr(row, f) != v for f, v in values.items()):
            for f, v in values.items():
                setattr(row, f, v)
            to_update.append(row)
    removed = [row.pk for ref, row in existing.items() if ref not in incoming]
    WatchlistEntry.objects.filter(pk__in=removed).delete()
    WatchlistEntry.objects.bulk_create(to_add, batch_size=1000)
    WatchlistEntry.objects.bulk_update(to_update, fields, batch_size=1000)
    watchlist.source_format = source_format
    watchlist.version = version
    watchlist.entry_count = len(incoming)
    watchlist.save(update_fields=["source_format", "version", "entry_count", "updated_at"])
    detail = {"format": source_format, "version": version, "added": len(to_add)}
    detail |= {"updated": len(to_update), "removed": len(removed), "entries": len(incoming)}
    audit_record(actor=actor.label, action="watchlist.import", object_type="watchlist", object_id=name, detail=detail)
    job_enqueue_after_commit(RESCREEN_TASK)
    return ImportResult(watchlist, len(to_add), len(to_update), len(removed), unchanged=False)


# --- screening ----------------------------------------------------------------------------

_CACHE: dict[str, Any] = {}
_CACHE_LOCK = threading.Lock()


def _lists_signature() -> tuple[tuple[int, str], ...]:
    return tuple(Watchlist.objects.order_by("pk").values_list("pk", "version"))


def screening_index() -> WatchlistIndex:
    """The prepared index of every list entry, rebuilt in this process when a list changes."""
    signature = _lists_signature()
    with _CACHE_LOCK:
        if _CACHE.get("signature") == signature:
            return _CACHE["index"]  # type: ignore[no-any-return]
    rows = WatchlistEntry.objects.select_related("watchlist").only("pk", "name", "aliases", "watchlist__name")
    index = WatchlistIndex(
        (IndexedEntry(key=row.pk, name=row.name, list_name=row.watchlist.name), [row.name, *row.aliases])
        for row in rows.iterator(chunk_size=2000)
    )
    with _CACHE_LOCK:
        _CACHE.update(signature=signature, index=index)
    return index


def name_screen(name: str) -> list[Match]:
    """Watchlist entries whose names score at or above the review threshold, best first."""
    return screening_index().search(name, cutoff=settings.FINSYS_SCREENING_REVIEW_SCORE)


def screening_outcome(matches: list[Match]) -> ScreeningOutcome:
    if not matches:
        return ScreeningOutcome.ALLOW
    if matches[0].score >= settings.FINSYS_SCREENING_BLOCK_SCORE:
        return ScreeningOutcome.BLOCK
    return ScreeningOutcome.REVIEW


def _hit_detail(matches: list[Match]) -> dict[str, Any]:
    return {
        "matches": [
            {"entry": m.entry.key, "name": m.entry.name, "list": m.entry.list_name, "score": m.score} for m in matches
        ]
    }


def payment_screener(payment: Payment) -> ScreeningDecision:
    """Registered in apps.transactions.screening: the beneficiary's name against every list."""
    matches = name_screen(payment.beneficiary_name)
    outcome = screening_outcome(matches)
    if outcome == ScreeningOutcome.ALLOW:
        return ScreeningDecision(ScreeningOutcome.ALLOW, "no watchlist match")
    best = matches[0]
    reason = f"watchlist {best.entry.list_name} match {best.score}"
    payload = {
        "beneficiary_name": payment.beneficiary_name,
        "beneficiary_country": payment.beneficiary_country,
        "account": str(payment.account.public_id),
        "customer_pk": payment.account.customer_id,
        "amount": str(payment.amount),
        "currency": payment.currency,
        **_hit_detail(matches),
    }
    if outcome == ScreeningOutcome.BLOCK:
        # The refused payment is rolled back with its transaction, so the case is opened by a
        # job sent now, carrying what the payment said (with an eager broker it runs inline and
        # is rolled back too: see docs/compliance.md).
        job_send(BLOCKED_PAYMENT_CASE_TASK, payload)
    else:
        transaction.on_commit(lambda: job_send(BLOCKED_PAYMENT_CASE_TASK, payload | {"payment_pk": payment.pk}))
    return ScreeningDecision(outcome, reason)


def payment_case_open(*, payload: dict[str, Any]) -> Case:
    with transaction.atomic():
        return case_open(
            kind=CaseKind.SCREENING_HIT,
            summary=_("Payment beneficiary %(name)s matches a watchlist") % {"name": payload["beneficiary_name"]},
            subject_name=payload["beneficiary_name"],
            customer_id=payload.get("customer_pk"),
            payment_id=payload.get("payment_pk"),
            score=payload["matches"][0]["score"],
            detail=payload,
        )


def customer_screen(*, customer_pk: int) -> Case | None:
    """Screen one customer's name; a hit opens a case unless one is already open for it."""
    customer = Customer.objects.filter(pk=customer_pk).only("pk", "full_name").first()
    if customer is None:
        return None
    return _customer_hit(customer.pk, customer.full_name, name_screen(customer.full_name))


def _customer_hit(customer_pk: int, full_name: str, matches: list[Match]) -> Case | None:
    if not matches:
        return None
    keys = sorted(m.entry.key for m in matches)
    with transaction.atomic():
        open_cases = Case.objects.filter(customer_id=customer_pk, kind=CaseKind.SCREENING_HIT).exclude(
            status=CaseStatus.CLOSED
        )
        for case in open_cases.only("detail"):
            if sorted(m["entry"] for m in case.detail.get("matches", [])) == keys:
                return None  # already under review for the same entries
        return case_open(
            kind=CaseKind.SCREENING_HIT,
            summary=_("Customer %(name)s matches a watchlist") % {"name": full_name},
            subject_name=full_name,
            customer_id=customer_pk,
            score=matches[0].score,
            detail=_hit_detail(matches),
        )


def customers_rescreen(*, batch_size: int = 1000) -> int:
    """Screen every customer against the current lists (after an import). Returns cases opened."""
    index = screening_index()
    cutoff = settings.FINSYS_SCREENING_REVIEW_SCORE
    opened = 0
    last_pk = 0
    while True:
        batch = list(Customer.objects.filter(pk__gt=last_pk).order_by("pk").values_list("pk", "full_name")[:batch_size])
        if not batch:
            return opened
        for pk, full_name in batch:
            matches = index.search(full_name, cutoff=cutoff)
            if matches and _customer_hit(pk, full_name, matches) is not None:
                opened += 1
        last_pk = batch[-1][0]


def customer_name_listener(customer: Customer) -> None:
    """apps.customers calls this in the transaction that set a customer's name."""
    job_enqueue_after_commit(SCREEN_CUSTOMER_TASK, customer.pk)


# --- cases --------------------------------------------------------------------------------


def case_open(
    *,
    kind: str,
    summary: str,
    subject_name: str = "",
    customer_id: int | None = None,
    payment_id: int | None = None,
    score: int | None = None,
    detail: dict[str, Any] | None = None,
    actor: str = "system:compliance",
) -> Case:
    """Open a case (inside the caller's transaction: screening and reports open them)."""
    case = Case.objects.create(
        kind=kind,
        summary=summary[:255],
        subject_name=subject_name[:300],
        customer_id=customer_id,
        payment_id=payment_id,
        score=score,
        detail=detail or {},
        opened_by=actor,
    )
    CaseNote.objects.create(case=case, action="open", author=actor, text=summary)
    audit_record(
        actor=actor,
        action="case.open",
        object_type="case",
        object_id=str(case.public_id),
        detail={"kind": kind, "score": score},
    )
    return case


def _locked_open_case(case: Case) -> Case:
    locked = Case.objects.select_for_update().get(pk=case.pk)
    if locked.status == CaseStatus.CLOSED:
        raise ValidationFailed({"case": [_("This case is closed.")]})
    return locked


def _note(case: Case, actor: Actor, action: str, text: str = "", **audit: Any) -> None:
    CaseNote.objects.create(case=case, action=action, author=actor.label, text=text)
    audit_record(
        actor=actor.label, action=f"case.{action}", object_type="case", object_id=str(case.public_id), detail=audit
    )


def case_assign(*, actor: Actor, case: Case, assignee: User) -> Case:
    if not assignee.is_staff or not assignee.is_active:
        raise ValidationFailed({"assignee": [_("Assign the case to an active staff user.")]})
    with transaction.atomic(durable=True):
        locked = _locked_open_case(case)
        locked.assignee = assignee
        if locked.status == CaseStatus.OPEN:
            locked.status = CaseStatus.ASSIGNED
        locked.save(update_fields=["assignee", "status", "updated_at"])
        _note(locked, actor, "assign", assignee.get_username(), assignee=assignee.get_username())
    return locked


def case_comment(*, actor: Actor, case: Case, text: str) -> Case:
    text = (text or "").strip()
    if not text:
        raise ValidationFailed({"text": [_("Enter a comment.")]})
    with transaction.atomic(durable=True):
        locked = _locked_open_case(case)
        _note(locked, actor, "comment", text)
    return locked


def case_attach(*, actor: Actor, case: Case, upload: File[Any], description: str = "") -> CaseNote:
    """Store a document with the case (Django's default storage) and record it."""
    max_bytes = settings.FINSYS_CASE_ATTACHMENT_MAX_BYTES
    if not upload.name or upload.size is None or upload.size > max_bytes:
        raise ValidationFailed({"attachment": [_("Attach a named file of at most %(n)d bytes.") % {"n": max_bytes}]})
    with transaction.atomic(durable=True):
        locked = _locked_open_case(case)
        note = CaseNote(case=locked, action="attach", author=actor.label, text=description[:500])
        note.attachment.save(upload.name.rsplit("/", 1)[-1][:100], upload, save=False)
        note.save()
        audit_record(
            actor=actor.label,
            action="case.attach",
            object_type="case",
            object_id=str(locked.public_id),
            detail={"file": note.attachment.name},
        )
    return note


def case_escalate(*, actor: Actor, case: Case, reason: str) -> Case:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed({"reason": [_("Say why the case is escalated.")]})
    with transaction.atomic(durable=True):
        locked = _locked_open_case(case)
        locked.status = CaseStatus.ESCALATED
        locked.save(update_fields=["status", "updated_at"])
        _note(locked, actor, "escalate", reason)
    return locked


def case_close(*, actor: Actor, case: Case, disposition: str, reason: str = "") -> Case:
    if disposition not in CaseDisposition.values:
        raise ValidationFailed({"disposition": [_("Choose a disposition.")]})
    with transaction.atomic(durable=True):
        locked = _locked_open_case(case)
        locked.status = CaseStatus.CLOSED
        locked.disposition = disposition
        locked.closed_at = timezone.now()
        locked.save(update_fields=["status", "disposition", "closed_at", "updated_at"])
        _note(locked, actor, "close", reason, disposition=disposition)
    return locked
