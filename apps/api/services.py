"""Business actions on API clients."""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from oauth2_provider.models import AccessToken, Application

from apps.api.authentication import revoked_cache_key, token_cache
from apps.api.models import ApiClient
from apps.audit.services import audit_record
from apps.common.errors import NotFound, ValidationFailed
from apps.common.locking import lock_by_pk
from apps.common.principals import Actor
from apps.customers.models import Customer

_ALPHABET = string.ascii_letters + string.digits


@dataclass(frozen=True)
class IssuedClient:
    client: ApiClient
    client_id: str
    client_secret: str


def known_scopes() -> frozenset[str]:
    return frozenset(settings.OAUTH2_PROVIDER["SCOPES"])


def api_client_create(
    *, name: str, scopes: list[str], customer: Customer | None = None, actor_label: str = "system:cli"
) -> IssuedClient:
    """A new confidential client for the client-credentials grant. The secret is shown once:
    only its hash is stored."""
    unknown = sorted(set(scopes) - known_scopes())
    if unknown:
        raise ValidationFailed({"scopes": [f"Unknown scope: {scope}" for scope in unknown]})
    if not scopes:
        raise ValidationFailed({"scopes": ["Give at least one scope."]})
    if not name.strip():
        raise ValidationFailed({"name": ["Give the client a name."]})
    client_id = "".join(secrets.choice(_ALPHABET) for _ in range(32))
    client_secret = _new_secret()
    with transaction.atomic():
        application = Application.objects.create(
            name=name[:255],
            client_id=client_id,
            client_secret=client_secret,  # hashed on save
            client_type=Application.CLIENT_CONFIDENTIAL,
            authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
        )
        client = ApiClient.objects.create(
            application=application, name=name[:100], scopes=" ".join(sorted(set(scopes))), customer=customer
        )
        audit_record(
            actor=actor_label,
            action="api_client.create",
            object_type="api_client",
            object_id=client_id,
            detail={"scopes": sorted(set(scopes))},
        )
    return IssuedClient(client=client, client_id=client_id, client_secret=client_secret)


def _new_secret() -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(48))


def api_client_get(*, client_id: str) -> ApiClient:
    try:
        return ApiClient.objects.select_related("application").get(application__client_id=client_id)
    except ApiClient.DoesNotExist:
        raise NotFound() from None


def _locked(client: ApiClient) -> ApiClient:
    locked = lock_by_pk(ApiClient.objects.select_related("application"), [client.pk]).get(client.pk)
    if locked is None:
        raise NotFound()
    return locked


def _revoke_tokens(client: ApiClient) -> int:
    """Delete the client's access tokens and make every process forget the ones it cached.

    Processes that cached a resolved token check a short-lived marker in the shared cache
    (Redis in production) before trusting it, at least every API_REVOCATION_CHECK_SECONDS (1 s),
    so the refusal reaches every process within that time.
    """
    _total, deleted = AccessToken.objects.filter(application_id=client.application_id).delete()
    revoked = deleted.get(AccessToken._meta.label, 0)

    def forget() -> None:
        cache.set(revoked_cache_key(client.application.client_id), True, timeout=settings.API_TOKEN_CACHE_SECONDS + 5)
        token_cache.clear()

    transaction.on_commit(forget)
    return revoked


def api_client_disable(*, actor: Actor, client: ApiClient, reason: str = "") -> ApiClient:
    """Refuse the client at the token endpoint and its existing tokens at once."""
    with transaction.atomic():
        client = _locked(client)
        client.is_active = False
        client.save(update_fields=["is_active"])
        revoked = _revoke_tokens(client)
        audit_record(
            actor=actor.label,
            action="api_client.disable",
            object_type="api_client",
            object_id=client.application.client_id,
            detail={"reason": reason, "tokens_revoked": revoked},
        )
    return client


def api_client_enable(*, actor: Actor, client: ApiClient, reason: str = "") -> ApiClient:
    """Let a disabled client ask for tokens again (its old tokens stay revoked)."""
    with transaction.atomic():
        client = _locked(client)
        client.is_active = True
        client.save(update_fields=["is_active"])
        audit_record(
            actor=actor.label,
            action="api_client.enable",
            object_type="api_client",
            object_id=client.application.client_id,
            detail={"reason": reason},
        )
    return client


def api_client_rotate_secret(*, actor: Actor, client: ApiClient) -> IssuedClient:
    """A new secret, returned once (only its hash is stored); the old one and every token issued
    under it stop working at once."""
    secret = _new_secret()
    with transaction.atomic():
        client = _locked(client)
        application = client.application
        application.client_secret = secret  # hashed on save
        application.save(update_fields=["client_secret", "updated"])
        revoked = _revoke_tokens(client)
        audit_record(
            actor=actor.label,
            action="api_client.rotate_secret",
            object_type="api_client",
            object_id=application.client_id,
            detail={"tokens_revoked": revoked},
        )
    return IssuedClient(client=client, client_id=client.application.client_id, client_secret=secret)
