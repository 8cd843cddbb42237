"""Read queries on report jobs, scoped to who may see them."""

from __future__ import annotations

import datetime as dt
import uuid

from django.db.models import QuerySet

from apps.common.errors import NotFound
from apps.common.principals import Actor
from apps.reports.models import ReportJob, ReportStatus


def reports_visible_to(actor: Actor) -> QuerySet[ReportJob]:
    """A customer-bound principal sees the jobs asked for its customer; a bank principal the
    jobs it asked for itself (staff see every job in the admin with reports.download_report)."""
    if actor.customer_id is not None:
        return ReportJob.objects.filter(requested_for_customer_id=actor.customer_id)
    return ReportJob.objects.filter(requested_by=actor.label, requested_for_customer__isnull=True)


def report_get(*, actor: Actor, public_id: uuid.UUID | str) -> ReportJob:
    try:
        return reports_visible_to(actor).get(public_id=public_id)
    except (ReportJob.DoesNotExist, ValueError):
        raise NotFound() from None


def report_by_pk(pk: int) -> ReportJob | None:
    return ReportJob.objects.select_related("account", "account__customer").filter(pk=pk).first()


def reports_due_for_expiry(*, now: dt.datetime) -> list[tuple[int, str]]:
    """(pk, stored file name) of finished jobs past their expiry."""
    return list(
        ReportJob.objects.filter(expires_at__lte=now, status__in=[ReportStatus.DONE, ReportStatus.FAILED])
        .order_by("pk")
        .values_list("pk", "file_name")
    )
