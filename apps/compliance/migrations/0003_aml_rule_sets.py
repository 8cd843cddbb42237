"""The shipped report rule sets (editable data) and the append-only guard on case notes.

PBOC-2016: the People's Bank of China's 2016 large-value report thresholds (Order [2016] No. 3,
art. 5): cash of at least 50,000 CNY, or the equivalent of USD 10,000 in foreign currency, a
day; individual transfers of at least 500,000 CNY domestic or 200,000 CNY cross-border a day;
corporate transfers of at least 2,000,000 CNY a day (cumulative per customer and day).
US-CTR: the US Currency Transaction Report, cash of more than USD 10,000 a day (31 CFR 1010.311).
"""

from decimal import Decimal

from django.db import migrations

RULES = [
    ("PBOC-2016", "CASH-CNY", "Cash of at least 50,000 CNY a day", "cash", "", "CNY", "50000", "CNY", False),
    ("PBOC-2016", "CASH-FX", "Foreign-currency cash of at least USD 10,000 equivalent a day", "cash", "", "!CNY", "10000", "USD", False),
    ("PBOC-2016", "IND-DOMESTIC", "Individual domestic transfers of at least 500,000 CNY a day", "domestic", "individual", "", "500000", "CNY", False),
    ("PBOC-2016", "IND-CROSS-BORDER", "Individual cross-border transfers of at least 200,000 CNY a day", "cross_border", "individual", "", "200000", "CNY", False),
    ("PBOC-2016", "CORP-DOMESTIC", "Corporate transfers of at least 2,000,000 CNY a day", "domestic", "corporate", "", "2000000", "CNY", False),
    ("PBOC-2016", "CORP-CROSS-BORDER", "Corporate cross-border transfers of at least 2,000,000 CNY a day", "cross_border", "corporate", "", "2000000", "CNY", False),
    ("US-CTR", "CASH", "Cash of more than USD 10,000 a day (CTR)", "cash", "", "", "10000", "USD", True),
]

TRIGGER = (
    "CREATE TRIGGER casenote_append_only BEFORE UPDATE OR DELETE ON compliance_casenote"
    " FOR EACH ROW EXECUTE FUNCTION finsys_ledger_append_only();"
)


def forwards(apps, schema_editor):
    ReportRule = apps.get_model("compliance", "ReportRule")
    for jurisdiction, code, description, flow, kind, currencies, threshold, currency, strict in RULES:
        ReportRule.objects.update_or_create(
            jurisdiction=jurisdiction,
            code=code,
            defaults={
                "description": description,
                "report_kind": "large_value",
                "flow": flow,
                "customer_kind": kind,
                "currency_filter": currencies,
                "threshold": Decimal(threshold),
                "threshold_currency": currency,
                "strictly_greater": strict,
            },
        )
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(TRIGGER)


def backwards(apps, schema_editor):
    apps.get_model("compliance", "ReportRule").objects.filter(jurisdiction__in=["PBOC-2016", "US-CTR"]).delete()
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute("DROP TRIGGER IF EXISTS casenote_append_only ON compliance_casenote;")


class Migration(migrations.Migration):
    dependencies = [("compliance", "0002_aml")]

    operations = [migrations.RunPython(forwards, backwards)]
