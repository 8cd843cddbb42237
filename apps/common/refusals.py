"""What a refused action leaves behind after its transaction rolled back.

A refusal (a DomainError) rolls back everything the action wrote, which is right for money and
wrong for the record that it was refused: a risk rule that blocks a transfer must leave an alert
(docs/adr/0014). The refusing code attaches a callable to the error (`refusal_defer`); the code
that ends the rollback runs it in a transaction of its own (`refusal_settle`):

- `apps.common.idempotency.run_idempotent` (the API), in the short transaction that stores the
  refusal's answer once the action's transaction rolled back: the record commits with the
  stored 422, so a replayed request records nothing twice;
- a service called outside any transaction (a command, a task), once its own transaction is gone.

While the refusal is still unwinding through a caller's transaction nothing runs (it would be
rolled back with it). Each callable runs at most once per refusal.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import connection, transaction

from apps.common.errors import DomainError

logger = logging.getLogger(__name__)

AfterRollback = Callable[[], None]
_ATTRIBUTE = "_after_rollback"


def refusal_defer(refusal: DomainError, *work: AfterRollback) -> DomainError:
    """Attach work to run once `refusal`'s transaction has rolled back; returns the refusal."""
    pending: list[AfterRollback] = getattr(refusal, _ATTRIBUTE, [])
    pending.extend(work)
    setattr(refusal, _ATTRIBUTE, pending)
    return refusal


def refusal_settle(refusal: DomainError, *, caught: bool = False) -> int:
    """Run the work attached to `refusal`, each piece in its own atomic block, once.

    `caught`: the caller has stopped the refusal and its transaction continues (the API's
    idempotent runner); otherwise the work runs only when no transaction is open any more.
    A failure is logged, never raised: it must not hide the refusal itself. Returns how many ran."""
    pending: list[AfterRollback] = getattr(refusal, _ATTRIBUTE, [])
    if not pending:
        return 0
    if connection.needs_rollback or (connection.in_atomic_block and not caught):
        return 0  # still unwinding: whoever ends the rollback settles it
    work = list(pending)
    pending.clear()
    for piece in work:
        try:
            with transaction.atomic():
                piece()
        except Exception:
            logger.exception("recording a refusal failed")
    return len(work)
