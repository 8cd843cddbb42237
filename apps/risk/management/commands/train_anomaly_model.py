"""Fit every customer's anomaly baseline from the ledger (docs/risk.md)."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from apps.risk.services import anomaly_train


class Command(BaseCommand):
    help = "Train the per-customer anomaly baselines (amount and hour of day) from outgoing movements."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--min-samples", type=int, default=10, help="fewer movements: no baseline (rules only)")
        parser.add_argument("--days", type=int, default=180, help="how far back to look")

    def handle(self, *args: Any, **options: Any) -> None:
        trained = anomaly_train(min_samples=options["min_samples"], days=options["days"])
        self.stdout.write(json.dumps({"baselines": trained}))
