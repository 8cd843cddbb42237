"""Parsers of the gateway's settlement files: CSV and ISO 20022 camt.053 (docs/treasury.md).

Both give the same lines: payment key (our payment's id, the gateway's idempotency key),
gateway reference, amount, currency, status (settled | rejected | returned) and value date.
A file that is not well formed raises SettlementFileError naming the line; nothing is kept.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from decimal import Decimal
from xml.parsers import expat

from django.utils.translation import gettext as _

from apps.common.money import MoneyError, parse_amount

CSV_COLUMNS = ("gateway_reference", "payment_id", "amount", "currency", "status", "value_date")
STATUSES = ("settled", "rejected", "returned")
MAX_LINES = 100_000


class SettlementFileError(ValueError):
    def __init__(self, message: str, *, line: int | None = None) -> None:
        self.line = line
        self.message = message
        super().__init__(f"line {line}: {message}" if line is not None else message)


@dataclass(frozen=True)
class ParsedLine:
    line_no: int
    payment_key: str
    gateway_reference: str
    amount: Decimal
    currency: str
    status: str
    value_date: dt.date


def _amount(text: str, currency: str, line: int) -> Decimal:
    try:
        return parse_amount(text, currency)
    except MoneyError as exc:
        raise SettlementFileError(str(exc), line=line) from None


def _date(text: str, line: int) -> dt.date:
    try:
        return dt.date.fromisoformat(text[:10])
    except ValueError:
        raise SettlementFileError(_("Use an ISO date (YYYY-MM-DD) for the value date."), line=line) from None


def _key(text: str, line: int) -> str:
    key = text.strip()
    if not key or len(key) > 64:
        raise SettlementFileError(_("The payment id is missing or longer than 64 characters."), line=line)
    return key


def parse_csv(content: bytes) -> list[ParsedLine]:
    """A header row with CSV_COLUMNS (any order), then one payment per row."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SettlementFileError(_("The file is not UTF-8 text.")) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [name.strip().lower() for name in next(reader)]
    except StopIteration:
        raise SettlementFileError(_("The file is empty."), line=1) from None
    except csv.Error as exc:
        raise SettlementFileError(str(exc), line=1) from None
    missing = [name for name in CSV_COLUMNS if name not in header]
    if missing:
        raise SettlementFileError(_("Missing columns: %(names)s.") % {"names": ", ".join(missing)}, line=1)
    where = {name: header.index(name) for name in CSV_COLUMNS}
    lines: list[ParsedLine] = []
    try:
        for row in reader:
            number = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                raise SettlementFileError(
                    _("Expected %(n)d fields, found %(m)d.") % {"n": len(header), "m": len(row)}, line=number
                )
            cell = {name: row[index].strip() for name, index in where.items()}
            status = cell["status"].lower()
            if status not in STATUSES:
                raise SettlementFileError(
                    _("Unknown status %(status)r: use settled, rejected or returned.") % {"status": cell["status"]},
                    line=number,
                )
            currency = cell["currency"].upper()
            lines.append(
                ParsedLine(
                    line_no=number,
                    payment_key=_key(cell["payment_id"], number),
                    gateway_reference=cell["gateway_reference"][:64],
                    amount=_amount(cell["amount"], currency, number),
                    currency=currency,
                    status=status,
                    value_date=_date(cell["value_date"], number),
                )
            )
            if len(lines) > MAX_LINES:
                raise SettlementFileError(_("Too many lines in one file."), line=number)
    except csv.Error as exc:
        raise SettlementFileError(str(exc), line=reader.line_num) from None
    return lines


@dataclass
class _Node:
    tag: str  # local name, without the namespace
    line: int
    attrs: dict[str, str]
    children: list[_Node] = field(default_factory=list)
    text: str = ""

    def find(self, *path: str) -> _Node | None:
        node: _Node | None = self
        for name in path:
            node = next((child for child in node.children if child.tag == name), None) if node else None
        return node

    def findall(self, name: str) -> list[_Node]:
        found = []
        for child in self.children:
            if child.tag == name:
                found.append(child)
            found += child.findall(name)
        return found


def _parse_xml(content: bytes) -> _Node:
    """A small tree with line numbers, from expat. Any DOCTYPE (and so any entity) is refused."""
    parser = expat.ParserCreate(namespace_separator="}")
    root = _Node("", 0, {})
    stack = [root]

    def start(name: str, attrs: dict[str, str]) -> None:
        node = _Node(name.rpartition("}")[2], parser.CurrentLineNumber, attrs)
        stack[-1].children.append(node)
        stack.append(node)

    def end(_name: str) -> None:
        stack.pop()

    def chars(data: str) -> None:
        stack[-1].text += data

    def doctype(*_args: object) -> None:
        raise SettlementFileError(_("A DOCTYPE is not allowed."), line=parser.CurrentLineNumber)

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    parser.StartDoctypeDeclHandler = doctype
    try:
        parser.Parse(content, True)
    except expat.ExpatError as exc:
        raise SettlementFileError(expat.errors.messages[exc.code], line=exc.lineno) from None
    return root


def _text(node: _Node | None) -> str:
    return node.text.strip() if node is not None else ""


def parse_camt053(content: bytes) -> list[ParsedLine]:
    """camt.053 (any version: names are matched without their namespace). Each Ntry is a payment:
    AcctSvcrRef = the gateway's reference, NtryDtls/TxDtls/Refs/EndToEndId = our payment id,
    Amt (with Ccy), CdtDbtInd, Sts (BOOK, or RJCT for a rejected order; v8+ wrap it in Cd),
    ValDt/Dt. BOOK + DBIT is settled, BOOK + CRDT (or RvslInd true) is returned, RJCT rejected;
    PDNG and INFO entries are not final and are skipped."""
    root = _parse_xml(content)
    document = root.children[0] if root.children else None
    if document is None or document.find("BkToCstmrStmt") is None:
        raise SettlementFileError(_("Not a camt.053 document (no BkToCstmrStmt)."), line=1)
    lines: list[ParsedLine] = []
    for entry in document.findall("Ntry"):
        number = entry.line
        amount_node = entry.find("Amt")
        if amount_node is None:
            raise SettlementFileError(_("The entry has no Amt."), line=number)
        currency = amount_node.attrs.get("Ccy", "").upper()
        sts_node = entry.find("Sts")
        status_code = _text(sts_node.find("Cd") if sts_node and sts_node.find("Cd") else sts_node).upper()
        direction = _text(entry.find("CdtDbtInd")).upper()
        reversal = _text(entry.find("RvslInd")).lower() == "true"
        if status_code in ("PDNG", "INFO"):
            continue
        if status_code == "RJCT":
            status = "rejected"
        elif status_code == "BOOK" and direction in ("DBIT", "CRDT"):
            status = "returned" if direction == "CRDT" or reversal else "settled"
        else:
            raise SettlementFileError(
                _("Unknown Sts/CdtDbtInd %(sts)r/%(ind)r.") % {"sts": status_code, "ind": direction}, line=number
            )
        key_node = entry.find("NtryDtls", "TxDtls", "Refs", "EndToEndId")
        if key_node is None:
            raise SettlementFileError(_("The entry has no EndToEndId."), line=number)
        date_node = entry.find("ValDt", "Dt") or entry.find("ValDt", "DtTm") or entry.find("BookgDt", "Dt")
        if date_node is None:
            raise SettlementFileError(_("The entry has no value date."), line=number)
        lines.append(
            ParsedLine(
                line_no=number,
                payment_key=_key(key_node.text, key_node.line),
                gateway_reference=_text(entry.find("AcctSvcrRef"))[:64],
                amount=_amount(_text(amount_node), currency, amount_node.line),
                currency=currency,
                status=status,
                value_date=_date(_text(date_node), date_node.line),
            )
        )
        if len(lines) > MAX_LINES:
            raise SettlementFileError(_("Too many lines in one file."), line=number)
    return lines


PARSERS = {"csv": parse_csv, "camt053": parse_camt053}
