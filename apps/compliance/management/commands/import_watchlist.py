"""import_watchlist --format un|ofac|csv FILE [--alt ALT_CSV] [--name NAME]

Loads or updates a sanctions list (UN consolidated XML, OFAC SDN CSV with an optional alt.csv,
or the internal CSV `name,aliases,country,birth_date,list_id`), then re-screens every customer.
The same file twice changes nothing. Exits 0 on success, non-zero with a one-line reason on
stderr. An operator tool: the import is recorded in the audit trail (docs/compliance.md).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.common.principals import Actor, Channel
from apps.compliance.aml import watchlist_import
from apps.compliance.screening.formats import MAX_LIST_BYTES, FormatError

DEFAULT_NAMES = {"un": "un-consolidated", "ofac": "ofac-sdn", "csv": "internal"}


def _read(path: str) -> bytes:
    file = Path(path)
    if not file.is_file():
        raise CommandError(f"{path}: no such file")
    if file.stat().st_size > MAX_LIST_BYTES:
        raise CommandError(f"{path}: larger than {MAX_LIST_BYTES} bytes")
    return file.read_bytes()


class Command(BaseCommand):
    help = "Load or update a sanctions list (UN XML, OFAC SDN CSV or internal CSV) and re-screen customers."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--format", required=True, choices=["un", "ofac", "csv"], dest="source_format")
        parser.add_argument("file")
        parser.add_argument("--alt", help="OFAC alt.csv with the aliases (optional)")
        parser.add_argument("--name", help="The list's name (default: un-consolidated, ofac-sdn or internal)")
        parser.add_argument("--by", default="operator", help="Who imports it (recorded in the audit trail)")

    def handle(self, *args: Any, **options: Any) -> None:
        fmt = options["source_format"]
        data = _read(options["file"])
        alt = _read(options["alt"]) if options.get("alt") else None
        if alt is not None and fmt != "ofac":
            raise CommandError("--alt is only for the OFAC format")
        name = (options.get("name") or DEFAULT_NAMES[fmt])[:40]
        actor = Actor(label=f"command:{options['by']}"[:150], channel=Channel.SYSTEM)
        try:
            result = watchlist_import(actor=actor, name=name, source_format=fmt, data=data, alt=alt)
        except FormatError as exc:
            raise CommandError(f"{options['file']}: {exc}") from exc
        if result.unchanged:
            self.stdout.write(f"{name}: unchanged ({result.watchlist.entry_count} entries)")
        else:
            self.stdout.write(
                f"{name}: {result.watchlist.entry_count} entries (added {result.added}, updated {result.updated},"
                f" removed {result.removed}); customers re-screened"
            )
