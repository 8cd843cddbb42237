"""Recompute customer risk scores: one customer (after a KYC decision, say) or all of them."""

from __future__ import annotations

import json
import uuid
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.customers.models import Customer
from apps.risk.services import customer_risk_score, customers_risk_score_all


class Command(BaseCommand):
    help = "Recompute the risk score of one customer (--customer <public id>) or of every customer."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--customer", help="the customer's public id; all customers without it")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["customer"]:
            try:
                customer = Customer.objects.get(public_id=uuid.UUID(options["customer"]))
            except (ValueError, Customer.DoesNotExist):
                raise CommandError("no such customer") from None
            profile = customer_risk_score(customer=customer)
            self.stdout.write(
                json.dumps({"customer": options["customer"], "score": profile.score, "factors": profile.factors})
            )
            return
        self.stdout.write(json.dumps({"scored": customers_risk_score_all()}))
