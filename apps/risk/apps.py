from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RiskConfig(AppConfig):
    name = "apps.risk"
    label = "risk"
    verbose_name = _("Risk")

    def ready(self) -> None:
        """Plug the limits and rules into the movements' decision interface
        (apps.transactions.screening) for the screened channels; `system` is not one by default,
        so the bank's own clients pay no query for it."""
        from django.conf import settings

        from apps.risk import services, services_credit, services_market  # noqa: F401 - approval actions
        from apps.transactions.screening import (
            register_movement_checker,
            register_payment_screener,
            register_review_handler,
        )

        register_movement_checker(services.movement_check, channels=settings.FINSYS_RISK_CHANNELS)
        register_review_handler(services.movement_review)
        # Payments: the screener checks the channel itself (a payment carries it).
        register_payment_screener(services.payment_check)
