"""Large-value and suspicious transaction reports: a business day's movements against the rule
sets of the configured jurisdictions (ReportRule rows; PBOC-2016 and US-CTR are shipped).

What counts, per customer and business day (the bank's TIME_ZONE):
- cash: deposits and withdrawals booked against the cash vault GL (not reversed);
- domestic: transfers between customer accounts (both the payer and the payee) and outgoing
  payments whose beneficiary is in FINSYS_BANK_COUNTRY;
- cross_border: outgoing payments to any other country (rejected payments do not count).
Amounts are converted into the rule's currency with FINSYS_AML_FX_RATES (a fixed table until
treasury rates exist) and summed per customer (the cumulative daily rule). A total at or above
the threshold (strictly above for `strictly_greater` rules such as the US CTR) gives one
ReportRecord per rule, customer and day, and a case to review it. Running a day again adds
only what is new.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from xml.etree.ElementTree import Element, SubElement, tostring

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.accounts.models import GlCode
from apps.audit.services import audit_record
from apps.common.principals import Actor
from apps.compliance.aml import case_open
from apps.compliance.models import ReportRecord, ReportRule
from apps.transactions.models import EntryKind, JournalEntry, Payment, PaymentStatus, Posting

logger = logging.getLogger(__name__)

CENT = Decimal("0.01")


@dataclass(frozen=True)
class Movement:
    customer_id: int
    customer_kind: str
    flow: str  # cash | domestic | cross_border
    amount: Decimal  # positive
    currency: str
    ref: str


def _window(business_date: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = timezone.make_aware(dt.datetime.combine(business_date, dt.time.min))
    return start, timezone.make_aware(dt.datetime.combine(business_date + dt.timedelta(days=1), dt.time.min))


def day_movements(business_date: dt.date) -> list[Movement]:
    start, end = _window(business_date)
    moves: list[Movement] = []
    cash_entries = Posting.objects.filter(
        created_at__gte=start,
        created_at__lt=end,
        account__gl_code=GlCode.CASH_VAULT,
        entry__kind__in=[EntryKind.DEPOSIT, EntryKind.WITHDRAWAL],
        entry__reversal__isnull=True,
    ).values("entry_id")
    transfer_entries = JournalEntry.objects.filter(
        created_at__gte=start, created_at__lt=end, kind=EntryKind.TRANSFER, reversal__isnull=True
    ).values("pk")
    sources: list[tuple[str, Any]] = [("cash", cash_entries), ("domestic", transfer_entries)]
    for flow, entries in sources:
        rows = Posting.objects.filter(entry_id__in=entries, account__customer__isnull=False).values_list(
            "account__customer_id", "account__customer__kind", "amount", "currency", "entry__public_id"
        )
        for customer_id, kind, amount, currency, ref in rows:
            moves.append(Movement(customer_id, kind, flow, abs(amount), currency, str(ref)))
    payments = (
        Payment.objects.filter(created_at__gte=start, created_at__lt=end, account__customer__isnull=False)
        .exclude(status=PaymentStatus.REJECTED)
        .values_list(
            "account__customer_id", "account__customer__kind", "amount", "currency", "public_id", "beneficiary_country"
        )
    )
    home = settings.FINSYS_BANK_COUNTRY
    for customer_id, kind, amount, currency, ref, country in payments:
        flow = "domestic" if country == home else "cross_border"
        moves.append(Movement(customer_id, kind, flow, amount, currency, str(ref)))
    return moves


def fx_convert(amount: Decimal, currency: str, to: str) -> Decimal | None:
    """`amount` in `to` by the fixed table (units of the base currency per unit); None if unknown."""
    rates = settings.FINSYS_AML_FX_RATES
    if currency == to:
        return amount
    if currency not in rates or to not in rates:
        return None
    return (amount * Decimal(rates[currency]) / Decimal(rates[to])).quantize(CENT)


def _applies(rule: ReportRule, move: Movement) -> bool:
    if move.flow != rule.flow or (rule.customer_kind and rule.customer_kind != move.customer_kind):
        return False
    wanted = rule.currency_filter
    if wanted.startswith("!"):
        return move.currency != wanted[1:]
    return not wanted or move.currency == wanted


def transaction_reports_generate(*, business_date: dt.date) -> list[ReportRecord]:
    """Evaluate the day against every active rule; store and open a case for each new report."""
    rules = list(ReportRule.objects.filter(active=True, jurisdiction__in=settings.FINSYS_AML_JURISDICTIONS))
    moves = day_movements(business_date)
    created: list[ReportRecord] = []
    with transaction.atomic(durable=True):
        done = set(ReportRecord.objects.filter(business_date=business_date).values_list("rule_id", "customer_id"))
        for rule in rules:
            totals: dict[int, Decimal] = defaultdict(Decimal)
            refs: dict[int, list[str]] = defaultdict(list)
            for move in moves:
                if not _applies(rule, move):
                    continue
                converted = fx_convert(move.amount, move.currency, rule.threshold_currency)
                if converted is None:
                    logger.warning("no FX rate for %s: %s not counted for %s", move.currency, move.ref, rule)
                    continue
                totals[move.customer_id] += converted
                refs[move.customer_id].append(move.ref)
            for customer_id in sorted(totals):
                total = totals[customer_id]
                met = total > rule.threshold if rule.strictly_greater else total >= rule.threshold
                if not met or (rule.pk, customer_id) in done:
                    continue
                case = case_open(
                    kind=rule.report_kind,
                    summary=_("%(rule)s: %(total)s %(currency)s on %(date)s")
                    % {"rule": rule.code, "total": total, "currency": rule.threshold_currency, "date": business_date},
                    customer_id=customer_id,
                    detail={"rule": f"{rule.jurisdiction}/{rule.code}", "business_date": business_date.isoformat()},
                )
                created.append(
                    ReportRecord.objects.create(
                        rule=rule,
                        customer_id=customer_id,
                        business_date=business_date,
                        total=total,
                        currency=rule.threshold_currency,
                        transaction_count=len(refs[customer_id]),
                        entries=refs[customer_id],
                        case=case,
                    )
                )
    return created


EXPORT_COLUMNS = [
    "report_id",
    "jurisdiction",
    "rule",
    "report_kind",
    "business_date",
    "customer_id",
    "customer_name",
    "customer_kind",
    "customer_country",
    "flow",
    "total",
    "currency",
    "transaction_count",
    "transactions",
    "case_id",
    "case_status",
]


def _export_rows(business_date: dt.date) -> list[dict[str, str]]:
    records = ReportRecord.objects.filter(business_date=business_date).select_related("rule", "customer", "case")
    rows = []
    for r in records.order_by("rule__jurisdiction", "rule__code", "customer_id"):
        rows.append(
            {
                "report_id": str(r.pk),
                "jurisdiction": r.rule.jurisdiction,
                "rule": r.rule.code,
                "report_kind": r.rule.report_kind,
                "business_date": r.business_date.isoformat(),
                "customer_id": str(r.customer.public_id),
                "customer_name": r.customer.full_name,
                "customer_kind": r.customer.kind,
                "customer_country": r.customer.country,
                "flow": r.rule.flow,
                "total": str(r.total.quantize(CENT)),
                "currency": r.currency,
                "transaction_count": str(r.transaction_count),
                "transactions": " ".join(r.entries),
                "case_id": str(r.case.public_id) if r.case else "",
                "case_status": r.case.status if r.case else "",
            }
        )
    return rows


def transaction_reports_csv(*, business_date: dt.date) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=EXPORT_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in _export_rows(business_date):
        # Spreadsheet formula injection: a cell never starts with = + - @.
        writer.writerow({k: ("'" + v if v[:1] in "=+-@" else v) for k, v in row.items()})
    return out.getvalue()


def transaction_reports_xml(*, business_date: dt.date) -> bytes:
    """The day's reports in the schema of docs/compliance.md (modelled on PBOC's large-value report)."""
    root = Element(
        "TransactionReports",
        {"businessDate": business_date.isoformat(), "generatedAt": timezone.now().isoformat(timespec="seconds")},
    )
    for row in _export_rows(business_date):
        report = SubElement(
            root,
            "Report",
            {
                "id": row["report_id"],
                "jurisdiction": row["jurisdiction"],
                "rule": row["rule"],
                "kind": row["report_kind"],
            },
        )
        SubElement(
            report,
            "Customer",
            {"id": row["customer_id"], "kind": row["customer_kind"], "country": row["customer_country"]},
        ).text = row["customer_name"]
        SubElement(report, "Flow").text = row["flow"]
        SubElement(report, "Total", {"currency": row["currency"]}).text = row["total"]
        SubElement(report, "TransactionCount").text = row["transaction_count"]
        transactions = SubElement(report, "Transactions")
        for ref in row["transactions"].split():
            SubElement(transactions, "Ref").text = ref
        SubElement(report, "Case", {"id": row["case_id"], "status": row["case_status"]})
    return tostring(root, encoding="utf-8", xml_declaration=True)


def transaction_reports_export(*, actor: Actor, business_date: dt.date, fmt: str) -> bytes:
    """A business day's reports as the regulator's file (csv or xml); each export is audited."""
    if fmt not in ("csv", "xml"):
        raise ValueError(f"unknown export format {fmt!r}")
    body = (
        transaction_reports_csv(business_date=business_date).encode("utf-8")
        if fmt == "csv"
        else transaction_reports_xml(business_date=business_date)
    )
    with transaction.atomic():
        audit_record(
            actor=actor.label,
            action="export.transaction_reports",
            object_type="transaction_reports",
            object_id=business_date.isoformat(),
            detail={"format": fmt, "bytes": len(body)},
        )
    return body
