"""External payments (202: they settle asynchronously), and the gateway's signed callbacks."""

from __future__ import annotations

import json
from uuid import UUID

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from apps.api.idempotent import idempotency_key, respond_idempotently
from apps.api.serializers import GatewayCallbackIn, GatewayCallbackOut, PaymentIn, PaymentOut, payment_out
from apps.api.views.base import ERRORS_READ, ERRORS_WRITE, ApiView
from apps.api.views.money import IDEMPOTENCY_PARAM
from apps.common.errors import DomainError, ErrorCode, ValidationFailed
from apps.common.idempotency import Outcome
from apps.integrations.gateway import GatewayOutcome
from apps.integrations.signing import SIGNATURE_HEADER, signature_valid
from apps.transactions.selectors import payment_get
from apps.transactions.services_payments import Beneficiary, payment_create, payment_gateway_report


class PaymentListView(ApiView):
    required_scopes = {"POST": ["payments:write"]}

    @extend_schema(
        request=PaymentIn,
        parameters=[IDEMPOTENCY_PARAM],
        responses={202: PaymentOut, **ERRORS_WRITE},
        description="Accept an outgoing payment: screened and its funds held at once (the account's "
        "`available` drops), then submitted to the payment gateway and settled or rejected "
        "asynchronously. Follow it with GET or the `payment.status_changed` webhook.",
    )
    def post(self, request: Request) -> Response:
        key = idempotency_key(request)
        data = self.valid(PaymentIn, request)
        actor = self.actor(request)
        beneficiary = Beneficiary(
            name=data["beneficiary"]["name"],
            account_number=data["beneficiary"]["account_number"],
            bank_code=data["beneficiary"]["bank_code"],
            country=data["beneficiary"]["country"],
        )

        def action() -> Outcome:
            payment = payment_create(
                actor=actor,
                from_account=data["from_account"],
                money=data["money"],
                beneficiary=beneficiary,
                reference=data["reference"],
            )
            return 202, payment_out(payment)

        return respond_idempotently(request, key, action)


class PaymentDetailView(ApiView):
    required_scopes = {"GET": [["payments:write"], ["accounts:read"]]}

    @extend_schema(responses={200: PaymentOut, **ERRORS_READ})
    def get(self, request: Request, payment_id: UUID) -> Response:
        return Response(payment_out(payment_get(actor=self.actor(request), public_id=payment_id)))


class BadSignature(DomainError):
    code = ErrorCode.NOT_AUTHENTICATED
    status = 401
    title = _("The signature is missing, wrong or too old")


class GatewayCallbackView(ApiView):
    """The payment gateway reports a final answer. Authenticated by its HMAC-SHA256 signature
    (`X-Finsys-Signature: t=<unix time>,v1=<hex>` over "<t>.<body>", with
    FINSYS_GATEWAY_CALLBACK_SECRET), not by a token; a repeat changes nothing."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]

    @extend_schema(
        request=GatewayCallbackIn,
        auth=[],
        parameters=[OpenApiParameter(SIGNATURE_HEADER, str, location=OpenApiParameter.HEADER, required=True)],
        responses={
            200: GatewayCallbackOut,
            400: OpenApiResponse(description="Problem details"),
            401: OpenApiResponse(description="Problem details: bad or missing signature"),
            404: OpenApiResponse(description="Problem details: no such payment"),
            413: OpenApiResponse(description="Problem details"),
            415: OpenApiResponse(description="Problem details"),
        },
    )
    def post(self, request: Request) -> Response:
        body = request.body
        if not signature_valid(settings.FINSYS_GATEWAY_CALLBACK_SECRET, body, request.headers.get(SIGNATURE_HEADER)):
            raise BadSignature()
        try:
            document = json.loads(body)
        except ValueError:
            raise ValidationFailed({"body": [str(_("Malformed JSON."))]}) from None
        serializer = GatewayCallbackIn(data=document)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        status = payment_gateway_report(
            public_id=data["payment_id"],
            outcome=GatewayOutcome(data["status"]),
            reference=data["gateway_reference"],
            reason=data["reason"],
        )
        return Response({"payment": str(data["payment_id"]), "status": status})
