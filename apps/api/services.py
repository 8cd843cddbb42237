"""Business actions on API clients."""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from oauth2_provider.models import Application

from apps.api.models import ApiClient
from apps.audit.services import audit_record
from apps.common.errors import ValidationFailed
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
    client_secret = "".join(secrets.choice(_ALPHABET) for _ in range(48))
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
