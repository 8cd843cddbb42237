"""Bearer tokens from the OAuth2 token endpoint, checked in one indexed query."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from django.utils import timezone
from oauth2_provider.models import AccessToken
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from apps.common.principals import Actor, Channel


@dataclass(frozen=True)
class ApiPrincipal:
    """The authenticated API client, as DRF's request.user."""

    client_pk: int
    client_id: str
    scopes: frozenset[str]
    actor: Actor
    is_authenticated: bool = True
    is_active: bool = True

    @property
    def pk(self) -> int:
        return self.client_pk


class BearerTokenAuthentication(BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[ApiPrincipal, Any] | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        checksum = hashlib.sha256(token.strip().encode()).hexdigest()
        access = (
            AccessToken.objects.select_related("application__api_client")
            .filter(token_checksum=checksum)
            .only(
                "expires",
                "scope",
                "application__client_id",
                "application__api_client__id",
                "application__api_client__customer_id",
                "application__api_client__is_active",
                "application__api_client__scopes",
            )
            .first()
        )
        if access is None or access.expires <= timezone.now():
            return None  # not authenticated: 401
        client = getattr(access.application, "api_client", None)
        if client is None or not client.is_active:
            return None
        granted = frozenset(access.scope.split()) & client.scope_set
        actor = Actor(
            label=f"client:{access.application.client_id}",
            channel=Channel.API if client.customer_id else Channel.SYSTEM,
            customer_id=client.customer_id,
        )
        return ApiPrincipal(
            client_pk=client.pk, client_id=access.application.client_id, scopes=granted, actor=actor
        ), access

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="finsys"'
