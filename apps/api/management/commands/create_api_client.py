"""create_api_client NAME --scopes "..." [--customer ID]: prints one line of JSON."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.api.services import api_client_create
from apps.common.errors import NotFound, ValidationFailed
from apps.common.principals import SYSTEM_ACTOR
from apps.customers.selectors import customer_get


class Command(BaseCommand):
    help = "Create an OAuth2 client-credentials API client and print its id and secret as JSON."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        parser.add_argument("--scopes", required=True, help='Space-separated, e.g. "accounts:read payments:write"')
        parser.add_argument("--customer", help="Public id of the customer the client acts for")

    def handle(self, *args: Any, **options: Any) -> None:
        customer = None
        if options.get("customer"):
            try:
                customer = customer_get(actor=SYSTEM_ACTOR, public_id=options["customer"])
            except NotFound:
                raise CommandError(f"no customer {options['customer']}") from None
        try:
            issued = api_client_create(name=options["name"], scopes=options["scopes"].split(), customer=customer)
        except ValidationFailed as exc:
            raise CommandError("; ".join(f"{k}: {' '.join(map(str, v))}" for k, v in exc.errors.items())) from None
        self.stdout.write(json.dumps({"client_id": issued.client_id, "client_secret": issued.client_secret}))
