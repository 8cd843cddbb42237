"""Lockouts (django-axes' `user_locked_out` signal) become audit events.

axes sends the signal when a username+IP reaches the failure limit, and again for every attempt
refused while the lock lasts; only the first is a new lockout (axes then sets
`request.axes_failures_since_start`), so only that one is recorded.
"""

from __future__ import annotations

from typing import Any

from axes.signals import user_locked_out
from django.dispatch import receiver

from apps.audit.services import auth_lockout_record


@receiver(user_locked_out, dispatch_uid="finsys-audit-lockout")
def record_lockout(
    sender: Any, request: Any = None, username: str | None = None, ip_address: Any = None, **kwargs: Any
) -> None:
    failures = getattr(request, "axes_failures_since_start", None)
    if request is None or failures is None:
        return
    auth_lockout_record(
        username=username or "", ip_address=str(ip_address or ""), path=request.path_info, failures=int(failures)
    )
