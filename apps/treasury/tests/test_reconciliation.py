"""Reconciliation of the gateway's settlement files: both formats parsed (and refused with the
line named), each line matched to its payment and booked through the payment services, every
difference a break that operations resolve."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.utils import timezone

from apps.accounts.models import Account, Hold
from apps.audit.models import AuditEvent
from apps.common.errors import ValidationFailed
from apps.common.money import Money
from apps.common.principals import SYSTEM_ACTOR, Actor, Channel
from apps.common.roles import OPERATIONS, TELLER, roles_sync
from apps.integrations.gateway import GatewayAnswer, GatewayOrder, GatewayOutcome
from apps.transactions.models import Payment, PaymentStatus
from apps.transactions.services_payments import Beneficiary, payment_create, payment_submit
from apps.treasury.models import Break, BreakKind, BreakStatus, LineOutcome, SettlementFile, SettlementLine
from apps.treasury.services_recon import break_resolve, settlement_file_import
from apps.treasury.settlement_formats import parse_camt053, parse_csv
from tests.support import ledger_state, verified_staff_client

BENEFICIARY = Beneficiary(name="Li Wei", account_number="6222020200112233", bank_code="ICBKCNBJ", country="CN")
OPS = Actor(label="user:ops", channel=Channel.BRANCH)
TODAY = timezone.localdate().isoformat()


class AcceptingGateway:
    """Takes every order and answers later (by callback, or here: by the settlement file)."""

    def submit(self, order: GatewayOrder) -> GatewayAnswer:
        return GatewayAnswer(GatewayOutcome.ACCEPTED, reference=f"GW-{order.key[:8]}")

    def status(self, key: str) -> GatewayAnswer:
        return GatewayAnswer(GatewayOutcome.ACCEPTED, reference=f"GW-{key[:8]}")


@pytest.fixture
def gateway() -> Iterator[None]:
    with override_settings(FINSYS_PAYMENT_GATEWAY=f"{__name__}.AcceptingGateway"):
        yield


def _submitted(account: Account, amount: str = "100.00") -> Payment:
    payment = payment_create(
        actor=SYSTEM_ACTOR, from_account=account.public_id, money=Money(Decimal(amount), account.currency),
        beneficiary=BENEFICIARY,
    )  # fmt: skip
    assert payment_submit(payment_id=payment.pk).status == PaymentStatus.SUBMITTED
    payment.refresh_from_db()
    return payment


def _csv(*rows: tuple[Any, ...]) -> bytes:
    lines = ["gateway_reference,payment_id,amount,currency,status,value_date"]
    lines += [",".join(str(cell) for cell in row) for row in rows]
    return ("\r\n".join(lines) + "\r\n").encode()


def _row(payment: Payment, status: str = "settled", amount: str | None = None, currency: str | None = None) -> tuple:
    return ("GW1", payment.public_id, amount or f"{payment.amount:.2f}", currency or payment.currency, status, TODAY)


CAMT = """<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">
  <BkToCstmrStmt>
    <GrpHdr><MsgId>STMT-1</MsgId><CreDtTm>{today}T23:00:00Z</CreDtTm></GrpHdr>
    <Stmt>
      <Id>STMT-1-1</Id>
      <Acct><Id><Othr><Id>FINSYS-CLEARING-CNY</Id></Othr></Id></Acct>
{entries}
    </Stmt>
  </BkToCstmrStmt>
</Document>
"""

NTRY = """      <Ntry>
        <Amt Ccy="{currency}">{amount}</Amt>
        <CdtDbtInd>{direction}</CdtDbtInd>
        <Sts>{status}</Sts>
        <BookgDt><Dt>{today}</Dt></BookgDt>
        <ValDt><Dt>{today}</Dt></ValDt>
        <AcctSvcrRef>{ref}</AcctSvcrRef>
        <NtryDtls><TxDtls><Refs><EndToEndId>{key}</EndToEndId></Refs></TxDtls></NtryDtls>
      </Ntry>"""


def _camt(*entries: dict[str, str]) -> bytes:
    body = "\n".join(NTRY.format(today=TODAY, **entry) for entry in entries)
    return CAMT.format(today=TODAY, entries=body).encode()


def test_csv_and_camt053_files_parse_to_the_same_lines():
    key = "0b7c8a2e-1111-4222-8333-944455556666"
    csv_lines = parse_csv(_csv(("GW-9", key, "120.50", "CNY", "settled", TODAY)))
    camt_lines = parse_camt053(
        _camt({"currency": "CNY", "amount": "120.50", "direction": "DBIT", "status": "BOOK", "ref": "GW-9", "key": key})
    )
    for lines in (csv_lines, camt_lines):
        (line,) = lines
        assert (line.payment_key, line.gateway_reference, line.amount, line.currency, line.status) == (
            key, "GW-9", Decimal("120.50"), "CNY", "settled",
        )  # fmt: skip
        assert line.value_date == dt.date.fromisoformat(TODAY)
    assert csv_lines[0].line_no == 2
    assert camt_lines[0].line_no == 8  # the line of its <Ntry>


def test_camt053_maps_credit_to_returned_rejected_and_skips_pending_entries():
    common = {"currency": "CNY", "amount": "5.00", "ref": "R"}
    lines = parse_camt053(
        _camt(
            {**common, "direction": "CRDT", "status": "BOOK", "key": "a"},
            {**common, "direction": "DBIT", "status": "RJCT", "key": "b"},
            {**common, "direction": "DBIT", "status": "PDNG", "key": "c"},
            {**common, "direction": "DBIT", "status": "<Cd>BOOK</Cd>", "key": "d"},
        )
    )
    assert [(line.payment_key, line.status) for line in lines] == [
        ("a", "returned"), ("b", "rejected"), ("d", "settled"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("fmt", "content", "line"),
    [
        ("csv", b"gateway_reference,payment_id,amount\r\n", 1),
        ("csv", _csv(("G", "k", "10.00", "CNY", "settled", TODAY), ("G", "k2", "1.234", "CNY", "settled", TODAY)), 3),
        ("csv", _csv(("G", "k", "10.00", "CNY", "paid", TODAY)), 2),
        ("csv", _csv(("G", "k", "10.00", "CNY", "settled", "31/12/2026")), 2),
        (
            "csv",
            _csv(
                ("G", "k", "10.00", "CNY", "settled"),
            ),
            2,
        ),
        ("camt053", b"<Document><BkToCstmrStmt><Stmt>\n<Ntry>\n</Stmt></Document>", 3),
        (
            "camt053",
            _camt({"currency": "CNY", "amount": "-5", "direction": "DBIT", "status": "BOOK", "ref": "R", "key": "k"}),
            9,
        ),
        ("camt053", b'<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY a "b">]>\n<x/>', 2),
    ],
)
def test_a_malformed_file_names_its_line_and_imports_nothing(db, fmt, content, line):
    before = (SettlementFile.objects.count(), SettlementLine.objects.count(), Break.objects.count(), ledger_state())
    with pytest.raises(ValidationFailed) as refused:
        settlement_file_import(actor=OPS, content=content, filename="bad", fmt=fmt)
    assert f"Line {line}:" in str(refused.value.errors["file"][0])
    assert (
        SettlementFile.objects.count(),
        SettlementLine.objects.count(),
        Break.objects.count(),
        ledger_state(),
    ) == before


def test_settled_and_rejected_lines_settle_and_release_their_payments(make_account, gateway):
    account = make_account(balance="1000.00")
    settled, rejected, agreed = _submitted(account, "100.00"), _submitted(account, "50.00"), _submitted(account, "7.00")
    Payment.objects.filter(pk=agreed.pk).update(status=PaymentStatus.REJECTED)  # as if a callback booked it
    Hold.objects.filter(pk=agreed.hold_id).update(status="released")
    Account.objects.filter(pk=account.pk).update(available=Account.objects.get(pk=account.pk).available + 7)
    result = settlement_file_import(
        actor=OPS,
        content=_csv(_row(settled), _row(rejected, "rejected"), _row(agreed, "rejected")),
        filename="s.csv",
        fmt="csv",
    )
    assert result.outcomes == {LineOutcome.SETTLE: 1, LineOutcome.REJECT: 1, LineOutcome.AGREED: 1}
    assert result.breaks == 0
    settled.refresh_from_db()
    rejected.refresh_from_db()
    assert (settled.status, rejected.status) == (PaymentStatus.SETTLED, PaymentStatus.REJECTED)
    assert settled.settlement_entry is not None
    account.refresh_from_db()
    assert (account.balance, account.available) == (Decimal("900.00"), Decimal("900.00"))
    out = StringIO()
    call_command("check_ledger", stdout=out)
    assert "ledger ok" in out.getvalue()


def test_importing_the_same_file_twice_changes_nothing(make_account, gateway):
    account = make_account(balance="1000.00")
    payment = _submitted(account)
    content = _camt(
        {
            "currency": "CNY",
            "amount": "100.00",
            "direction": "DBIT",
            "status": "BOOK",
            "ref": "G",
            "key": str(payment.public_id),
        }
    )
    first = settlement_file_import(actor=OPS, content=content, filename="a.xml", fmt="camt053")
    assert not first.duplicate
    before = (ledger_state(), SettlementFile.objects.count(), SettlementLine.objects.count(), Break.objects.count())
    second = settlement_file_import(actor=OPS, content=content, filename="a-again.xml", fmt="camt053")
    assert second.duplicate
    assert second.file == first.file
    assert (
        ledger_state(),
        SettlementFile.objects.count(),
        SettlementLine.objects.count(),
        Break.objects.count(),
    ) == before


def test_a_returned_line_books_the_return_of_a_settled_payment(make_account, gateway):
    account = make_account(balance="1000.00")
    payment = _submitted(account)
    settlement_file_import(actor=OPS, content=_csv(_row(payment)), filename="day1.csv", fmt="csv")
    result = settlement_file_import(actor=OPS, content=_csv(_row(payment, "returned")), filename="day2.csv", fmt="csv")
    assert result.outcomes == {LineOutcome.RETURN: 1}
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.RETURNED
    assert payment.return_entry is not None
    account.refresh_from_db()
    assert account.balance == Decimal("1000.00")


def test_an_answer_recorded_but_not_yet_booked_is_booked_by_the_file(make_account, gateway):
    account = make_account(balance="1000.00")
    payment = _submitted(account)
    Payment.objects.filter(pk=payment.pk).update(gateway_outcome=GatewayOutcome.SETTLED)  # the sweep has not run
    result = settlement_file_import(actor=OPS, content=_csv(_row(payment, "returned")), filename="r.csv", fmt="csv")
    assert result.outcomes == {LineOutcome.RETURN: 1}
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.RETURNED
    assert payment.settlement_entry is not None
    assert payment.return_entry is not None
    account.refresh_from_db()
    assert (account.balance, account.available) == (Decimal("1000.00"), Decimal("1000.00"))


def test_every_difference_becomes_an_open_break_and_moves_no_money(make_account, gateway):
    account = make_account(balance="1000.00")
    wrong_amount, wrong_currency, held, missing = (_submitted(account) for _ in range(4))
    Payment.objects.filter(pk=held.pk).update(status=PaymentStatus.HELD)  # not yet sent, by our books
    before = ledger_state()
    result = settlement_file_import(
        actor=OPS,
        content=_csv(
            ("G", "6f1d0a7e-0000-4000-8000-000000000000", "1.00", "CNY", "settled", TODAY),
            ("G", "not-a-uuid", "1.00", "CNY", "settled", TODAY),
            _row(wrong_amount, amount="100.01"),
            _row(wrong_currency, currency="USD"),
            _row(held),
        ),
        filename="breaks.csv",
        fmt="csv",
    )
    assert result.outcomes == {LineOutcome.BREAK: 5}
    kinds = sorted(Break.objects.filter(status=BreakStatus.OPEN).values_list("kind", flat=True))
    assert kinds == sorted(
        [
            BreakKind.UNKNOWN_REFERENCE, BreakKind.UNKNOWN_REFERENCE, BreakKind.AMOUNT_MISMATCH,
            BreakKind.CURRENCY_MISMATCH, BreakKind.STATE_MISMATCH, BreakKind.MISSING_FROM_FILE,
        ]
    )  # fmt: skip
    assert Break.objects.get(kind=BreakKind.MISSING_FROM_FILE).payment == missing
    assert ledger_state() == before
    assert set(Payment.objects.values_list("status", flat=True)) == {PaymentStatus.SUBMITTED, PaymentStatus.HELD}
    # the next file does not report the same missing payment twice
    settlement_file_import(actor=OPS, content=_csv(_row(wrong_amount, amount="100.01")), filename="b.csv", fmt="csv")
    assert Break.objects.filter(kind=BreakKind.MISSING_FROM_FILE, payment=missing).count() == 1


def test_resolving_a_break_needs_a_note_is_audited_and_happens_once(make_account, gateway):
    settlement_file_import(
        actor=OPS, content=_csv(("G", "nobody", "1.00", "CNY", "settled", TODAY)), filename="x.csv", fmt="csv"
    )
    brk = Break.objects.get()
    with pytest.raises(ValidationFailed):
        break_resolve(actor=OPS, brk=brk, note="  ")
    brk.refresh_from_db()
    assert brk.status == BreakStatus.OPEN
    resolved = break_resolve(actor=OPS, brk=brk, note="gateway test entry, confirmed by phone")
    assert (resolved.status, resolved.resolved_by) == (BreakStatus.RESOLVED, "user:ops")
    assert AuditEvent.objects.filter(action="settlement.break_resolve", object_id=str(brk.public_id)).exists()
    with pytest.raises(ValidationFailed):
        break_resolve(actor=OPS, brk=brk, note="again")
    brk.refresh_from_db()
    assert brk.note == "gateway test entry, confirmed by phone"


def test_the_command_imports_a_file_and_reports_a_malformed_one(make_account, gateway, tmp_path):
    account = make_account(balance="500.00")
    payment = _submitted(account)
    good = tmp_path / "settlement.csv"
    good.write_bytes(_csv(_row(payment)))
    out = StringIO()
    call_command("import_settlement_file", str(good), "--format", "csv", stdout=out)
    assert "1 lines (settle 1); 0 breaks" in out.getvalue()
    call_command("import_settlement_file", str(good), "--format", "csv", stdout=out)
    assert "nothing changed" in out.getvalue()
    bad = tmp_path / "bad.csv"
    bad.write_bytes(_csv(("G", "k", "ten", "CNY", "settled", TODAY)))
    with pytest.raises(CommandError, match="Line 2"):
        call_command("import_settlement_file", str(bad), "--format", "csv")


def test_operations_resolve_breaks_from_the_admin_with_a_note(db):
    roles_sync()
    user = User.objects.create_user(username="ops1", password="x", is_staff=True)
    user.groups.add(Group.objects.get(name=OPERATIONS))
    teller = User.objects.create_user(username="teller1", password="x", is_staff=True)
    teller.groups.add(Group.objects.get(name=TELLER))
    settlement_file_import(
        actor=OPS, content=_csv(("G", "nobody", "1.00", "CNY", "settled", TODAY)), filename="x.csv", fmt="csv"
    )
    brk = Break.objects.get()
    refused = verified_staff_client(teller).post(
        "/admin/treasury/break/",
        {"action": "resolve_breaks", "_selected_action": [brk.pk], "note": "x", "index": 0},
    )
    assert refused.status_code in (302, 403)
    brk.refresh_from_db()
    assert brk.status == BreakStatus.OPEN
    client = verified_staff_client(user)
    response = client.post(
        "/admin/treasury/break/",
        {"action": "resolve_breaks", "_selected_action": [brk.pk], "note": "known test payment", "index": 0},
    )
    assert response.status_code == 302
    brk.refresh_from_db()
    assert (brk.status, brk.note) == (BreakStatus.RESOLVED, "known test payment")
    assert brk.resolved_by == "user:ops1"
