"""Template context: the emergency switches that are on, for the banner
(templates/includes/emergency_banner.html) on the admin, the back office and the portal."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from apps.common.controls import active_controls


def emergency_controls(request: HttpRequest) -> dict[str, Any]:
    """`emergency.payments_stopped`, `.read_only`, `.frozen_customers` (a count, for staff pages)
    and `.customer_frozen` when the page's customer (`request.customer_id`, set by the portal)
    is frozen. Cached like every control check: no query per page."""
    controls = active_controls()
    customer_id = getattr(request, "customer_id", None)
    return {
        "emergency": {
            "any": controls.any,
            "payments_stopped": controls.payments_stopped,
            "read_only": controls.read_only,
            "frozen_customers": len(controls.frozen_customers),
            "customer_frozen": customer_id is not None and customer_id in controls.frozen_customers,
        }
    }
