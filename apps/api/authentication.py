"""Bearer tokens from the OAuth2 token endpoint, checked in one indexed query."""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from oauth2_provider.models import AccessToken
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from apps.common.principals import Actor, Channel

logger = logging.getLogger(__name__)


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


class _TokenCache:
    """Resolved tokens kept in this process for API_TOKEN_CACHE_SECONDS (0 turns it off).

    A token found here skips the database; a revoked token or disabled client is therefore
    refused at most that many seconds late. Entries never outlive the token's own expiry.
    """

    max_entries = 10_000

    def __init__(self) -> None:
        self._entries: dict[str, tuple[float, ApiPrincipal]] = {}
        self._lock = threading.Lock()

    def get(self, checksum: str) -> ApiPrincipal | None:
        entry = self._entries.get(checksum)
        if entry is None:
            return None
        if entry[0] <= time.monotonic():
            self._entries.pop(checksum, None)
            return None
        return entry[1]

    def put(self, checksum: str, principal: ApiPrincipal, token_expires: Any) -> None:
        ttl = min(settings.API_TOKEN_CACHE_SECONDS, (token_expires - timezone.now()).total_seconds())
        if ttl <= 0:
            return
        with self._lock:
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
            self._entries[checksum] = (time.monotonic() + ttl, principal)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


token_cache = _TokenCache()


def revoked_cache_key(client_id: str) -> str:
    """Set in the shared cache for a while after a client is disabled or its secret rotated."""
    return f"api-client-revoked:{client_id}"


_revocation_checked: dict[str, float] = {}  # client id -> monotonic time of its last marker check


def _revoked_elsewhere(client_id: str) -> bool:
    """Whether another process revoked this client's tokens (the marker in the shared cache).

    Looked up at most every API_REVOCATION_CHECK_SECONDS per client and process (a Redis round
    trip on every call was measurable on the transfer path), so a revocation reaches every
    process within that time; 0 checks on every call."""
    interval = settings.API_REVOCATION_CHECK_SECONDS
    now = time.monotonic()
    if interval > 0 and now - _revocation_checked.get(client_id, -interval) < interval:
        return False
    try:
        revoked = bool(cache.get(revoked_cache_key(client_id)))
    except Exception:  # noqa: BLE001 - cache down: trust the database, not this process's memory
        logger.warning("token cache: the shared cache is unreachable; checking the token in the database")
        return True
    if not revoked:
        if len(_revocation_checked) >= _TokenCache.max_entries:
            _revocation_checked.clear()
        _revocation_checked[client_id] = now
    return revoked


class BearerTokenAuthentication(BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[ApiPrincipal, Any] | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        checksum = hashlib.sha256(token.strip().encode()).hexdigest()
        cached = token_cache.get(checksum)
        if cached is not None:
            if not _revoked_elsewhere(cached.client_id):
                return cached, None
            token_cache.clear()  # revoked in another process (or cache unreachable): look it up again
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
        principal = ApiPrincipal(
            client_pk=client.pk, client_id=access.application.client_id, scopes=granted, actor=actor
        )
        token_cache.put(checksum, principal, access.expires)
        return principal, access

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="finsys"'
