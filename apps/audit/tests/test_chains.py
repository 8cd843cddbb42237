"""The audit and ledger hash chains: sealing, verifying, and every kind of tampering detected
by verify_audit and by the offline script on a real export, naming the broken row."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import itertools
import subprocess
import sys
from collections.abc import Callable
from decimal import Decimal
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.utils import timezone

from apps.accounts.models import Account
from apps.audit.hashing import checkpoint_message, content_hash, iso_utc
from apps.audit.models import AuditCheckpoint, AuditEvent, ChainHead, ChainLink
from apps.audit.selectors import ProblemKind
from apps.audit.services import (
    AuditChainBroken,
    audit_record,
    audit_verify,
    chain_seal,
    chains_seal,
    checkpoint_create,
)
from apps.audit.signing import public_key_b64
from apps.audit.tasks import seal_audit_chains
from apps.audit.tests.tampering import raw
from apps.common.money import Money
from apps.common.principals import SYSTEM_ACTOR
from apps.transactions.models import JournalEntry
from apps.transactions.services import transfer_create

SCRIPT = Path(settings.BASE_DIR) / "scripts" / "verify_audit_export.py"


@pytest.fixture
def bank(make_account: Callable[..., Account]) -> list[Account]:
    """A few customers and accounts with money moved: audit events and journal entries."""
    a = make_account(balance="500.00")
    b = make_account(balance="20.00")
    transfer_create(
        actor=SYSTEM_ACTOR, from_account=a.public_id, to_account=b.public_id, money=Money(Decimal("12.34"), "CNY")
    )
    audit_record(actor="user:alice", action="report.export", detail={"rows": 3, "note": "季度报表"})
    return [a, b]


def _verify_fails(*args: str) -> str:
    with pytest.raises(CommandError) as failure:
        call_command("verify_audit", *args, stdout=StringIO())
    assert failure.value.returncode == 1
    message = str(failure.value)
    assert "\n" not in message
    return message


def _link(chain: str, object_id: int) -> ChainLink:
    return ChainLink.objects.get(chain=chain, object_id=object_id)


def _head(chain: str, seq: int) -> int:
    return ChainLink.objects.get(chain=chain, seq=seq).object_id


def test_sealing_chains_every_audit_event_and_journal_entry_once(bank: list[Account]) -> None:
    sealed = chains_seal()

    assert sealed == {"audit": AuditEvent.objects.count(), "ledger": JournalEntry.objects.count()}
    for chain, model in (("audit", AuditEvent), ("ledger", JournalEntry)):
        links = list(ChainLink.objects.filter(chain=chain).order_by("seq"))
        assert [link.seq for link in links] == list(range(1, model.objects.count() + 1))
        assert [link.object_id for link in links] == sorted(model.objects.values_list("pk", flat=True))
        assert all(later.prev_hash == earlier.row_hash for earlier, later in itertools.pairwise(links))
        assert ChainHead.objects.get(chain=chain).head_hash == links[-1].row_hash
    assert chains_seal() == {"audit": 0, "ledger": 0}  # nothing is sealed twice


def test_the_ledger_content_covers_the_postings(bank: list[Account]) -> None:
    chains_seal()
    entry = JournalEntry.objects.order_by("-id").first()
    assert entry is not None
    link = _link("ledger", entry.pk)
    postings = list(entry.postings.order_by("id"))
    expected = {
        "id": entry.pk,
        "public_id": str(entry.public_id),
        "kind": "transfer",
        "amount": "12.3400",
        "currency": "CNY",
        "reference": "",
        "channel": "system",
        "created_by": SYSTEM_ACTOR.label,
        "reverses_id": None,
        "created_at": iso_utc(entry.created_at),
        "postings": [
            {
                "id": p.pk,
                "public_id": str(p.public_id),
                "account_id": p.account_id,
                "amount": f"{p.amount:.4f}",
                "currency": "CNY",
                "balance_after": f"{p.balance_after:.4f}",
                "created_at": iso_utc(p.created_at),
            }
            for p in postings
        ],
    }
    assert link.content_hash == content_hash(expected)


def test_verify_audit_passes_on_an_untouched_bank_and_is_itself_audited(bank: list[Account]) -> None:
    out = StringIO()
    call_command("verify_audit", stdout=out)

    assert out.getvalue().startswith("audit verified: audit: ")
    assert "ledger: 3 rows" in out.getvalue()
    run = AuditEvent.objects.filter(action="audit.verify").get()
    assert run.actor == "system:verify_audit"
    assert run.detail["ok"] is True


def test_the_beat_task_seals_both_chains(bank: list[Account]) -> None:
    result = seal_audit_chains.delay().get()

    assert result == {"audit": AuditEvent.objects.count(), "ledger": JournalEntry.objects.count()}
    assert (
        not ChainLink.objects.filter(chain="ledger").exclude(object_id__in=JournalEntry.objects.values("pk")).exists()
    )


# Each tamper changes the database behind the application's back and returns what verify_audit
# must name: (kind, chain, seq, object id or None).
def _tamper_posting_amount() -> tuple[str, str, int, int | None]:
    entry = JournalEntry.objects.filter(kind="transfer").get()
    raw("UPDATE transactions_posting SET amount = amount * 10 WHERE entry_id = %s", [entry.pk])
    return ProblemKind.CONTENT_CHANGED, "ledger", _link("ledger", entry.pk).seq, entry.pk


def _tamper_audit_detail() -> tuple[str, str, int, int | None]:
    event = AuditEvent.objects.get(action="report.export")
    raw("UPDATE audit_auditevent SET detail = %s WHERE id = %s", ['{"rows": 0, "note": "季度报表"}', event.pk])
    return ProblemKind.CONTENT_CHANGED, "audit", _link("audit", event.pk).seq, event.pk


def _swap_audit_contents() -> tuple[str, str, int, int | None]:
    first, second = AuditEvent.objects.order_by("id")[:2]
    for event, other in ((first, second), (second, first)):
        raw("UPDATE audit_auditevent SET action = %s WHERE id = %s", [other.action, event.pk])
    return ProblemKind.CONTENT_CHANGED, "audit", _link("audit", first.pk).seq, first.pk


def _delete_journal_entry() -> tuple[str, str, int, int | None]:
    entry = JournalEntry.objects.filter(kind="transfer").get()
    raw("DELETE FROM transactions_posting WHERE entry_id = %s", [entry.pk])
    raw("DELETE FROM transactions_journalentry WHERE id = %s", [entry.pk])
    return ProblemKind.ROW_MISSING, "ledger", _link("ledger", entry.pk).seq, entry.pk


def _delete_audit_event() -> tuple[str, str, int, int | None]:
    event = AuditEvent.objects.order_by("id")[2]
    raw("DELETE FROM audit_auditevent WHERE id = %s", [event.pk])
    return ProblemKind.ROW_MISSING, "audit", _link("audit", event.pk).seq, event.pk


def _reorder_ledger_links() -> tuple[str, str, int, int | None]:
    """Swap the places of two sealed entries (their links' sequence numbers)."""
    raw("UPDATE audit_chainlink SET seq = -1 WHERE chain = 'ledger' AND seq = 2")
    raw("UPDATE audit_chainlink SET seq = 2 WHERE chain = 'ledger' AND seq = 3")
    raw("UPDATE audit_chainlink SET seq = 3 WHERE chain = 'ledger' AND seq = -1")
    return ProblemKind.ORDER_CHANGED, "ledger", 2, ChainLink.objects.get(chain="ledger", seq=2).object_id


def _forge_checkpoint() -> tuple[str, str, int, int | None]:
    """Re-sign a checkpoint over a different head with the intruder's own key, stored beside it."""
    checkpoint = AuditCheckpoint.objects.get(chain="ledger")
    forged_head = "f" * 64
    key = Ed25519PrivateKey.generate()
    message = checkpoint_message(
        chain="ledger",
        day=checkpoint.day.isoformat(),
        seq=checkpoint.seq,
        head_hash=forged_head,
        signed_at=iso_utc(checkpoint.signed_at) or "",
    )
    public = public_key_b64(key)

    raw(
        "UPDATE audit_auditcheckpoint SET head_hash = %s, signature = %s, public_key = %s, key_id = %s WHERE id = %s",
        [
            forged_head,
            base64.b64encode(key.sign(message)).decode(),
            public,
            hashlib.sha256(base64.b64decode(public)).hexdigest()[:16],
            checkpoint.pk,
        ],
    )
    return ProblemKind.SIGNATURE_BAD, "ledger", checkpoint.seq, _head("ledger", checkpoint.seq)


def _alter_checkpoint_head() -> tuple[str, str, int, int | None]:
    """Point a genuinely signed checkpoint at another head: its signature no longer matches."""
    checkpoint = AuditCheckpoint.objects.get(chain="audit")
    raw("UPDATE audit_auditcheckpoint SET head_hash = %s WHERE id = %s", ["e" * 64, checkpoint.pk])
    return ProblemKind.SIGNATURE_BAD, "audit", checkpoint.seq, _head("audit", checkpoint.seq)


def _truncate_ledger_tail() -> tuple[str, str, int, int | None]:
    """Remove the newest entry and its link: the chain alone looks whole, the checkpoint does not."""
    last = ChainLink.objects.filter(chain="ledger").order_by("-seq").first()
    assert last is not None
    raw("DELETE FROM transactions_posting WHERE entry_id = %s", [last.object_id])
    raw("DELETE FROM transactions_journalentry WHERE id = %s", [last.object_id])
    raw("DELETE FROM audit_chainlink WHERE id = %s", [last.pk])
    return ProblemKind.CHECKPOINT_MISMATCH, "ledger", last.seq, None


TAMPERS = {
    "posting amount changed": _tamper_posting_amount,
    "audit detail changed": _tamper_audit_detail,
    "two audit events swapped": _swap_audit_contents,
    "journal entry deleted": _delete_journal_entry,
    "audit event deleted": _delete_audit_event,
    "ledger rows reordered": _reorder_ledger_links,
    "checkpoint forged": _forge_checkpoint,
    "checkpoint head altered": _alter_checkpoint_head,
    "ledger tail cut off": _truncate_ledger_tail,
}


@pytest.fixture
def sealed_bank(bank: list[Account]) -> list[Account]:
    checkpoint_create(actor="system:test")
    call_command("verify_audit", stdout=StringIO())  # sound before the intruder comes
    return bank


def _expected(kind: str, chain: str, seq: int, object_id: int | None) -> str:
    named = f"chain {chain}, seq {seq}" + (f", id {object_id}" if object_id is not None else "")
    return f"{named}: {kind}"


@pytest.mark.parametrize("tamper", list(TAMPERS), ids=list(TAMPERS))
def test_verify_audit_names_the_first_broken_row(sealed_bank: list[Account], tamper: str) -> None:
    expected = _expected(*TAMPERS[tamper]())

    message = _verify_fails()

    assert expected in message, message
    assert AuditEvent.objects.filter(action="audit.verify", detail__ok=False).exists()


@pytest.mark.parametrize("tamper", list(TAMPERS), ids=list(TAMPERS))
def test_the_offline_script_detects_the_same_on_a_real_export(
    sealed_bank: list[Account], tamper: str, tmp_path: Path
) -> None:
    expected = _expected(*TAMPERS[tamper]())
    export = tmp_path / "audit.jsonl"
    call_command("export_audit", str(export), stdout=StringIO())

    result = subprocess.run(
        [sys.executable, "-I", str(SCRIPT), str(export)], capture_output=True, text=True, timeout=60, check=False
    )

    assert result.returncode == 1, result.stdout + result.stderr
    assert expected in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_the_offline_script_accepts_an_untouched_export_and_refuses_an_edited_one(
    sealed_bank: list[Account], tmp_path: Path
) -> None:
    export = tmp_path / "audit.jsonl"
    out = StringIO()
    call_command("export_audit", str(export), stdout=out)
    assert "sha256" in out.getvalue()
    assert AuditEvent.objects.filter(action="audit.export").exists()
    public = public_key_b64(Ed25519PrivateKey.from_private_bytes(base64.b64decode(settings.AUDIT_SIGNING_KEY)))

    ok = subprocess.run([sys.executable, "-I", str(SCRIPT), str(export), "--trusted-key", public],
                        capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("audit export verified: audit: ")

    other = public_key_b64(Ed25519PrivateKey.generate())
    untrusted = subprocess.run([sys.executable, "-I", str(SCRIPT), str(export), "--trusted-key", other],
                               capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert untrusted.returncode == 1
    assert "signature bad" in untrusted.stderr

    lines = export.read_text(encoding="utf-8").splitlines()
    edited = [line.replace('"12.3400"', '"1.3400"', 1) for line in lines]
    assert edited != lines
    export.write_text("\n".join(edited) + "\n", encoding="utf-8")
    broken = subprocess.run([sys.executable, "-I", str(SCRIPT), str(export)],
                            capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert broken.returncode == 1
    assert "content changed" in broken.stderr


def test_a_checkpoint_signs_each_chain_head_with_the_configured_key(bank: list[Account]) -> None:
    out = StringIO()
    call_command("audit_checkpoint", stdout=out)

    checkpoints = {c.chain: c for c in AuditCheckpoint.objects.all()}
    assert set(checkpoints) == {"audit", "ledger"}
    for chain, checkpoint in checkpoints.items():
        head = ChainLink.objects.filter(chain=chain).order_by("-seq").first()
        assert head is not None
        assert (checkpoint.seq, checkpoint.head_hash) == (head.seq, head.row_hash)
        assert checkpoint.day == timezone.now().astimezone(dt.UTC).date()
    assert out.getvalue().count("signed by key") == 2
    assert AuditEvent.objects.filter(action="audit.checkpoint", actor="system:audit_checkpoint").exists()


def test_a_checkpoint_refuses_to_sign_a_chain_broken_since_the_last_one(sealed_bank: list[Account]) -> None:
    event = audit_record(actor="user:alice", action="rule.change", detail={"limit": "5000.00"})
    chains_seal()
    raw("UPDATE audit_auditevent SET detail = %s WHERE id = %s", ['{"limit": "50000.00"}', event.pk])
    before = AuditCheckpoint.objects.count()

    with pytest.raises(AuditChainBroken):
        checkpoint_create(actor="system:test")
    with pytest.raises(CommandError, match="content changed"):
        call_command("audit_checkpoint", stdout=StringIO())

    assert AuditCheckpoint.objects.count() == before


def test_checkpoints_signed_before_a_key_rotation_verify_only_while_the_old_key_is_trusted(
    sealed_bank: list[Account],
) -> None:
    old_public = public_key_b64(Ed25519PrivateKey.from_private_bytes(base64.b64decode(settings.AUDIT_SIGNING_KEY)))
    new_key = base64.b64encode(Ed25519PrivateKey.generate().private_bytes_raw()).decode()

    with override_settings(AUDIT_SIGNING_KEY=new_key, AUDIT_TRUSTED_PUBLIC_KEYS=[old_public]):
        audit_record(actor="user:alice", action="config.change")
        checkpoint_create(actor="system:test")
        assert len({c.key_id for c in AuditCheckpoint.objects.all()}) == 2
        call_command("verify_audit", stdout=StringIO())
    with override_settings(AUDIT_SIGNING_KEY=new_key, AUDIT_TRUSTED_PUBLIC_KEYS=[]):
        assert "signature bad" in _verify_fails()


def test_a_row_committed_late_below_the_horizon_is_sealed_by_the_full_sweep(db: Any) -> None:
    """The fast pass looks above the horizon only; the full sweep (checkpoint, verify, hourly)
    still finds a row that became visible late, and verify reports one left unsealed."""
    AuditEvent.objects.create(id=1000, actor="a", action="x")
    with override_settings(AUDIT_SEAL_LOOKBACK_SECONDS=0):
        chain_seal(chain="audit")  # sets the candidate
        chain_seal(chain="audit")  # a lookback later: the horizon moves to it
    assert ChainHead.objects.get(chain="audit").horizon_id == 1000
    late = AuditEvent.objects.create(id=500, actor="a", action="late")

    assert chain_seal(chain="audit") == 0  # the fast pass does not look below the horizon
    with override_settings(AUDIT_SEAL_GRACE_SECONDS=0):
        message = _verify_fails("--no-seal")
    assert f"chain audit, id {late.pk}: unsealed" in message

    assert chain_seal(chain="audit", full=True) == 2  # it, and the record of the failed verification
    assert _link("audit", late.pk).seq > _link("audit", 1000).seq  # at the end of the chain, not skipped
    call_command("verify_audit", stdout=StringIO())


def test_rows_younger_than_the_grace_period_may_wait_for_the_sealer(bank: list[Account]) -> None:
    result = audit_verify(actor="system:test", seal=False)

    assert result.ok
    assert all(report.links == 0 for report in result.chains)


def test_a_malformed_audit_key_is_a_one_line_refusal_and_signs_nothing(bank: list[Account]) -> None:
    with override_settings(AUDIT_SIGNING_KEY="not-a-key"), pytest.raises(CommandError) as failure:
        call_command("audit_checkpoint", stdout=StringIO())
    assert failure.value.returncode == 2
    assert "AUDIT_SIGNING_KEY" in str(failure.value)
    assert not AuditCheckpoint.objects.exists()

    with override_settings(AUDIT_TRUSTED_PUBLIC_KEYS=["short"]), pytest.raises(CommandError) as failure:
        call_command("verify_audit", stdout=StringIO())
    assert failure.value.returncode == 2
    assert "AUDIT_TRUSTED_PUBLIC_KEYS" in str(failure.value)


def test_a_backlog_is_sealed_in_batches_each_continuing_where_the_last_stopped(
    bank: list[Account], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("apps.audit.services.SEAL_BATCH", 2)
    for n in range(5):
        audit_record(actor="user:alice", action="backlog", detail={"n": n})

    sealed = chains_seal()

    assert sealed == {"audit": AuditEvent.objects.count(), "ledger": JournalEntry.objects.count()}
    links = list(ChainLink.objects.filter(chain="audit").order_by("seq").values_list("object_id", flat=True))
    assert links == sorted(AuditEvent.objects.values_list("pk", flat=True))
    call_command("verify_audit", stdout=StringIO())
