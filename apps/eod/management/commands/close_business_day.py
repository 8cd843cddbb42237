"""close_business_day: run (or resume) the end-of-day close of one business date."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.common.errors import DomainError
from apps.common.principals import Actor, Channel
from apps.eod.models import DayState
from apps.eod.services import business_day_close, business_day_to_close

COMMAND_ACTOR = Actor(label="system:close_business_day", channel=Channel.SYSTEM)


class Command(BaseCommand):
    help = "Close a business date (default: yesterday, local time). Re-running a date changes nothing."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--date", type=dt.date.fromisoformat, help="YYYY-MM-DD")

    def handle(self, *args: Any, **options: Any) -> None:
        date = options["date"] or business_day_to_close()
        try:
            result = business_day_close(actor=COMMAND_ACTOR, date=date)
        except DomainError as refusal:
            raise CommandError(f"{date}: {refusal.code}: {refusal.message} {refusal.extra or ''}") from None
        for step, outcome in result.steps.items():
            details = ", ".join(f"{key}={value}" for key, value in outcome.items() if key != "status")
            self.stdout.write(f"{step}: {outcome.get('status')}" + (f" ({details})" if details else ""))
        if result.state != DayState.CLOSED:
            raise CommandError(f"{date}: close failed: {result.error}")
        self.stdout.write(f"{date} closed")
