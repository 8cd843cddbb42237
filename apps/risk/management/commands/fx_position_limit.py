"""fx_position_limit CURRENCY LIMIT --by USER: set the net open FX position limit of a currency
(a raise waits for another staff user's approval; a lowering applies at once, reviewed after).
fx_position_limit --check: compare the positions with their limits now (alerts for breaches)."""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.common.admin import refusal_text
from apps.common.errors import DomainError
from apps.risk.management.commands.risk_rule import staff_actor
from apps.risk.models import FxPositionLimit
from apps.risk.services_market import fx_limit_set, fx_positions_check


class Command(BaseCommand):
    help = "Set a currency's net open FX position limit, or --check the positions now."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("currency", nargs="?")
        parser.add_argument("limit", nargs="?")
        parser.add_argument("--reason", default="")
        parser.add_argument("--by")
        parser.add_argument("--check", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["check"]:
            opened = fx_positions_check()
            self.stdout.write(json.dumps({"alerts_opened": [str(a.public_id) for a in opened]}))
            return
        if not options["currency"] or not options["limit"]:
            raise CommandError("name a currency and a limit, or --check")
        try:
            limit = Decimal(options["limit"])
        except InvalidOperation:
            raise CommandError(f"not an amount: {options['limit']}") from None
        actor = staff_actor(options["by"])
        try:
            result = fx_limit_set(
                actor=actor, currency=options["currency"].upper(), limit=limit, reason=options["reason"]
            )
        except DomainError as refusal:
            raise CommandError(refusal_text(refusal)) from None
        if isinstance(result, FxPositionLimit):
            self.stdout.write(json.dumps({"fx_limit": result.pk, "status": "applied"}))
        else:
            self.stdout.write(json.dumps({"approval": str(result.public_id), "status": "pending_approval"}))
