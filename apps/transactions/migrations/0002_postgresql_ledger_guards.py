"""On PostgreSQL the database itself guards the ledger:
- journal entries and postings refuse UPDATE and DELETE, row by row;
- a deferred constraint trigger refuses, at commit, any entry whose postings do not sum to zero
  per currency.
(On SQLite the model guards and the services do this; PostgreSQL is the system of record.)
TRUNCATE is a table-level privilege, not a row change: production runs the application under a
role without TRUNCATE (docs/operations.md); the test runner needs it to empty tables."""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION finsys_ledger_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'ledger rows are append-only (% on %)', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'integrity_constraint_violation';
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER journalentry_append_only BEFORE UPDATE OR DELETE ON transactions_journalentry
    FOR EACH ROW EXECUTE FUNCTION finsys_ledger_append_only();
CREATE TRIGGER posting_append_only BEFORE UPDATE OR DELETE ON transactions_posting
    FOR EACH ROW EXECUTE FUNCTION finsys_ledger_append_only();

CREATE OR REPLACE FUNCTION finsys_entry_balanced() RETURNS trigger AS $$
DECLARE
    off record;
BEGIN
    SELECT currency, SUM(amount) AS total INTO off
      FROM transactions_posting
     WHERE entry_id = NEW.entry_id
     GROUP BY currency
    HAVING SUM(amount) <> 0
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'journal entry % does not balance in % (off by %)', NEW.entry_id, off.currency, off.total
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE CONSTRAINT TRIGGER posting_entry_balanced AFTER INSERT ON transactions_posting
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION finsys_entry_balanced();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS posting_entry_balanced ON transactions_posting;
DROP TRIGGER IF EXISTS posting_append_only ON transactions_posting;
DROP TRIGGER IF EXISTS journalentry_append_only ON transactions_journalentry;
DROP FUNCTION IF EXISTS finsys_entry_balanced();
DROP FUNCTION IF EXISTS finsys_ledger_append_only();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(FORWARD)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("transactions", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
