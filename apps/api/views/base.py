"""What every API view shares: the acting principal and the standard error responses."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse
from rest_framework.request import Request
from rest_framework.serializers import Serializer
from rest_framework.views import APIView

from apps.api.authentication import ApiPrincipal
from apps.common.principals import Actor


class ApiView(APIView):
    required_scopes: dict[str, Any] = {}

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        timezone.activate(dt.UTC)  # the API speaks UTC; pages speak the user's time zone
        super().initial(request, *args, **kwargs)

    def principal(self, request: Request) -> ApiPrincipal:
        principal = request.user
        assert isinstance(principal, ApiPrincipal)  # guaranteed by HasRequiredScope
        return principal

    def actor(self, request: Request) -> Actor:
        return self.principal(request).actor

    @staticmethod
    def valid(serializer_class: type[Serializer], request: Request) -> dict[str, Any]:  # type: ignore[type-arg]
        serializer = serializer_class(data=request.data)
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)


_PROBLEM = OpenApiResponse(description="Problem details (application/problem+json)")
ERRORS_READ = {401: _PROBLEM, 403: _PROBLEM, 404: _PROBLEM}
ERRORS_WRITE = {
    400: _PROBLEM,
    401: _PROBLEM,
    403: _PROBLEM,
    404: _PROBLEM,
    409: _PROBLEM,
    413: _PROBLEM,
    415: _PROBLEM,
    422: _PROBLEM,
}
