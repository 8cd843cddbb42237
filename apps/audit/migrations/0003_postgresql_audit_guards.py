"""On PostgreSQL the database itself keeps audit events, chain links and checkpoints
append-only: UPDATE and DELETE are refused row by row (as for the ledger, transactions/0002).
Chain heads stay writable: they only serialise the sealer, verification never trusts them."""

from django.db import migrations

TABLES = ["audit_auditevent", "audit_chainlink", "audit_auditcheckpoint"]

FORWARD = """
CREATE OR REPLACE FUNCTION finsys_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit rows are append-only (% on %)', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'integrity_constraint_violation';
END
$$ LANGUAGE plpgsql;
""" + "".join(
    f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}\n"
    f"    FOR EACH ROW EXECUTE FUNCTION finsys_audit_append_only();\n"
    for table in TABLES
)

BACKWARD = "".join(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table};\n" for table in TABLES) + (
    "DROP FUNCTION IF EXISTS finsys_audit_append_only();\n"
)


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(FORWARD)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_chains_and_checkpoints")]

    operations = [migrations.RunPython(forwards, backwards)]
