from django.apps import AppConfig


class TreasuryConfig(AppConfig):
    name = "apps.treasury"
    label = "treasury"
    verbose_name = "Treasury"

    def ready(self) -> None:
        # Payments (below us) convert through our rates: they call the quoter they were given.
        from apps.transactions.payment_hooks import register_payment_fx_quoter
        from apps.treasury.services import payment_fx_quote

        register_payment_fx_quoter(payment_fx_quote)
