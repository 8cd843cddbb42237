"""The monthly risk report for management and the regulator (PDF and XLSX): credit exposures,
limit breaches, alerts and their outcomes, net open FX positions against their limits and the
customers with the highest risk scores. Reads apps.risk's selectors (risk is a lower layer) and is
generated like every report: by a worker, stored, downloaded with an audit event (docs/reports.md).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import IO, Any

from django.utils import timezone

from apps.common.money import format_amount
from apps.risk import selectors as risk


@dataclass(frozen=True)
class Section:
    title: str
    columns: list[str]
    rows: list[list[Any]]


def _when(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def risk_report_sections(*, start: dt.datetime, end: dt.datetime) -> list[Section]:
    """The report's tables for the period [start, end): every section, even an empty one."""
    now = timezone.now()
    exposures = risk.exposures(by="customer")
    breaches = list(
        risk.alerts_between(start, end)
        .filter(category="limit")
        .order_by("created_at", "id")
        .values_list("created_at", "customer_id", "customer__full_name", "kind", "amount", "currency", "reason")
    )
    outcomes = risk.alerts_outcomes(start, end)
    positions = risk.fx_positions(at=end)
    top = risk.top_customers_by_risk(10)
    total_alerts = sum(int(row["count"]) for row in outcomes)
    summary = Section(
        "Summary",
        ["item", "value"],
        [
            ["period from", _when(start)],
            ["period to (excluded)", _when(end)],
            ["generated at", _when(now)],
            ["customers with credit exposure", len({e.key[0] for e in exposures})],
            ["limit breaches (refused movements)", len(breaches)],
            ["alerts raised", total_alerts],
            ["FX positions over their limit at period end", sum(1 for p in positions if p.breached)],
        ],
    )
    return [
        summary,
        Section(
            "Credit exposure by customer",
            ["customer", "name", "currency", "accounts", "limit", "drawn", "unused limit", "exposure"],
            [
                [
                    e.key[0],
                    e.key[1],
                    e.currency,
                    e.accounts,
                    format_amount(e.limit, e.currency),
                    format_amount(e.drawn, e.currency),
                    format_amount(e.unused, e.currency),
                    format_amount(e.total, e.currency),
                ]
                for e in exposures
            ],
        ),
        Section(
            "Credit exposure by product",
            ["product", "currency", "accounts", "limit", "drawn", "unused limit", "exposure"],
            [
                [
                    e.key[0],
                    e.currency,
                    e.accounts,
                    format_amount(e.limit, e.currency),
                    format_amount(e.drawn, e.currency),
                    format_amount(e.unused, e.currency),
                    format_amount(e.total, e.currency),
                ]
                for e in risk.exposures(by="product")
            ],
        ),
        Section(
            "Limit breaches",
            ["time", "customer", "name", "kind", "amount", "currency", "reason"],
            [
                [
                    _when(at),
                    customer,
                    name or "",
                    kind,
                    format_amount(amount, currency) if amount is not None else "",
                    currency,
                    reason,
                ]
                for at, customer, name, kind, amount, currency, reason in breaches
            ],
        ),
        Section(
            "Alerts and outcomes",
            ["category", "decision", "status", "disposition", "alerts"],
            [[r["category"], r["outcome"], r["status"], r["disposition"] or "-", r["count"]] for r in outcomes],
        ),
        Section(
            "Net open FX positions at period end",
            ["currency", "position", "limit", "used %", "over limit"],
            [
                [
                    p.currency,
                    format_amount(p.position, p.currency),
                    format_amount(p.limit, p.currency) if p.limit is not None else "unlimited",
                    str(p.used_percent) if p.used_percent is not None else "",
                    "yes" if p.breached else "no",
                ]
                for p in positions
            ],
        ),
        Section(
            "Top customers by risk score",
            ["customer", "name", "score", "tier", "PEP", "largest factors"],
            [
                [
                    row["customer_id"],
                    row["customer__full_name"],
                    row["score"],
                    row["tier"],
                    "yes" if row["pep"] else "no",
                    ", ".join(
                        f"{name} {factor.get('points', 0)}"
                        for name, factor in sorted(
                            (row["factors"] or {}).items(), key=lambda item: -int(item[1].get("points", 0))
                        )
                        if factor.get("points")
                    ),
                ]
                for row in top
            ],
        ),
    ]


def risk_report_xlsx(out: IO[bytes], title: str, sections: list[Section]) -> int:
    """One sheet per section (sheet names at most 31 characters); returns the data rows written."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    count = 0
    for section in sections:
        sheet = book.create_sheet(title=section.title[:31])
        sheet.append([title if section is sections[0] else section.title])
        sheet.append(section.columns)
        for row in section.rows:
            sheet.append(row)
            count += 1
    book.save(out)
    return count


def risk_report_pdf(out: IO[bytes], title: str, sections: list[Section]) -> int:
    """An A4 landscape document, a table per section (reportlab). Names may be Chinese: table text
    uses the STSong-Light CID font reportlab ships. Page streams are left uncompressed so the text
    can be searched."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import mm
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    if "STSong-Light" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    styles = getSampleStyleSheet()
    document = SimpleDocTemplate(
        out, pagesize=landscape(A4), title=title, author="finsys", pageCompression=0,
        leftMargin=12 * mm, rightMargin=12 * mm, topMargin=12 * mm, bottomMargin=12 * mm,
    )  # fmt: skip
    story: list[Any] = [Paragraph(title, styles["Title"])]
    count = 0
    for section in sections:
        story.append(Paragraph(section.title, styles["Heading2"]))
        rows = section.rows or [["(none)"] + [""] * (len(section.columns) - 1)]
        table = Table([section.columns, *[[str(cell) for cell in row] for row in rows]], repeatRows=1)
        table.setStyle(
            TableStyle(
                [
                    ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"),
                    ("FONTNAME", (0, 1), (-1, -1), "STSong-Light"),
                    ("FONTSIZE", (0, 0), (-1, -1), 8),
                    ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                    ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ]
            )
        )
        story += [table, Spacer(1, 6 * mm)]
        count += len(section.rows)
    document.build(story)
    return count
