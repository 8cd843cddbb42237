"""Deposits, withdrawals, transfers, transactions and reversals: every POST is idempotent."""

from __future__ import annotations

from uuid import UUID

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from apps.api.idempotent import idempotency_key, respond_idempotently
from apps.api.serializers import CashIn, PendingApprovalOut, ReasonIn, TransactionOut, TransferIn, transaction_out
from apps.api.views.base import ERRORS_READ, ERRORS_WRITE, ApiView
from apps.common.idempotency import Outcome
from apps.common.principals import Actor
from apps.transactions.models import JournalEntry
from apps.transactions.selectors import transaction_get, transaction_status
from apps.transactions.services import (
    PendingReview,
    deposit_create,
    transaction_reverse,
    transfer_submit,
    withdrawal_create,
)

IDEMPOTENCY_PARAM = OpenApiParameter("Idempotency-Key", str, location=OpenApiParameter.HEADER, required=True)


def _posted(entry: JournalEntry, actor: Actor) -> dict:  # type: ignore[type-arg]
    """The new entry as the actor may see it (a bound client sees its own postings only)."""
    postings = entry.posted_postings  # type: ignore[attr-defined]
    if actor.customer_id is not None:
        postings = [p for p in postings if p.account.customer_id == actor.customer_id]
    return transaction_out(entry, postings, status="posted")


class DepositView(ApiView):
    required_scopes = {"POST": ["cash:write"]}

    @extend_schema(request=CashIn, parameters=[IDEMPOTENCY_PARAM], responses={201: TransactionOut, **ERRORS_WRITE})
    def post(self, request: Request) -> Response:
        key = idempotency_key(request)
        data = self.valid(CashIn, request)
        actor = self.actor(request)

        def action() -> Outcome:
            entry = deposit_create(
                actor=actor, account=data["account"], money=data["money"], reference=data["reference"]
            )
            return 201, _posted(entry, actor)

        return respond_idempotently(request, key, action)


class WithdrawalView(ApiView):
    required_scopes = {"POST": ["cash:write"]}

    @extend_schema(request=CashIn, parameters=[IDEMPOTENCY_PARAM], responses={201: TransactionOut, **ERRORS_WRITE})
    def post(self, request: Request) -> Response:
        key = idempotency_key(request)
        data = self.valid(CashIn, request)
        actor = self.actor(request)

        def action() -> Outcome:
            entry = withdrawal_create(
                actor=actor, account=data["account"], money=data["money"], reference=data["reference"]
            )
            return 201, _posted(entry, actor)

        return respond_idempotently(request, key, action)


class TransferView(ApiView):
    required_scopes = {"POST": ["payments:write"]}

    @extend_schema(
        request=TransferIn,
        parameters=[IDEMPOTENCY_PARAM],
        responses={201: TransactionOut, 202: PendingApprovalOut, **ERRORS_WRITE},
    )
    def post(self, request: Request) -> Response:
        key = idempotency_key(request)
        data = self.valid(TransferIn, request)
        actor = self.actor(request)

        def action() -> Outcome:
            result = transfer_submit(
                actor=actor,
                from_account=data["from_account"],
                to_account=data["to_account"],
                money=data["money"],
                reference=data["reference"],
            )
            if isinstance(result, PendingReview):  # a risk rule asked for a risk officer (apps.risk)
                return 202, {"status": "pending_approval", "approval": result.approval}
            return 201, _posted(result, actor)

        return respond_idempotently(request, key, action)


class TransactionDetailView(ApiView):
    required_scopes = {"GET": ["accounts:read"]}

    @extend_schema(responses={200: TransactionOut, **ERRORS_READ})
    def get(self, request: Request, transaction_id: UUID) -> Response:
        entry = transaction_get(actor=self.actor(request), public_id=transaction_id)
        return Response(transaction_out(entry, entry.visible_postings, status=transaction_status(entry)))  # type: ignore[attr-defined]


class TransactionReverseView(ApiView):
    required_scopes = {"POST": ["payments:write"]}

    @extend_schema(request=ReasonIn, parameters=[IDEMPOTENCY_PARAM], responses={201: TransactionOut, **ERRORS_WRITE})
    def post(self, request: Request, transaction_id: UUID) -> Response:
        key = idempotency_key(request)
        data = self.valid(ReasonIn, request)
        actor = self.actor(request)

        def action() -> Outcome:
            original = transaction_get(actor=actor, public_id=transaction_id)
            entry = transaction_reverse(actor=actor, entry=original, reason=data["reason"])
            return 201, _posted(entry, actor)

        return respond_idempotently(request, key, action)
