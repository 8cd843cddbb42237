"""Holds: reserve funds, capture all or part, release."""

from __future__ import annotations

from uuid import UUID

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts.selectors import account_get, hold_get
from apps.accounts.services import hold_create, hold_release
from apps.api.idempotent import idempotency_key, respond_idempotently, respond_optionally_idempotent
from apps.api.serializers import HoldCaptureIn, HoldCreateIn, HoldOut, TransactionOut
from apps.api.views.base import ERRORS_READ, ERRORS_WRITE, ApiView
from apps.api.views.money import IDEMPOTENCY_PARAM, _posted
from apps.common.errors import ValidationFailed
from apps.common.idempotency import Outcome
from apps.common.money import MoneyError, parse_amount
from apps.transactions.services import hold_capture


class HoldListView(ApiView):
    required_scopes = {"POST": ["payments:write"]}

    @extend_schema(request=HoldCreateIn, parameters=[IDEMPOTENCY_PARAM], responses={201: HoldOut, **ERRORS_WRITE})
    def post(self, request: Request) -> Response:
        key = idempotency_key(request)
        data = self.valid(HoldCreateIn, request)
        actor = self.actor(request)

        def action() -> Outcome:
            account = account_get(actor=actor, public_id=data["account"])
            hold = hold_create(
                actor=actor,
                account=account,
                amount=data["money"],
                reference=data["reference"],
                expires_at=data.get("expires_at"),
            )
            return 201, HoldOut(hold).data

        return respond_idempotently(request, key, action)


class HoldDetailView(ApiView):
    required_scopes = {"GET": [["accounts:read"], ["payments:write"]]}

    @extend_schema(responses={200: HoldOut, **ERRORS_READ})
    def get(self, request: Request, hold_id: UUID) -> Response:
        return Response(HoldOut(hold_get(actor=self.actor(request), public_id=hold_id)).data)


class HoldCaptureView(ApiView):
    required_scopes = {"POST": ["payments:write"]}

    @extend_schema(
        request=HoldCaptureIn, parameters=[IDEMPOTENCY_PARAM], responses={201: TransactionOut, **ERRORS_WRITE}
    )
    def post(self, request: Request, hold_id: UUID) -> Response:
        key = idempotency_key(request)
        data = self.valid(HoldCaptureIn, request)
        actor = self.actor(request)

        def action() -> Outcome:
            hold = hold_get(actor=actor, public_id=hold_id)
            amount = None
            if data.get("amount") is not None:
                try:
                    amount = parse_amount(data["amount"], hold.currency)
                except MoneyError as exc:
                    raise ValidationFailed({"amount": [str(exc)]}) from exc
            entry = hold_capture(actor=actor, hold=hold, amount=amount, reference=data["reference"])
            return 201, _posted(entry, actor)

        return respond_idempotently(request, key, action)


class HoldReleaseView(ApiView):
    required_scopes = {"POST": ["payments:write"]}

    @extend_schema(request=None, responses={200: HoldOut, **ERRORS_WRITE})
    def post(self, request: Request, hold_id: UUID) -> Response:
        actor = self.actor(request)

        def action() -> Outcome:
            released = hold_release(actor=actor, hold=hold_get(actor=actor, public_id=hold_id))
            return 200, HoldOut(released).data

        return respond_optionally_idempotent(request, action)
