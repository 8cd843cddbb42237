"""risk_facility: overdraft facilities from the command line (docs/adr/0014).

    risk_facility score ACCOUNT_NUMBER                   the credit score and its suggested limit
    risk_facility request ACCOUNT_NUMBER --limit N --rate R [--from D] [--to D] --by USER
    risk_facility end FACILITY_ID --reason TEXT --by USER
    risk_facility sync                                   start/end by dates (the daily task)

A request waits for another staff user's approval (the approvals queue); ending is at once."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.accounts.models import Account
from apps.common.admin import refusal_text
from apps.common.errors import DomainError
from apps.common.money import Money
from apps.risk.management.commands.risk_rule import staff_actor
from apps.risk.models import OverdraftFacility
from apps.risk.services_credit import credit_score, facilities_sync, facility_end, facility_request


def _decimal(value: str, name: str) -> Decimal:
    try:
        return Decimal(value)
    except InvalidOperation:
        raise CommandError(f"{name}: not a number: {value}") from None


def _date(value: str | None, name: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{name}: not an ISO date: {value}") from None


def _account(number: str) -> Account:
    account = Account.objects.select_related("customer").filter(number=number, is_internal=False).first()
    if account is None:
        raise CommandError(f"no customer account {number}")
    return account


class Command(BaseCommand):
    help = "Overdraft facilities: credit score, request (maker-checked), end, daily sync."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        score = sub.add_parser("score")
        score.add_argument("account")
        request = sub.add_parser("request")
        request.add_argument("account")
        request.add_argument("--limit", required=True)
        request.add_argument("--rate", required=True, help="annual debit interest in percent")
        request.add_argument("--from", dest="valid_from")
        request.add_argument("--to", dest="valid_to")
        request.add_argument("--reason", default="")
        request.add_argument("--by")
        end = sub.add_parser("end")
        end.add_argument("facility")
        end.add_argument("--reason", required=True)
        end.add_argument("--by")
        sub.add_parser("sync")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = getattr(self, f"_{options['action']}")(options)
        except DomainError as refusal:
            raise CommandError(refusal_text(refusal)) from None
        self.stdout.write(json.dumps(result, ensure_ascii=False, default=str))

    def _score(self, options: dict[str, Any]) -> dict[str, Any]:
        account = _account(options["account"])
        assert account.customer is not None
        return credit_score(customer=account.customer, currency=account.currency).as_dict()

    def _request(self, options: dict[str, Any]) -> dict[str, Any]:
        actor = staff_actor(options["by"])
        account = _account(options["account"])
        facility = facility_request(
            actor=actor,
            account=account,
            limit=Money(_decimal(options["limit"], "--limit"), account.currency),
            rate=_decimal(options["rate"], "--rate"),
            valid_from=_date(options["valid_from"], "--from"),
            valid_to=_date(options["valid_to"], "--to"),
            reason=options["reason"],
        )
        assert facility.approval is not None
        return {
            "facility": str(facility.public_id),
            "approval": str(facility.approval.public_id),
            "status": "pending_approval",
        }

    def _end(self, options: dict[str, Any]) -> dict[str, Any]:
        actor = staff_actor(options["by"])
        facility = (
            OverdraftFacility.objects.filter(public_id=options["facility"]).first()
            if _is_uuid(options["facility"])
            else None
        )
        if facility is None:
            raise CommandError(f"no facility {options['facility']}")
        ended = facility_end(actor=actor, facility=facility, reason=options["reason"])
        return {"facility": str(ended.public_id), "status": ended.status}

    def _sync(self, options: dict[str, Any]) -> dict[str, Any]:
        return facilities_sync()


def _is_uuid(value: str) -> bool:
    import uuid

    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
