"""Webhook endpoints of an integrator: register, list, read, deactivate; their deliveries; replay."""

from __future__ import annotations

from uuid import UUID

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from apps.api.idempotent import respond_optionally_idempotent
from apps.api.pagination import Cursor
from apps.api.serializers import DeliveryOut, WebhookEndpointIn, WebhookEndpointOut, webhook_endpoint_out
from apps.api.views.base import ERRORS_READ, ERRORS_WRITE, ApiView, page_of
from apps.common.idempotency import Outcome
from apps.integrations.selectors import (
    deliveries_of,
    delivery_get,
    webhook_endpoint_get,
    webhook_endpoints_visible_to,
)
from apps.integrations.services import delivery_replay, webhook_endpoint_create, webhook_endpoint_deactivate

SCOPES = ["webhooks:write"]


class WebhookListView(ApiView):
    required_scopes = {"GET": SCOPES, "POST": SCOPES}

    @extend_schema(
        request=WebhookEndpointIn,
        responses={201: WebhookEndpointOut, **ERRORS_WRITE},
        description="Register a URL for events (all kinds when `event_kinds` is empty). The answer "
        "holds the signing `secret`, shown only once: deliveries carry `X-Finsys-Signature: "
        't=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">`.',
    )
    def post(self, request: Request) -> Response:
        data = self.valid(WebhookEndpointIn, request)
        actor = self.actor(request)

        def action() -> Outcome:
            endpoint, secret = webhook_endpoint_create(actor=actor, url=data["url"], event_kinds=data["event_kinds"])
            return 201, webhook_endpoint_out(endpoint, secret)

        return respond_optionally_idempotent(request, action)

    @extend_schema(operation_id="webhooks_list", responses={200: page_of(WebhookEndpointOut), **ERRORS_READ})
    def get(self, request: Request) -> Response:
        paginator = Cursor()
        page = paginator.paginate_queryset(webhook_endpoints_visible_to(self.actor(request)), request, view=self)
        return paginator.get_paginated_response([webhook_endpoint_out(e) for e in page or []])


class WebhookDetailView(ApiView):
    required_scopes = {"GET": SCOPES, "DELETE": SCOPES}

    @extend_schema(responses={200: WebhookEndpointOut, **ERRORS_READ})
    def get(self, request: Request, webhook_id: UUID) -> Response:
        return Response(webhook_endpoint_out(webhook_endpoint_get(actor=self.actor(request), public_id=webhook_id)))

    @extend_schema(responses={200: WebhookEndpointOut, **ERRORS_READ})
    def delete(self, request: Request, webhook_id: UUID) -> Response:
        actor = self.actor(request)
        endpoint = webhook_endpoint_deactivate(
            actor=actor, endpoint=webhook_endpoint_get(actor=actor, public_id=webhook_id)
        )
        return Response(webhook_endpoint_out(endpoint))


class WebhookDeliveriesView(ApiView):
    required_scopes = {"GET": SCOPES}

    @extend_schema(operation_id="webhook_deliveries_list", responses={200: page_of(DeliveryOut), **ERRORS_READ})
    def get(self, request: Request, webhook_id: UUID) -> Response:
        endpoint = webhook_endpoint_get(actor=self.actor(request), public_id=webhook_id)
        paginator = Cursor()
        page = paginator.paginate_queryset(deliveries_of(endpoint=endpoint), request, view=self)
        return paginator.get_paginated_response(DeliveryOut(page, many=True).data)


class DeliveryReplayView(ApiView):
    required_scopes = {"POST": SCOPES}

    @extend_schema(request=None, responses={200: DeliveryOut, **ERRORS_WRITE})
    def post(self, request: Request, delivery_id: UUID) -> Response:
        actor = self.actor(request)

        def action() -> Outcome:
            delivery = delivery_replay(actor=actor, delivery=delivery_get(actor=actor, public_id=delivery_id))
            return 200, DeliveryOut(delivery).data

        return respond_optionally_idempotent(request, action)
