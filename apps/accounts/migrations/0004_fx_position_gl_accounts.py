"""The FX position GL account per currency (apps/treasury: cross-currency transfers balance
per currency through them). Numbered 9901..., apart from the first GL accounts of 0002."""

from django.db import migrations, models
from django.utils import timezone
from stdnum.iso7064 import mod_97_10

CURRENCIES = ["CNY", "EUR", "GBP", "HKD", "JPY", "SGD", "USD"]


def forwards(apps, schema_editor):
    Product = apps.get_model("accounts", "Product")
    Account = apps.get_model("accounts", "Account")
    now = timezone.now()
    for index, currency in enumerate(CURRENCIES, start=1):
        product = Product.objects.get(code=f"INTERNAL-{currency}")
        body = "9901" + f"{index:010d}"
        Account.objects.get_or_create(
            is_internal=True,
            gl_code="fx_position",
            currency=currency,
            defaults={
                "number": body + mod_97_10.calc_check_digits(body),
                "product": product,
                "status": "active",
                "opened_at": now,
            },
        )


class Migration(migrations.Migration):
    dependencies = [("accounts", "0003_account_mandate_permissions")]

    operations = [
        migrations.AlterField(
            model_name="account",
            name="gl_code",
            field=models.CharField(
                blank=True,
                choices=[
                    ("cash_vault", "Cash vault"),
                    ("clearing", "Clearing"),
                    ("fee_income", "Fee income"),
                    ("interest_expense", "Interest expense"),
                    ("suspense", "Suspense"),
                    ("fx_position", "FX position"),
                ],
                max_length=20,
            ),
        ),
        migrations.RunPython(forwards, migrations.RunPython.noop),
    ]
