"""External payments: answered 501 until the settlement issue lands (see docs)."""

from __future__ import annotations

from uuid import UUID

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from apps.api.errors import problem_body, problem_response
from apps.api.views.base import ApiView
from apps.common.errors import ErrorCode

_NOT_YET = OpenApiResponse(description="External payments are not available yet")


def _not_implemented() -> Response:
    return problem_response(
        501,
        problem_body(
            status=501,
            code=ErrorCode.NOT_IMPLEMENTED,
            title="Not implemented",
            detail="External payments are not available yet; use transfers between accounts of the bank.",
        ),
    )


class PaymentListView(ApiView):
    required_scopes = {"POST": ["payments:write"]}

    @extend_schema(request=None, responses={501: _NOT_YET})
    def post(self, request: Request) -> Response:
        return _not_implemented()


class PaymentDetailView(ApiView):
    required_scopes = {"GET": [["payments:write"], ["accounts:read"]]}

    @extend_schema(responses={501: _NOT_YET})
    def get(self, request: Request, payment_id: UUID) -> Response:
        return _not_implemented()
