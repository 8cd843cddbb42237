"""api_client disable|enable|rotate-secret CLIENT_ID: manage an API client, audited.

rotate-secret prints one line of JSON, `{"client_id": ..., "client_secret": ...}`, like
create_api_client; the new secret is shown this once.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.api.services import api_client_disable, api_client_enable, api_client_get, api_client_rotate_secret
from apps.common.errors import NotFound
from apps.common.principals import Actor, Channel

CLI_ACTOR = Actor(label="system:cli", channel=Channel.SYSTEM)


class Command(BaseCommand):
    help = "Disable or enable an API client, or rotate its secret (printed once as JSON)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["disable", "enable", "rotate-secret"])
        parser.add_argument("client_id")
        parser.add_argument("--reason", default="", help="Recorded in the audit event")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            client = api_client_get(client_id=options["client_id"])
        except NotFound:
            raise CommandError(f"no API client {options['client_id']}") from None
        action = options["action"]
        if action == "rotate-secret":
            issued = api_client_rotate_secret(actor=CLI_ACTOR, client=client)
            self.stdout.write(json.dumps({"client_id": issued.client_id, "client_secret": issued.client_secret}))
        elif action == "disable":
            api_client_disable(actor=CLI_ACTOR, client=client, reason=options["reason"])
            self.stderr.write(f"API client {options['client_id']} disabled; its tokens are revoked")
        else:
            api_client_enable(actor=CLI_ACTOR, client=client, reason=options["reason"])
            self.stderr.write(f"API client {options['client_id']} enabled")
