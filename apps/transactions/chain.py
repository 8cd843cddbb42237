"""The ledger's hash chain: what of a journal entry (and its postings) is sealed.

The canonical content of an entry, hashed by apps.audit (docs/audit.md):
{id, public_id, kind, amount, currency, reference, channel, created_by, reverses_id,
created_at, postings: [{id, public_id, account_id, amount, currency, balance_after,
created_at}, ... by id]}, amounts as four-decimal strings, times ISO 8601 UTC.
Entries are sealed asynchronously (ADR 0006): a transfer writes nothing more than before.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from apps.audit.chains import ChainSource, register_chain
from apps.audit.hashing import amount_str, iso_utc

ENTRY_FIELDS = ("id", "public_id", "kind", "amount", "currency", "reference", "channel", "created_by", "reverses_id")
POSTING_FIELDS = ("entry_id", "id", "public_id", "account_id", "amount", "currency", "balance_after", "created_at")


def journal_entry_contents(ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    from apps.transactions.models import JournalEntry, Posting

    contents: dict[int, dict[str, Any]] = {}
    for row in JournalEntry.objects.filter(id__in=ids).values(*ENTRY_FIELDS, "created_at"):
        contents[row["id"]] = {
            **{name: row[name] for name in ENTRY_FIELDS},
            "public_id": str(row["public_id"]),
            "amount": amount_str(row["amount"]),
            "created_at": iso_utc(row["created_at"]),
            "postings": [],
        }
    for posting in Posting.objects.filter(entry_id__in=ids).order_by("id").values(*POSTING_FIELDS):
        entry = contents.get(posting.pop("entry_id"))
        if entry is not None:
            entry["postings"].append(
                {
                    **posting,
                    "public_id": str(posting["public_id"]),
                    "amount": amount_str(posting["amount"]),
                    "balance_after": amount_str(posting["balance_after"]),
                    "created_at": iso_utc(posting["created_at"]),
                }
            )
    return contents


def register_ledger_chain() -> None:
    from apps.transactions.models import JournalEntry

    register_chain(ChainSource(name="ledger", model=JournalEntry, contents=journal_entry_contents))
