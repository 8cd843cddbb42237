"""Writers for report files. Each writes to a binary file object as the rows come, so memory
does not grow with the number of rows (docs/reports.md, ADR 0010):

- CSV: the csv module, one row at a time.
- camt.053.001.08 XML: xml.sax.saxutils.XMLGenerator, one element at a time.
- PDF: a small page-at-a-time PDF writer. reportlab's canvas (and platypus even more) keeps every
  page of a document in memory until `save()`, which grows with the postings; here each page's
  content stream is compressed and written as soon as it is full, and only its byte offset is
  kept for the cross-reference table. reportlab supplies the font metrics (right-aligned amounts).
- XLSX: openpyxl in write_only mode (management reports are small: tens of rows).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import IO, Any
from xml.sax.saxutils import XMLGenerator, escape
from xml.sax.xmlreader import AttributesImpl

from reportlab.pdfbase.pdfmetrics import stringWidth
from stdnum import iban

from apps.common.money import format_amount
from apps.transactions.selectors import StatementLine

CAMT053_NAMESPACE = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"
CSV_HEADER = ["booked_at", "entry_id", "posting_id", "kind", "reference", "amount", "currency", "balance_after"]


@dataclass(frozen=True)
class StatementHeader:
    """What a statement says before its first posting. `end` is exclusive (the day after the
    last day of the period); the holder's name is shown in full, never a national id."""

    statement_id: str
    bank_name: str
    account_number: str
    holder_name: str
    currency: str
    start: dt.datetime
    end: dt.datetime
    opening: Decimal
    closing: Decimal
    generated_at: dt.datetime

    @property
    def last_day(self) -> dt.date:
        return (self.end - dt.timedelta(microseconds=1)).date()


def _amount(value: Decimal, currency: str) -> str:
    return format_amount(value, currency)


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


# --- CSV ---------------------------------------------------------------------------------------------


def statement_csv(out: IO[bytes], header: StatementHeader, lines: Iterable[StatementLine]) -> int:
    """Comment-free CSV: a header row, one row per posting (UTF-8; a spreadsheet reads it)."""
    text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)
    writer = csv.writer(text)
    writer.writerow(CSV_HEADER)
    count = 0
    for line in lines:
        writer.writerow(
            [
                _iso(line.booked_at),
                line.entry_id,
                line.posting_id,
                line.kind,
                line.reference,
                _amount(line.amount, line.currency),
                line.currency,
                _amount(line.balance_after, line.currency),
            ]
        )
        count += 1
    text.flush()
    text.detach()  # leave `out` open for the caller
    return count


def table_csv(out: IO[bytes], columns: list[str], rows: Iterable[list[Any]]) -> int:
    text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)
    writer = csv.writer(text)
    writer.writerow(columns)
    count = 0
    for row in rows:
        writer.writerow(row)
        count += 1
    text.flush()
    text.detach()
    return count


def table_xlsx(out: IO[bytes], title: str, columns: list[str], rows: Iterable[list[Any]]) -> int:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=title[:31])
    sheet.append(columns)
    count = 0
    for row in rows:
        sheet.append(row)
        count += 1
    book.save(out)
    return count


# --- camt.053 -------------------------------------------------------------------------------------------


class _Xml:
    def __init__(self, out: IO[bytes]) -> None:
        self.gen = XMLGenerator(out, encoding="utf-8", short_empty_elements=True)

    def start(self, name: str, attrs: dict[str, str] | None = None) -> None:
        self.gen.startElement(name, AttributesImpl(attrs or {}))

    def end(self, name: str) -> None:
        self.gen.endElement(name)

    def leaf(self, name: str, text: str, attrs: dict[str, str] | None = None) -> None:
        self.gen.startElement(name, AttributesImpl(attrs or {}))
        self.gen.characters(text)
        self.gen.endElement(name)

    def raw(self, markup: str) -> None:
        """Already well-formed, escaped markup, written as is (after any pending start tag)."""
        self.gen.ignorableWhitespace(markup)

    def path(self, names: list[str], text: str) -> None:
        for name in names[:-1]:
            self.start(name)
        self.leaf(names[-1], text)
        for name in reversed(names[:-1]):
            self.end(name)


def _balance(xml: _Xml, code: str, amount: Decimal, currency: str, day: dt.date) -> None:
    xml.start("Bal")
    xml.start("Tp")
    xml.path(["CdOrPrtry", "Cd"], code)
    xml.end("Tp")
    xml.leaf("Amt", _amount(abs(amount), currency), {"Ccy": currency})
    xml.leaf("CdtDbtInd", "DBIT" if amount < 0 else "CRDT")
    xml.path(["Dt", "Dt"], day.isoformat())
    xml.end("Bal")


def statement_camt053(out: IO[bytes], header: StatementHeader, lines: Iterable[StatementLine]) -> int:
    """ISO 20022 BankToCustomerStatement (camt.053.001.08): opening (OPBD) and closing (CLBD)
    booked balances, then one booked Ntry per posting."""
    xml = _Xml(out)
    xml.gen.startDocument()
    xml.start("Document", {"xmlns": CAMT053_NAMESPACE})
    xml.start("BkToCstmrStmt")
    xml.start("GrpHdr")
    xml.leaf("MsgId", header.statement_id)
    xml.leaf("CreDtTm", _iso(header.generated_at))
    xml.end("GrpHdr")
    xml.start("Stmt")
    xml.leaf("Id", header.statement_id)
    xml.leaf("CreDtTm", _iso(header.generated_at))
    xml.start("FrToDt")
    xml.leaf("FrDtTm", _iso(header.start))
    xml.leaf("ToDtTm", _iso(header.end - dt.timedelta(seconds=1)))
    xml.end("FrToDt")
    xml.start("Acct")
    xml.start("Id")
    if iban.is_valid(header.account_number):
        xml.leaf("IBAN", iban.compact(header.account_number))
    else:
        xml.path(["Othr", "Id"], header.account_number)
    xml.end("Id")
    xml.leaf("Ccy", header.currency)
    xml.path(["Ownr", "Nm"], header.holder_name[:140])
    xml.end("Acct")
    _balance(xml, "OPBD", header.opening, header.currency, header.start.date())
    _balance(xml, "CLBD", header.closing, header.currency, header.last_day)
    count = 0
    for line in lines:
        # One entry as one pre-formatted string (the same XML the element calls would write,
        # a third of the time): only the free-text fields need escaping.
        booked = line.booked_at.astimezone(dt.UTC)
        info = f"<AddtlNtryInf>{escape(line.reference[:500])}</AddtlNtryInf>" if line.reference else ""
        xml.raw(
            f"<Ntry><NtryRef>{line.posting_id.hex}</NtryRef>"
            f'<Amt Ccy="{line.currency}">{_amount(abs(line.amount), line.currency)}</Amt>'
            f"<CdtDbtInd>{'DBIT' if line.amount < 0 else 'CRDT'}</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>"
            f"<BookgDt><DtTm>{_iso(booked)}</DtTm></BookgDt><ValDt><Dt>{booked.date().isoformat()}</Dt></ValDt>"
            f"<AcctSvcrRef>{line.entry_id.hex}</AcctSvcrRef>"
            f"<BkTxCd><Prtry><Cd>{escape(line.kind)}</Cd><Issr>finsys</Issr></Prtry></BkTxCd>{info}</Ntry>"
        )
        count += 1
    xml.end("Stmt")
    xml.end("BkToCstmrStmt")
    xml.end("Document")
    xml.gen.endDocument()
    return count


# --- PDF ----------------------------------------------------------------------------------------------

PAGE_WIDTH, PAGE_HEIGHT = 595.28, 841.89  # A4 in points
MARGIN = 40.0
ROW_HEIGHT = 12.0
FIRST_ROW_Y = 690.0
LAST_ROW_Y = 60.0
# Objects 1-7 are fixed (catalog, page tree, fonts); pages follow, two objects each.
_CATALOG, _PAGES, _FIRST_PAGE_OBJECT = 1, 2, 8
_FONTS = (
    (3, b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"),
    (4, b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>"),
    # Chinese (and other non-Latin) text: Adobe's standard CJK font, no embedding needed.
    (
        5,
        b"<< /Type /Font /Subtype /Type0 /BaseFont /STSong-Light-UniGB-UCS2-H /Encoding /UniGB-UCS2-H "
        b"/DescendantFonts [6 0 R] >>",
    ),
    (
        6,
        b"<< /Type /Font /Subtype /CIDFontType0 /BaseFont /STSong-Light /CIDSystemInfo << /Registry (Adobe) "
        b"/Ordering (GB1) /Supplement 2 >> /FontDescriptor 7 0 R /DW 1000 >>",
    ),
    (
        7,
        b"<< /Type /FontDescriptor /FontName /STSong-Light /Flags 6 /FontBBox [-25 -254 1000 880] "
        b"/ItalicAngle 0 /Ascent 880 /Descent -120 /CapHeight 880 /StemV 93 >>",
    ),
)


def _pdf_text(text: str) -> tuple[str, bytes]:
    """(font resource, PDF string) for `text`: Helvetica when WinAnsi holds it, else the CJK font."""
    try:
        raw = text.encode("cp1252")
    except UnicodeEncodeError:
        safe = "".join(ch if ord(ch) < 0x10000 else "?" for ch in text)
        return "F3", b"<" + safe.encode("utf-16-be").hex().encode() + b">"
    return "F1", b"(" + raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


_WIDTHS: dict[tuple[str, bool], float] = {}


def _width(text: str, bold: bool) -> float:
    """Width of `text` at size 1 in Helvetica (per-character widths cached: amounts are drawn
    100,000s of times and reportlab's pure-Python stringWidth is the slow part of a page)."""
    total = 0.0
    for ch in text:
        width = _WIDTHS.get((ch, bold))
        if width is None:
            width = _WIDTHS[(ch, bold)] = stringWidth(ch, "Helvetica-Bold" if bold else "Helvetica", 1)
        total += width
    return total


class StreamingPdf:
    """Pages written to `out` as they are finished; only object offsets stay in memory."""

    def __init__(self, out: IO[bytes]) -> None:
        self.out = out
        self.position = 0
        self.offsets: dict[int, int] = {}
        self.pages: list[int] = []
        self.ops: list[bytes] = []
        self._write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
        for number, body in _FONTS:
            self._object(number, body)

    def _write(self, data: bytes) -> None:
        self.out.write(data)
        self.position += len(data)

    def _object(self, number: int, body: bytes) -> None:
        self.offsets[number] = self.position
        self._write(b"%d 0 obj\n" % number + body + b"\nendobj\n")

    def text(self, x: float, y: float, text: str, *, size: float = 9, bold: bool = False, right: bool = False) -> None:
        font, literal = _pdf_text(text)
        if font == "F1" and bold:
            font = "F2"
        if right:
            x -= size * len(text) if font == "F3" else _width(text, bold) * size
        self.ops.append(b"BT /%s %.1f Tf %.2f %.2f Td %s Tj ET" % (font.encode(), size, x, y, literal))

    def line(self, x1: float, y1: float, x2: float, y2: float) -> None:
        self.ops.append(b"%.2f %.2f m %.2f %.2f l S" % (x1, y1, x2, y2))

    def end_page(self) -> None:
        number = _FIRST_PAGE_OBJECT + 2 * len(self.pages)
        content = zlib.compress(b"\n".join(self.ops))
        self.ops = []
        self._object(
            number, b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(content) + content + b"\nendstream"
        )
        self._object(
            number + 1,
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %.2f %.2f] /Contents %d 0 R "
            b"/Resources << /Font << /F1 3 0 R /F2 4 0 R /F3 5 0 R >> >> >>" % (PAGE_WIDTH, PAGE_HEIGHT, number),
        )
        self.pages.append(number + 1)

    def close(self) -> None:
        kids = b" ".join(b"%d 0 R" % n for n in self.pages)
        self._object(_PAGES, b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, len(self.pages)))
        self._object(_CATALOG, b"<< /Type /Catalog /Pages 2 0 R >>")
        size = max(self.offsets) + 1
        xref = self.position
        rows = [b"0000000000 65535 f \n"]
        rows += [
            b"%010d 00000 n \n" % self.offsets[n] if n in self.offsets else b"0000000000 65535 f \n"
            for n in range(1, size)
        ]
        self._write(b"xref\n0 %d\n" % size + b"".join(rows))
        self._write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (size, xref))


_COLUMNS = ((MARGIN, "booked"), (MARGIN + 95, "reference"), (MARGIN + 290, "kind"))
_AMOUNT_X, _BALANCE_X = 470.0, PAGE_WIDTH - MARGIN


def _page_header(pdf: StreamingPdf, header: StatementHeader, page: int, labels: dict[str, str]) -> None:
    top = PAGE_HEIGHT - MARGIN - 14
    pdf.text(MARGIN, top, header.bank_name, size=14, bold=True)
    pdf.text(_BALANCE_X, top, labels["title"], size=12, bold=True, right=True)
    pdf.text(MARGIN, top - 22, f"{labels['account']}: {header.account_number} ({header.currency})")
    pdf.text(MARGIN, top - 34, f"{labels['holder']}: {header.holder_name}")
    pdf.text(MARGIN, top - 46, f"{labels['period']}: {header.start.date().isoformat()} - {header.last_day.isoformat()}")
    pdf.text(_BALANCE_X, top - 22, f"{labels['statement']}: {header.statement_id}", size=7, right=True)
    pdf.text(_BALANCE_X, top - 34, f"{labels['generated']}: {_iso(header.generated_at)}", size=7, right=True)
    y = FIRST_ROW_Y + 16
    for x, key in _COLUMNS:
        pdf.text(x, y, labels[key], bold=True)
    pdf.text(_AMOUNT_X, y, labels["amount"], bold=True, right=True)
    pdf.text(_BALANCE_X, y, labels["balance"], bold=True, right=True)
    pdf.line(MARGIN, y - 4, _BALANCE_X, y - 4)
    pdf.text(PAGE_WIDTH / 2, MARGIN - 10, f"{labels['page']} {page}", size=8)


def statement_pdf(
    out: IO[bytes], header: StatementHeader, lines: Iterable[StatementLine], labels: dict[str, str] | None = None
) -> int:
    """The bank's header on every page, the opening balance, one row per posting (date,
    reference, kind, amount, running balance), the closing balance, page numbers."""
    labels = {**DEFAULT_PDF_LABELS, **(labels or {})}
    pdf = StreamingPdf(out)
    page = 1
    _page_header(pdf, header, page, labels)
    y = FIRST_ROW_Y
    pdf.text(MARGIN + 95, y, labels["opening"], bold=True)
    pdf.text(_BALANCE_X, y, _amount(header.opening, header.currency), bold=True, right=True)
    y -= ROW_HEIGHT
    count = 0
    for line in lines:
        if y < LAST_ROW_Y:
            pdf.end_page()
            page += 1
            _page_header(pdf, header, page, labels)
            y = FIRST_ROW_Y
        pdf.text(MARGIN, y, line.booked_at.astimezone(dt.UTC).isoformat(sep=" ", timespec="seconds")[:19], size=8)
        pdf.text(MARGIN + 95, y, line.reference[:42], size=8)
        pdf.text(MARGIN + 290, y, line.kind, size=8)
        pdf.text(_AMOUNT_X, y, _amount(line.amount, line.currency), size=8, right=True)
        pdf.text(_BALANCE_X, y, _amount(line.balance_after, line.currency), size=8, right=True)
        y -= ROW_HEIGHT
        count += 1
    if y < LAST_ROW_Y:
        pdf.end_page()
        page += 1
        _page_header(pdf, header, page, labels)
        y = FIRST_ROW_Y
    pdf.line(MARGIN, y + ROW_HEIGHT - 3, _BALANCE_X, y + ROW_HEIGHT - 3)
    pdf.text(MARGIN + 95, y, labels["closing"], bold=True)
    pdf.text(_BALANCE_X, y, _amount(header.closing, header.currency), bold=True, right=True)
    pdf.end_page()
    pdf.close()
    return count


DEFAULT_PDF_LABELS = {
    "title": "Account statement",
    "account": "Account",
    "holder": "Account holder",
    "period": "Period",
    "statement": "Statement",
    "generated": "Generated",
    "page": "Page",
    "opening": "Opening balance",
    "closing": "Closing balance",
    "booked": "Booked (UTC)",
    "reference": "Reference",
    "kind": "Kind",
    "amount": "Amount",
    "balance": "Balance",
}


def counted(lines: Iterable[StatementLine], every: int, report: Callable[[int], None]) -> Iterator[StatementLine]:
    """Pass `lines` through, calling `report(rows so far)` every `every` rows."""
    for done, line in enumerate(lines, start=1):
        yield line
        if done % every == 0:
            report(done)
