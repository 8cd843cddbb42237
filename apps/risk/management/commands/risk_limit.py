"""risk_limit --currency CNY [--channel api] [--product CODE] [--tier standard] [--per-transaction N]
[--daily N] [--monthly N] --by USERNAME: set the limits of a scope (an omitted amount: unlimited).
A raise waits for another staff user's approval; a lowering applies at once and is reviewed after."""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.common.admin import refusal_text
from apps.common.errors import DomainError
from apps.risk.management.commands.risk_rule import staff_actor
from apps.risk.models import LimitRule
from apps.risk.services import limit_set


def amount(value: str | None) -> Decimal | None:
    if value is None:
        return None
    try:
        return Decimal(value)
    except InvalidOperation:
        raise CommandError(f"not an amount: {value}") from None


class Command(BaseCommand):
    help = "Set the limits of a scope (raises are maker-checked, lowerings apply at once)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--currency", required=True)
        parser.add_argument("--channel", default="")
        parser.add_argument("--product", default="")
        parser.add_argument("--tier", default="")
        parser.add_argument("--per-transaction")
        parser.add_argument("--daily")
        parser.add_argument("--monthly")
        parser.add_argument("--reason", default="")
        parser.add_argument("--by", help="username of the staff member setting it")

    def handle(self, *args: Any, **options: Any) -> None:
        actor = staff_actor(options["by"])
        try:
            result = limit_set(
                actor=actor, currency=options["currency"].upper(), channel=options["channel"],
                product=options["product"], tier=options["tier"], per_transaction=amount(options["per_transaction"]),
                daily=amount(options["daily"]), monthly=amount(options["monthly"]), reason=options["reason"],
            )  # fmt: skip
        except DomainError as refusal:
            raise CommandError(refusal_text(refusal)) from None
        if isinstance(result, LimitRule):
            self.stdout.write(json.dumps({"limit_rule": result.pk, "status": "applied"}))
        else:
            self.stdout.write(json.dumps({"approval": str(result.public_id), "status": "pending_approval"}))
