"""drf-spectacular extensions: the bearer-token security scheme and the amount field."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension, OpenApiSerializerFieldExtension
from drf_spectacular.plumbing import build_basic_type
from drf_spectacular.types import OpenApiTypes


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "apps.api.authentication.BearerTokenAuthentication"
    name = "oauth2"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        from django.conf import settings

        return {
            "type": "oauth2",
            "description": "OAuth2 client credentials; send the access token as `Authorization: Bearer <token>`.",
            "flows": {
                "clientCredentials": {
                    "tokenUrl": "/api/v1/oauth/token/",
                    "scopes": dict(settings.OAUTH2_PROVIDER["SCOPES"]),
                }
            },
        }


class AmountTextFieldSchema(OpenApiSerializerFieldExtension):
    target_class = "apps.api.fields.AmountTextField"

    def map_serializer_field(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        schema = build_basic_type(OpenApiTypes.STR) or {}
        schema.update(
            {
                "pattern": r"^[0-9]{1,15}(\.[0-9]+)?$",
                "example": "1250.50",
                "description": "Decimal string; at most as many decimals as the currency has",
            }
        )
        return schema
