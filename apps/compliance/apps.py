from django.apps import AppConfig


class ComplianceConfig(AppConfig):
    name = "apps.compliance"
    label = "compliance"
    verbose_name = "Compliance"

    def ready(self) -> None:
        # Sanctions screening hooks into layers below us through their registries.
        from apps.compliance.aml import customer_name_listener, payment_screener
        from apps.compliance.services import payment_review_request
        from apps.customers.hooks import register_customer_name_listener
        from apps.transactions.payment_hooks import register_payment_review_handler
        from apps.transactions.screening import register_payment_screener

        register_payment_screener(payment_screener)
        # Whatever screener sent a payment to review, a maker-checker approval decides it.
        register_payment_review_handler(payment_review_request)
        register_customer_name_listener(customer_name_listener)
        # The approval action that imports an approved watchlist upload.
        import apps.compliance.services_watchlists  # noqa: F401
