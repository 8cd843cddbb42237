"""Who is acting: a label stored on what they did, and the channel they came through."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Channel(StrEnum):
    SYSTEM = "system"
    API = "api"
    PORTAL = "portal"
    BRANCH = "branch"


@dataclass(frozen=True)
class Actor:
    """The principal behind a business action.

    `label` identifies it in records ("client:<id>", "user:<username>", "system:seed"),
    `customer_id` is set when the principal acts for one customer only.
    """

    label: str
    channel: Channel
    customer_id: int | None = None

    @property
    def is_bank(self) -> bool:
        return self.customer_id is None


SYSTEM_ACTOR = Actor(label="system:internal", channel=Channel.SYSTEM)


def require_bank(actor: Actor, message: object = None) -> None:
    """Refuse an action that only the bank itself may take (not a customer-bound principal)."""
    if not actor.is_bank:
        from apps.common.errors import PermissionDenied

        raise PermissionDenied(message)
