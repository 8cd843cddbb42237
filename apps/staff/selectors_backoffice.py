"""Reads the back-office pages need that no other app offers as one query: the dashboard's
figures. Every function reads only; the views decide who may see which."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from typing import Any

from django.db.models import Count, Sum
from django.utils import timezone

from apps.compliance.models import Approval, ApprovalStatus, Case, CaseStatus
from apps.integrations.models import Delivery, DeliveryStatus
from apps.reports.models import ReportJob, ReportStatus
from apps.risk.models import Alert, AlertStatus
from apps.transactions.models import JournalEntry
from apps.transactions.selectors import daily_volumes
from apps.treasury.models import Break, BreakStatus

CHART_DAYS = 30


def today_volumes(*, now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """Today's (local day) journal entries per kind and currency: count and total."""
    now = now or timezone.now()
    start = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    rows = (
        JournalEntry.objects.filter(created_at__gte=start, created_at__lte=now)
        .values("kind", "currency")
        .annotate(count=Count("id"), total=Sum("amount"))
        .order_by("currency", "kind")
    )
    return [dict(row) for row in rows]


def volume_chart(*, now: dt.datetime | None = None, days: int = CHART_DAYS) -> dict[str, Any]:
    """The last `days` UTC days: one series per currency of the total amount moved per day, and
    the number of entries per day. Amounts are strings (exact decimals) for the chart's JSON."""
    now = now or timezone.now()
    end = (now.astimezone(dt.UTC) + dt.timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    start = end - dt.timedelta(days=days)
    labels = [(start + dt.timedelta(days=i)).date() for i in range(days)]
    totals: dict[str, dict[dt.date, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    counts: dict[dt.date, int] = defaultdict(int)
    for row in daily_volumes(start=start, end=end):
        totals[row["currency"]][row["day"]] += row["total"] or Decimal(0)
        counts[row["day"]] += row["count"]
    return {
        "labels": [day.isoformat() for day in labels],
        "series": [
            {"currency": currency, "totals": [str(by_day.get(day, Decimal(0))) for day in labels]}
            for currency, by_day in sorted(totals.items())
        ],
        "counts": [counts.get(day, 0) for day in labels],
    }


def pending_approvals_count(*, now: dt.datetime | None = None) -> int:
    return Approval.objects.filter(status=ApprovalStatus.PENDING, expires_at__gt=now or timezone.now()).count()


def open_alerts_count() -> int:
    return Alert.objects.exclude(status=AlertStatus.CLOSED).count()


def open_cases_count() -> int:
    return Case.objects.exclude(status=CaseStatus.CLOSED).count()


def failed_jobs_counts() -> dict[str, int]:
    """Report jobs that failed and outbox deliveries given up on (dead letters)."""
    return {
        "reports": ReportJob.objects.filter(status=ReportStatus.FAILED).count(),
        "deliveries": Delivery.objects.filter(status=DeliveryStatus.DEAD).count(),
    }


def open_breaks_count() -> int:
    return Break.objects.filter(status=BreakStatus.OPEN).count()
