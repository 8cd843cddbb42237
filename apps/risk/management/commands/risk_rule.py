"""risk_rule CODE --kind KIND --parameters JSON --action allow|review|block [--channels api,portal]
--by USERNAME: propose a new version of a risk rule. It takes effect when another staff user
approves it (admin Approvals page, or POST /api/v1/approvals/{id}/approve/)."""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.common.admin import refusal_text
from apps.common.errors import DomainError
from apps.common.principals import Actor, Channel
from apps.risk.models import RuleAction, RuleKind
from apps.risk.services import rule_propose


def staff_actor(username: str | None) -> Actor:
    if not username or not get_user_model().objects.filter(username=username, is_staff=True, is_active=True).exists():
        raise CommandError("--by must name an active staff user")
    return Actor(label=f"user:{username}", channel=Channel.BRANCH)


class Command(BaseCommand):
    help = "Propose a new version of a risk rule (maker-checker: another person approves it)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("code")
        parser.add_argument("--kind", required=True, choices=RuleKind.values)
        parser.add_argument("--parameters", required=True, help="a JSON object, see docs/risk.md")
        parser.add_argument("--action", required=True, choices=RuleAction.values)
        parser.add_argument("--channels", default="", help="comma-separated; empty: every screened channel")
        parser.add_argument("--reason", default="")
        parser.add_argument("--by", help="username of the staff member proposing it")

    def handle(self, *args: Any, **options: Any) -> None:
        actor = staff_actor(options["by"])
        try:
            parameters = json.loads(options["parameters"])
        except json.JSONDecodeError as exc:
            raise CommandError(f"--parameters is not JSON: {exc}") from None
        if not isinstance(parameters, dict):
            raise CommandError("--parameters must be a JSON object")
        channels = [c.strip() for c in options["channels"].split(",") if c.strip()]
        try:
            rule = rule_propose(
                actor=actor, code=options["code"], kind=options["kind"], parameters=parameters,
                action=options["action"], channels=channels, reason=options["reason"],
            )  # fmt: skip
        except DomainError as refusal:
            raise CommandError(refusal_text(refusal)) from None
        self.stdout.write(json.dumps({"rule": rule.code, "version": rule.version, "status": "pending_approval"}))
