"""Emergency controls (kill switches): what is switched on, and the checks services call.

The switches themselves are `EmergencyControl` rows, turned on and off by
`apps.compliance.services` (on at once and audited; off only with a second person's approval).
This module only reads them, so that every layer can enforce them:

- `controls_assert_writable()`: nothing may post to the ledger while the bank is read-only
  (the ledger's `_post` calls it, so Celery jobs, commands and the admin are refused too);
- `controls_assert_payments_allowed()`: money leaving the bank (withdrawals, transfers to
  another customer, and every outgoing payment: the payments service must call it);
- `controls_assert_customer_not_frozen(customer_id)`: a frozen customer's principals.

The checks sit on the transfer hot path, so they must not cost a database round trip each:
the active switches are read with one small query at most once per
`FINSYS_CONTROLS_CACHE_SECONDS` (default 1 s) per process, and this process forgets them at
once when it changes a switch itself. Another process sees a change at most that late.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction

from apps.common.errors import CustomerFrozen, PaymentsStopped, ReadOnlyMode
from apps.common.models import ControlKind, EmergencyControl


@dataclass(frozen=True)
class ActiveControls:
    payments_stopped: bool = False
    read_only: bool = False
    frozen_customers: frozenset[int] = field(default_factory=frozenset)

    @property
    def any(self) -> bool:
        return self.payments_stopped or self.read_only or bool(self.frozen_customers)


_memo: tuple[float, ActiveControls] | None = None
_memo_lock = threading.Lock()


def controls_load() -> ActiveControls:
    """The switches that are on now, from the database (one query)."""
    payments_stopped = read_only = False
    frozen: set[int] = set()
    for kind, customer_id in EmergencyControl.objects.filter(active=True).values_list("kind", "customer_id"):
        if kind == ControlKind.PAYMENTS_STOPPED:
            payments_stopped = True
        elif kind == ControlKind.READ_ONLY:
            read_only = True
        elif kind == ControlKind.CUSTOMER_FROZEN and customer_id is not None:
            frozen.add(customer_id)
    return ActiveControls(payments_stopped=payments_stopped, read_only=read_only, frozen_customers=frozenset(frozen))


def active_controls() -> ActiveControls:
    """The switches that are on, at most FINSYS_CONTROLS_CACHE_SECONDS old."""
    global _memo
    memo = _memo
    now = time.monotonic()
    if memo is not None and memo[0] > now:
        return memo[1]
    controls = controls_load()
    ttl = float(settings.FINSYS_CONTROLS_CACHE_SECONDS)
    if ttl > 0:
        with _memo_lock:
            _memo = (now + ttl, controls)
    return controls


def controls_forget() -> None:
    """Drop this process's copy: the next check reads the database."""
    global _memo
    with _memo_lock:
        _memo = None


def controls_changed() -> None:
    """Called by the services that switch a control: forget now and again after the commit."""
    controls_forget()
    transaction.on_commit(controls_forget)


def controls_assert_writable() -> None:
    if active_controls().read_only:
        raise ReadOnlyMode()


def controls_assert_payments_allowed() -> None:
    controls = active_controls()
    if controls.read_only:
        raise ReadOnlyMode()
    if controls.payments_stopped:
        raise PaymentsStopped()


def controls_assert_customer_not_frozen(customer_id: int | None) -> None:
    if customer_id is not None and customer_id in active_controls().frozen_customers:
        raise CustomerFrozen()
