"""django-oauth-toolkit glue: a client may ask only for the scopes it was given."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from oauth2_provider.scopes import SettingsScopes
from oauth2_provider.views import TokenView

from apps.common.metrics import LOGIN_FAILURES


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


class CountingTokenView(TokenView):
    """The OAuth2 token endpoint; each refusal (bad client or secret, bad grant) counts as a
    failed login in the metrics."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = super().post(request, *args, **kwargs)
        if response.status_code >= 400:
            LOGIN_FAILURES.labels("api").inc()
        return response
