"""Customers and KYC."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from apps.api.idempotent import respond_optionally_idempotent
from apps.api.pagination import Cursor
from apps.api.serializers import CustomerCreateIn, CustomerOut, KycDecisionIn, customer_out
from apps.api.views.base import ERRORS_READ, ERRORS_WRITE, ApiView, page_of
from apps.common.idempotency import Outcome
from apps.customers.models import Customer
from apps.customers.selectors import customer_get, customer_search
from apps.customers.services import customer_create, customer_decide_kyc, customer_record_pii_views


def _shown(view: ApiView, request: Request, customers: list[Customer]) -> list[dict[str, Any]]:
    """Customers as this caller may see them; an unmasked view is audited."""
    unmasked = "pii:read" in view.principal(request).scopes
    if unmasked and customers:
        customer_record_pii_views(actor=view.actor(request), customers=customers)
    return [customer_out(customer, unmasked=unmasked) for customer in customers]


class CustomerListView(ApiView):
    required_scopes = {"GET": ["customers:read"], "POST": ["customers:write"]}

    @extend_schema(request=CustomerCreateIn, responses={201: CustomerOut, **ERRORS_WRITE})
    def post(self, request: Request) -> Response:
        data = self.valid(CustomerCreateIn, request)

        def action() -> Outcome:
            customer = customer_create(actor=self.actor(request), **data)
            return 201, _shown(self, request, [customer])[0]

        return respond_optionally_idempotent(request, action)

    @extend_schema(
        parameters=[OpenApiParameter("search", str)],
        operation_id="customers_list",
        responses={200: page_of(CustomerOut), **ERRORS_READ},
    )
    def get(self, request: Request) -> Response:
        qs = customer_search(actor=self.actor(request), text=request.query_params.get("search", ""))
        paginator = Cursor()
        page = paginator.paginate_queryset(qs, request, view=self) or []
        return paginator.get_paginated_response(_shown(self, request, list(page)))


class CustomerDetailView(ApiView):
    required_scopes = {"GET": ["customers:read"]}

    @extend_schema(responses={200: CustomerOut, **ERRORS_READ})
    def get(self, request: Request, customer_id: UUID) -> Response:
        customer = customer_get(actor=self.actor(request), public_id=customer_id)
        return Response(_shown(self, request, [customer])[0])


class CustomerKycView(ApiView):
    required_scopes = {"POST": ["kyc:write"]}

    @extend_schema(request=KycDecisionIn, responses={200: CustomerOut, **ERRORS_WRITE})
    def post(self, request: Request, customer_id: UUID) -> Response:
        data = self.valid(KycDecisionIn, request)

        def action() -> Outcome:
            actor = self.actor(request)
            customer = customer_get(actor=actor, public_id=customer_id)
            decided = customer_decide_kyc(actor=actor, customer=customer, decision=data["decision"], note=data["note"])
            return 200, _shown(self, request, [decided])[0]

        return respond_optionally_idempotent(request, action)
