"""Scopes: each view says which scopes each method needs (any one group of them suffices)."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from apps.api.authentication import ApiPrincipal


class HasRequiredScope(BasePermission):
    """`required_scopes = {"GET": ["accounts:read"], "POST": ["accounts:write"]}`; a value may
    also be a list of alternatives: `[["payments:write"], ["accounts:read"]]`."""

    message = "The token does not have the scope this call needs."

    def has_permission(self, request: Request, view: Any) -> bool:
        principal = request.user
        if not isinstance(principal, ApiPrincipal):
            return False
        required = getattr(view, "required_scopes", {}).get(request.method, None)
        if required is None:
            # No policy: closed by default; a method the view does not implement is let through
            # so that the view answers 405 method_not_allowed (API.md) rather than 403.
            return not hasattr(view, (request.method or "").lower())
        if required and isinstance(required[0], list):
            return any(set(group) <= principal.scopes for group in required)
        return set(required) <= principal.scopes
