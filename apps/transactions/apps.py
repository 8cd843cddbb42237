from django.apps import AppConfig


class TransactionsConfig(AppConfig):
    name = "apps.transactions"
    label = "transactions"
    verbose_name = "Transactions"

    def ready(self) -> None:
        from apps.transactions.chain import register_ledger_chain

        register_ledger_chain()
