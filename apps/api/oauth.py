"""django-oauth-toolkit glue: a client may ask only for the scopes it was given, and only while active."""

from __future__ import annotations

from typing import Any

from oauth2_provider.oauth2_validators import OAuth2Validator
from oauth2_provider.scopes import SettingsScopes


class ClientScopes(SettingsScopes):
    def _allowed(self, application: Any) -> list[str]:
        client = getattr(application, "api_client", None) if application is not None else None
        if client is None or not client.is_active:
            return []
        return sorted(client.scope_set)

    def get_available_scopes(
        self, application: Any = None, request: Any = None, *args: Any, **kwargs: Any
    ) -> list[str]:
        return self._allowed(application)

    def get_default_scopes(self, application: Any = None, request: Any = None, *args: Any, **kwargs: Any) -> list[str]:
        return self._allowed(application)


class ClientValidator(OAuth2Validator):
    """A disabled client cannot get a token: `invalid_client` (401), as for a wrong secret."""

    def authenticate_client(self, request: Any, *args: Any, **kwargs: Any) -> bool:
        if not super().authenticate_client(request, *args, **kwargs):
            return False
        client = getattr(request.client, "api_client", None)
        return client is not None and client.is_active
