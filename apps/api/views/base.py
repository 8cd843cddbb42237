"""What every API view shares: the acting principal and the standard error responses."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.serializers import Serializer
from rest_framework.views import APIView

from apps.api.authentication import ApiPrincipal
from apps.common.controls import active_controls, controls_assert_customer_not_frozen
from apps.common.errors import ReadOnlyMode
from apps.common.principals import Actor

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class ApiView(APIView):
    required_scopes: dict[str, Any] = {}
    # Emergency read-only mode refuses every state-changing call (503 read_only_mode) except
    # on views that set this: deciding approvals, so that the switch itself can be lifted.
    open_in_read_only = False

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        timezone.activate(dt.UTC)  # the API speaks UTC; pages speak the user's time zone
        super().initial(request, *args, **kwargs)
        self.enforce_emergency_controls(request)

    def enforce_emergency_controls(self, request: Request) -> None:
        """After authentication and scopes (401/403 come first); no database work when no
        switch is on (apps.common.controls caches them)."""
        controls = active_controls()
        if not controls.any:
            return
        principal = request.user
        if isinstance(principal, ApiPrincipal):
            controls_assert_customer_not_frozen(principal.actor.customer_id)
        if controls.read_only and request.method not in SAFE_METHODS and not self.open_in_read_only:
            raise ReadOnlyMode()

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
ERRORS_READ = {400: _PROBLEM, 401: _PROBLEM, 403: _PROBLEM, 404: _PROBLEM}


def page_of(serializer_class: type[Serializer]) -> Any:  # type: ignore[type-arg]
    """The schema of a cursor page of `serializer_class` rows: {"results": [...], "next": url}."""
    name = serializer_class.__name__.removesuffix("Out") + "Page"
    return inline_serializer(
        name=name,
        fields={"results": serializer_class(many=True), "next": serializers.URLField(allow_null=True)},
    )


ERRORS_WRITE = {
    400: _PROBLEM,
    401: _PROBLEM,
    403: _PROBLEM,
    404: _PROBLEM,
    409: _PROBLEM,
    413: _PROBLEM,
    415: _PROBLEM,
    422: _PROBLEM,
    503: OpenApiResponse(description="Problem details: an emergency control (read_only_mode, payments_stopped)"),
}
