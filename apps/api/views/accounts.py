"""Accounts: open, read, history, point-in-time balance, freeze, unfreeze, close."""

from __future__ import annotations

import uuid
from uuid import UUID

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts.selectors import account_get, account_list
from apps.accounts.services import account_close, account_freeze, account_number_is_valid, account_open
from apps.api.idempotent import respond_optionally_idempotent
from apps.api.pagination import Cursor
from apps.api.serializers import AccountOpenIn, AccountOut, BalanceAtOut, HistoryOut, PendingApprovalOut, ReasonIn, iso
from apps.api.views.base import ERRORS_READ, ERRORS_WRITE, ApiView, page_of
from apps.common.errors import ValidationFailed
from apps.common.idempotency import Outcome
from apps.common.money import format_amount
from apps.compliance.services import account_unfreeze_request
from apps.customers.selectors import customer_get
from apps.transactions.selectors import account_balance_at, account_postings


class AccountListView(ApiView):
    required_scopes = {"GET": ["accounts:read"], "POST": ["accounts:write"]}

    @extend_schema(request=AccountOpenIn, responses={201: AccountOut, **ERRORS_WRITE})
    def post(self, request: Request) -> Response:
        data = self.valid(AccountOpenIn, request)

        def action() -> Outcome:
            actor = self.actor(request)
            customer = customer_get(actor=actor, public_id=data["customer"])
            account = account_open(
                actor=actor, customer=customer, currency=data["currency"], product_code=data.get("product") or None
            )
            return 201, AccountOut(account).data

        return respond_optionally_idempotent(request, action)

    @extend_schema(
        parameters=[OpenApiParameter("customer", UUID), OpenApiParameter("number", str)],
        operation_id="accounts_list",
        responses={200: page_of(AccountOut), **ERRORS_READ},
    )
    def get(self, request: Request) -> Response:
        customer_param = request.query_params.get("customer")
        customer_public_id = None
        if customer_param:
            try:
                customer_public_id = uuid.UUID(customer_param)
            except ValueError:
                raise ValidationFailed({"customer": [_("Must be a customer id (UUID).")]}) from None
        number = request.query_params.get("number")
        if number is not None and not account_number_is_valid(number):
            raise ValidationFailed({"number": [_("Not a valid account number (MOD 97-10 check digits).")]})
        qs = account_list(actor=self.actor(request), customer_public_id=customer_public_id, number=number)
        paginator = Cursor()
        page = paginator.paginate_queryset(qs, request, view=self) or []
        return paginator.get_paginated_response(AccountOut(page, many=True).data)


class AccountDetailView(ApiView):
    required_scopes = {"GET": ["accounts:read"]}

    @extend_schema(responses={200: AccountOut, **ERRORS_READ})
    def get(self, request: Request, account_id: UUID) -> Response:
        return Response(AccountOut(account_get(actor=self.actor(request), public_id=account_id)).data)


class AccountHistoryView(ApiView):
    required_scopes = {"GET": ["accounts:read"]}

    @extend_schema(
        parameters=[OpenApiParameter("cursor", str)],
        operation_id="accounts_transactions_list",
        responses={200: page_of(HistoryOut), **ERRORS_READ},
    )
    def get(self, request: Request, account_id: UUID) -> Response:
        account = account_get(actor=self.actor(request), public_id=account_id)
        paginator = Cursor()
        page = paginator.paginate_queryset(account_postings(account=account), request, view=self) or []
        return paginator.get_paginated_response(HistoryOut(page, many=True).data)


class AccountBalanceView(ApiView):
    required_scopes = {"GET": ["accounts:read"]}

    @extend_schema(
        parameters=[OpenApiParameter("at", str, description="ISO 8601 time; now when absent")],
        responses={200: BalanceAtOut, **ERRORS_READ},
    )
    def get(self, request: Request, account_id: UUID) -> Response:
        account = account_get(actor=self.actor(request), public_id=account_id)
        raw = request.query_params.get("at")
        at = timezone.now()
        if raw:
            try:
                parsed = parse_datetime(raw)
            except ValueError:
                parsed = None
            if parsed is None:
                raise ValidationFailed({"at": [_("Enter an ISO 8601 date and time, e.g. 2026-01-31T23:59:59Z.")]})
            at = parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed)
        balance = account_balance_at(account=account, at=at)
        return Response(
            {
                "account": str(account.public_id),
                "at": iso(at),
                "balance": format_amount(balance, account.currency),
                "currency": account.currency,
            }
        )


class AccountFreezeView(ApiView):
    required_scopes = {"POST": ["accounts:write"]}

    @extend_schema(request=ReasonIn, responses={200: AccountOut, **ERRORS_WRITE})
    def post(self, request: Request, account_id: UUID) -> Response:
        data = self.valid(ReasonIn, request)

        def action() -> Outcome:
            actor = self.actor(request)
            account = account_freeze(
                actor=actor, account=account_get(actor=actor, public_id=account_id), reason=data["reason"]
            )
            return 200, AccountOut(account).data

        return respond_optionally_idempotent(request, action)


class AccountUnfreezeView(ApiView):
    required_scopes = {"POST": ["accounts:write"]}

    @extend_schema(request=ReasonIn, responses={202: PendingApprovalOut, **ERRORS_WRITE})
    def post(self, request: Request, account_id: UUID) -> Response:
        data = self.valid(ReasonIn, request)

        def action() -> Outcome:
            actor = self.actor(request)
            account = account_get(actor=actor, public_id=account_id)
            approval = account_unfreeze_request(actor=actor, account=account, reason=data["reason"])
            return 202, {"status": "pending_approval", "approval": str(approval.public_id)}

        return respond_optionally_idempotent(request, action)


class AccountCloseView(ApiView):
    required_scopes = {"POST": ["accounts:write"]}

    @extend_schema(request=ReasonIn, responses={200: AccountOut, **ERRORS_WRITE})
    def post(self, request: Request, account_id: UUID) -> Response:
        data = self.valid(ReasonIn, request)

        def action() -> Outcome:
            actor = self.actor(request)
            account = account_close(
                actor=actor, account=account_get(actor=actor, public_id=account_id), reason=data["reason"]
            )
            return 200, AccountOut(account).data

        return respond_optionally_idempotent(request, action)
