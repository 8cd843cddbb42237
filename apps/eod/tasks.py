"""Scheduled end of day (thin: calls the service)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from celery import shared_task

from apps.common.principals import Actor, Channel
from apps.eod.services import business_day_close, business_day_to_close

BEAT_ACTOR = Actor(label="system:end-of-day", channel=Channel.SYSTEM)


@shared_task(name="apps.eod.tasks.close_business_day")
def close_business_day(date: str | None = None) -> dict[str, Any]:
    """Close `date` (YYYY-MM-DD), by default yesterday in local time. Idempotent per date."""
    day = dt.date.fromisoformat(date) if date else business_day_to_close()
    result = business_day_close(actor=BEAT_ACTOR, date=day)
    return {"date": result.date.isoformat(), "state": result.state, "steps": result.steps, "error": result.error}
