"""The shipped products (current and savings per currency) and the bank's own GL accounts."""

from django.db import migrations
from django.utils import timezone
from stdnum.iso7064 import mod_97_10

CURRENCIES = ["CNY", "EUR", "GBP", "HKD", "JPY", "SGD", "USD"]
GL_CODES = ["cash_vault", "clearing", "fee_income", "interest_expense", "suspense"]
NAMES = {
    "current": "Current account",
    "savings": "Savings account",
    "internal": "General ledger",
}


def forwards(apps, schema_editor):
    Product = apps.get_model("accounts", "Product")
    Account = apps.get_model("accounts", "Account")
    now = timezone.now()
    serial = 0
    for currency in CURRENCIES:
        products = {}
        for kind in ("current", "savings", "internal"):
            products[kind], _ = Product.objects.get_or_create(
                code=f"{kind.upper()}-{currency}",
                defaults={"name": f"{NAMES[kind]} {currency}", "currency": currency, "kind": kind},
            )
        for code in GL_CODES:
            serial += 1
            body = "9900" + f"{serial:010d}"
            Account.objects.get_or_create(
                is_internal=True,
                gl_code=code,
                currency=currency,
                defaults={
                    "number": body + mod_97_10.calc_check_digits(body),
                    "product": products["internal"],
                    "status": "active",
                    "opened_at": now,
                },
            )


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
