"""Watchlist uploads from the back office, maker-checked: a list import changes who is stopped,
so an uploaded file is checked and stored, and imported only when a second person approves the
approval `compliance.watchlist_import` (apps.compliance.approvals runs it once)."""

from __future__ import annotations

import re
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.common.errors import ValidationFailed
from apps.common.principals import Actor, require_bank
from apps.compliance.aml import watchlist_parse, watchlist_store, watchlist_version
from apps.compliance.approvals import register_action
from apps.compliance.models import Approval, ApprovalStatus, WatchlistFormat
from apps.compliance.screening.formats import FormatError
from apps.compliance.services import approval_request

WATCHLIST_IMPORT_ACTION = "compliance.watchlist_import"
WATCHLIST_UPLOAD_DIR = "compliance/watchlist-uploads"
WATCHLIST_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")


def watchlist_upload_request(
    *,
    actor: Actor,
    name: str,
    source_format: str,
    data: bytes,
    alt: bytes | None = None,
    filename: str = "",
    reason: str = "",
) -> Approval:
    """Check an uploaded list file and hold it for a second person: nothing is imported until
    the approval `compliance.watchlist_import` is approved (by someone else), which imports
    exactly the stored bytes (their SHA-256 is checked). A malformed file raises
    ValidationFailed and stores nothing."""
    require_bank(actor, _("Only the bank can import watchlists."))
    if not WATCHLIST_NAME_RE.match(name or ""):
        raise ValidationFailed(
            {"name": [_("Use 1 to 40 letters, digits, dots, dashes or underscores, starting with a letter or digit.")]}
        )
    if source_format not in WatchlistFormat.values:
        raise ValidationFailed({"source_format": [_("Choose a list format.")]})
    if alt is not None and source_format != WatchlistFormat.OFAC:
        raise ValidationFailed({"alt": [_("An alias file goes only with an OFAC SDN list.")]})
    try:
        parties = watchlist_parse(source_format=source_format, data=data, alt=alt)
    except FormatError as exc:
        raise ValidationFailed(
            {"data": [_("The file is not a valid list of this format: %(why)s") % {"why": exc}]}
        ) from None
    if not parties:
        raise ValidationFailed({"data": [_("The file holds no entries.")]})
    version = watchlist_version(data, alt)
    waiting = Approval.objects.filter(
        action=WATCHLIST_IMPORT_ACTION, status=ApprovalStatus.PENDING, expires_at__gt=timezone.now(),
        payload__name=name, payload__version=version,
    )  # fmt: skip
    if waiting.exists():  # a double submission, or the same file twice
        raise ValidationFailed({"data": [_("This file is already waiting for approval for this list.")]})
    stored = default_storage.save(f"{WATCHLIST_UPLOAD_DIR}/{version}.dat", ContentFile(data))
    stored_alt = default_storage.save(f"{WATCHLIST_UPLOAD_DIR}/{version}-alt.dat", ContentFile(alt)) if alt else ""
    payload = {
        "name": name,
        "source_format": source_format,
        "file": stored,
        "alt_file": stored_alt,
        "version": version,
        "entries": len(parties),
        "filename": filename[:200],
    }
    return approval_request(
        actor=actor,
        action=WATCHLIST_IMPORT_ACTION,
        payload=payload,
        customer=None,
        summary=f"Import watchlist {name} ({source_format}, {len(parties)} entries)",
        reason=reason,
    )


def _read_stored(name: str) -> bytes:
    with default_storage.open(name, "rb") as handle:
        return bytes(handle.read())


def _watchlist_import_action(actor: Actor, payload: dict[str, Any]) -> dict[str, Any]:
    """Run by an approved upload, inside the approval's transaction: imports once."""
    try:
        data = _read_stored(payload["file"])
        alt = _read_stored(payload["alt_file"]) if payload.get("alt_file") else None
    except OSError:
        raise ValidationFailed({"file": [_("The uploaded list file is no longer stored; upload it again.")]}) from None
    version = watchlist_version(data, alt)
    if version != payload["version"]:
        raise ValidationFailed({"file": [_("The stored list file changed since it was uploaded.")]})
    try:
        parties = watchlist_parse(source_format=payload["source_format"], data=data, alt=alt)
    except FormatError as exc:
        raise ValidationFailed({"file": [str(exc)]}) from None
    result = watchlist_store(
        actor=actor, name=payload["name"], source_format=payload["source_format"], parties=parties, version=version
    )
    return {
        "watchlist": payload["name"],
        "entries": result.watchlist.entry_count,
        "added": result.added,
        "updated": result.updated,
        "removed": result.removed,
        "unchanged": result.unchanged,
    }


register_action(WATCHLIST_IMPORT_ACTION, _watchlist_import_action)
