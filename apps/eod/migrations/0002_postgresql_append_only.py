"""On PostgreSQL the end-of-day rows refuse UPDATE and DELETE row by row, like the ledger's
(the function comes from transactions/0002). On SQLite the model guards do this."""

from django.db import migrations

TABLES = ("eod_steprun", "eod_balancesnapshot", "eod_interestaccrual", "eod_interestcapitalisation", "eod_feecharge")


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            for table in TABLES:
                cursor.execute(
                    f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}"
                    " FOR EACH ROW EXECUTE FUNCTION finsys_ledger_append_only()"
                )


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            for table in TABLES:
                cursor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")


class Migration(migrations.Migration):
    dependencies = [("eod", "0001_initial"), ("transactions", "0002_postgresql_ledger_guards")]

    operations = [migrations.RunPython(forwards, backwards)]
