"""risk_exposure [--by customer|product|currency] [--fx]: credit exposure (overdrawn plus approved
unused limits) per group, and with --fx the bank's net open FX positions against their limits,
as JSON lines."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from apps.common.money import format_amount
from apps.risk.selectors import EXPOSURE_DIMENSIONS, exposures, fx_positions


class Command(BaseCommand):
    help = "Credit exposure per customer, product or currency; net open FX positions with --fx."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--by", choices=sorted(EXPOSURE_DIMENSIONS), default="customer")
        parser.add_argument("--fx", action="store_true", help="net open FX positions instead")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["fx"]:
            for p in fx_positions():
                row = {
                    "currency": p.currency,
                    "position": format_amount(p.position, p.currency),
                    "limit": format_amount(p.limit, p.currency) if p.limit is not None else None,
                    "breached": p.breached,
                }
                self.stdout.write(json.dumps(row))
            return
        for e in exposures(by=options["by"]):
            line: dict[str, Any] = {
                "group": list(e.key),
                "currency": e.currency,
                "accounts": e.accounts,
                "limit": format_amount(e.limit, e.currency),
                "drawn": format_amount(e.drawn, e.currency),
                "unused": format_amount(e.unused, e.currency),
                "exposure": format_amount(e.total, e.currency),
            }
            self.stdout.write(json.dumps(line, ensure_ascii=False))
