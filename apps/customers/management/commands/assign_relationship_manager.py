"""assign_relationship_manager CUSTOMER_ID USERNAME|--none: who looks after a customer (audited)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.common.errors import NotFound, ValidationFailed
from apps.common.principals import Actor, Channel
from apps.customers.selectors import customer_get
from apps.customers.services import customer_assign_relationship_manager

CLI_ACTOR = Actor(label="system:cli", channel=Channel.SYSTEM)


class Command(BaseCommand):
    help = "Make a staff user in the relationship manager role the customer's manager (or none)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("customer", help="The customer's public id")
        parser.add_argument("username", nargs="?", help="The relationship manager's username")
        parser.add_argument("--none", action="store_true", help="Leave the customer without a manager")

    def handle(self, *args: Any, **options: Any) -> None:
        if bool(options["username"]) == bool(options["none"]):
            raise CommandError("give a USERNAME or --none")
        try:
            customer = customer_get(actor=CLI_ACTOR, public_id=options["customer"])
        except NotFound:
            raise CommandError(f"no customer {options['customer']}") from None
        manager = None
        if options["username"]:
            manager = User.objects.filter(username=options["username"]).first()
            if manager is None:
                raise CommandError(f"no user {options['username']}")
        try:
            customer_assign_relationship_manager(actor=CLI_ACTOR, customer=customer, manager=manager)
        except ValidationFailed as exc:
            raise CommandError("; ".join(" ".join(map(str, v)) for v in exc.errors.values())) from None
        self.stderr.write(f"customer {customer.public_id}: relationship manager {options['username'] or 'none'}")
