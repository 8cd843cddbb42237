"""Scheduled and enqueued compliance work (thin: calls services)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from celery import shared_task
from django.utils import timezone

from apps.compliance.aml import customer_screen, customers_rescreen, payment_case_open
from apps.compliance.reports import transaction_reports_generate
from apps.compliance.services import approvals_expire


@shared_task(name="apps.compliance.tasks.expire_approvals")
def expire_approvals() -> int:
    return approvals_expire()


@shared_task(name="apps.compliance.tasks.screen_customer")
def screen_customer(customer_pk: int) -> bool:
    return customer_screen(customer_pk=customer_pk) is not None


@shared_task(name="apps.compliance.tasks.rescreen_customers")
def rescreen_customers() -> int:
    return customers_rescreen()


@shared_task(name="apps.compliance.tasks.open_blocked_payment_case")
def open_blocked_payment_case(payload: dict[str, Any]) -> str:
    return str(payment_case_open(payload=payload).public_id)


@shared_task(name="apps.compliance.tasks.generate_transaction_reports")
def generate_transaction_reports(business_date: str | None = None) -> int:
    day = dt.date.fromisoformat(business_date) if business_date else timezone.localdate() - dt.timedelta(days=1)
    return len(transaction_reports_generate(business_date=day))
