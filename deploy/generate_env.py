"""Print a fresh .env for docker-compose.yml: random keys and passwords, nothing else to fill in.

    python3 deploy/generate_env.py [--hostname bank.example] > .env && chmod 600 .env

Run it once per installation and keep the file (and a copy of the keys in your secret store):
losing FIELD_ENCRYPTION_KEYS or BACKUP_ENCRYPTION_KEY makes personal data and backups unreadable.
Only the Python standard library is needed.
"""

from __future__ import annotations

import argparse
import base64
import secrets
import sys


def _key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


def generate(hostname: str) -> dict[str, str]:
    return {
        "FINSYS_HOSTNAME": hostname,
        "POSTGRES_PASSWORD": secrets.token_urlsafe(24),
        "SECRET_KEY": secrets.token_urlsafe(50),
        "FIELD_ENCRYPTION_KEYS": f"k1:{_key()}",
        "BLIND_INDEX_KEY": _key(),
        "AUDIT_SIGNING_KEY": _key(),
        "BACKUP_ENCRYPTION_KEY": _key(),
        "EXPORT_PSEUDONYM_KEY": _key(),
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hostname", default="localhost")
    args = parser.parse_args(argv)
    lines = ["# finsys docker-compose secrets: keep private (chmod 600), back up the keys separately."]
    lines += [f"{name}={value}" for name, value in generate(args.hostname).items()]
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
