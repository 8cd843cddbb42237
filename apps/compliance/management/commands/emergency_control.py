"""emergency_control activate|deactivate KIND [--customer ID] --reason "..." --by USERNAME, and
emergency_control status.

`activate` switches a control on at once (audited, queued for a second person's review);
`deactivate` only asks for it to be lifted: a second staff user approves that request in the
admin's Approvals page (or through POST /api/v1/approvals/{id}/approve/) before it runs.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.common.admin import refusal_text
from apps.common.errors import DomainError, NotFound
from apps.common.models import ControlKind
from apps.common.principals import SYSTEM_ACTOR, Actor, Channel
from apps.compliance.selectors import emergency_control_active, emergency_controls_on
from apps.compliance.services import emergency_control_activate, emergency_control_lift_request
from apps.customers.selectors import customer_get


class Command(BaseCommand):
    help = "Switch an emergency control on, ask for it to be lifted, or list the controls that are on."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["activate", "deactivate", "status"])
        parser.add_argument("kind", nargs="?", choices=ControlKind.values)
        parser.add_argument("--customer", help="Public id of the customer (customer_frozen only)")
        parser.add_argument("--reason", default="", help="Why; recorded in the audit trail")
        parser.add_argument("--by", help="Username of the staff member acting (recorded; approvals need another)")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "status":
            for control in emergency_controls_on():
                self.stdout.write(
                    json.dumps(
                        {
                            "kind": control.kind,
                            "customer": str(control.customer.public_id) if control.customer else None,
                            "reason": control.reason,
                            "activated_by": control.activated_by,
                            "activated_at": control.activated_at.isoformat(),
                        }
                    )
                )
            return
        kind = options["kind"]
        if not kind:
            raise CommandError("name the control: " + ", ".join(ControlKind.values))
        actor = self._actor(options.get("by"))
        customer = None
        if options.get("customer"):
            try:
                customer = customer_get(actor=SYSTEM_ACTOR, public_id=options["customer"])
            except NotFound:
                raise CommandError(f"no customer {options['customer']}") from None
        try:
            if options["action"] == "activate":
                control = emergency_control_activate(
                    actor=actor, kind=kind, customer=customer, reason=options["reason"]
                )
                self.stdout.write(json.dumps({"control": control.pk, "kind": control.kind, "active": True}))
                return
            active = emergency_control_active(kind=kind, customer_id=customer.pk if customer else None)
            if active is None:
                raise CommandError(f"{kind} is not on" + (f" for customer {options['customer']}" if customer else ""))
            approval = emergency_control_lift_request(actor=actor, control=active, reason=options["reason"])
        except DomainError as refusal:
            raise CommandError(refusal_text(refusal)) from None
        self.stdout.write(json.dumps({"approval": str(approval.public_id), "status": "pending_approval"}))

    @staticmethod
    def _actor(username: str | None) -> Actor:
        if not username:
            raise CommandError("--by USERNAME is required: the staff member who acts")
        if not get_user_model().objects.filter(username=username, is_active=True, is_staff=True).exists():
            raise CommandError(f"no active staff user {username!r}")
        # The same label as in the admin, so that person cannot approve their own request there.
        return Actor(label=f"user:{username}", channel=Channel.BRANCH)
