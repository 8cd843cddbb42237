"""demo_logins: where the demo bank answers and how to log in (what `make run` prints)."""

from __future__ import annotations

import os
import sys
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandParser

API_SCOPES = "customers:read customers:write kyc:write accounts:read accounts:write cash:write payments:write"


def _python() -> str:
    """The interpreter to show in commands: relative to the project when it lives inside it."""
    base = str(settings.BASE_DIR)
    if sys.executable.startswith(base + os.sep):
        return os.path.relpath(sys.executable, base)
    return "python"


class Command(BaseCommand):
    help = "Print the demo bank's URLs, the staff logins of seed_demo and how to make an API client."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", default="8000")

    def handle(self, *args: Any, **options: Any) -> None:
        base = f"http://{options['host']}:{options['port']}"
        python = _python()
        out = self.stdout.write
        out("")
        out(f"finsys demo bank at {base}/")
        out("")
        out(f"  Staff login           {base}/staff/login/   (password, then a TOTP code)")
        out(f"  Back office           {base}/staff/")
        out(f"  Customer portal       {base}/portal/   (demo logins: customer, clerk, director; same password)")
        out(f"  Admin                 {base}/admin/")
        out(f"  API docs (Swagger)    {base}/api/v1/docs/")
        out(f"  OpenAPI document      {base}/api/v1/schema/")
        out(f"  Health / readiness    {base}/healthz   {base}/readyz")
        out("")
        staff = list(
            User.objects.filter(is_staff=True, is_active=True)
            .prefetch_related("groups")
            .order_by("-is_superuser", "id")
        )
        if not staff:
            out(f"No staff users yet: run '{python} manage.py seed_demo' to load the demo bank.")
        else:
            if settings.IS_PRODUCTION:
                password = "(the value of DEMO_PASSWORD)"  # noqa: S105 - a hint, not a password
            else:
                password = f"{settings.DEMO_PASSWORD}   (from var/dev-keys.json, this checkout only)"
            out(f"Staff logins, password for all: {password}")
            for user in staff:
                roles = ", ".join(group.name for group in user.groups.all()) or "-"
                if user.is_superuser:
                    roles += " (superuser)"
                out(f"  {user.username:<22}{roles}")
            out("")
            out("Staff log in with the password, then a six-digit code from an authenticator app (FreeOTP,")
            out("Google or Microsoft Authenticator...). The first login shows a QR code to enrol the app.")
            out(f"Sessions end after {settings.STAFF_IDLE_TIMEOUT_SECONDS // 60} minutes without activity.")
        out("")
        out("API: create a client (prints its id and secret once), get a token, call the API:")
        out(f'  {python} manage.py create_api_client demo --scopes "{API_SCOPES}"')
        out(f"  curl -s -u CLIENT_ID:CLIENT_SECRET -d grant_type=client_credentials {base}/api/v1/oauth/token/")
        out(f'  curl -s -H "Authorization: Bearer ACCESS_TOKEN" {base}/api/v1/accounts/')
        out("")
