"""django-auditlog's request context (the staff user and the client address), with the address
taken from the connection, not from a client-supplied X-Forwarded-For header."""

from __future__ import annotations

from typing import Any

from auditlog.middleware import AuditlogMiddleware as _AuditlogMiddleware
from django.http import HttpRequest


class AuditlogMiddleware(_AuditlogMiddleware):
    @staticmethod
    def _get_remote_addr(request: HttpRequest) -> Any:
        return request.META.get("REMOTE_ADDR")
