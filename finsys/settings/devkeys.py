"""Development keys, generated once per checkout and never committed.

Outside production, any key the environment does not give is taken from `var/dev-keys.json`,
which is created on first use with fresh random values. The file is created atomically
(O_EXCL), so several processes starting at once agree on one set of keys.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from pathlib import Path


def _generate() -> dict[str, str]:
    return {
        "SECRET_KEY": secrets.token_urlsafe(50),
        "FIELD_ENCRYPTION_KEYS": "k1:" + base64.b64encode(secrets.token_bytes(32)).decode(),
        "BLIND_INDEX_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        "DEMO_PASSWORD": "demo-" + secrets.token_urlsafe(9),
        "AUDIT_SIGNING_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        "BACKUP_ENCRYPTION_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        "EXPORT_PSEUDONYM_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        "FINSYS_GATEWAY_CALLBACK_SECRET": secrets.token_urlsafe(32),
    }


def load(path: Path) -> dict[str, str]:
    """Return the development keys stored at `path`, creating the file if needed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(_generate(), indent=2))
        os.chmod(tmp, 0o600)
        try:
            os.link(tmp, path)  # atomic: fails if another process won the race
        except FileExistsError:
            pass
        finally:
            tmp.unlink(missing_ok=True)
    keys: dict[str, str] = json.loads(path.read_text())
    missing = set(_generate()) - set(keys)
    if missing:  # a file from an older version: add the new keys, keep the old ones
        fresh = _generate()
        keys.update({name: fresh[name] for name in missing})
        path.write_text(json.dumps(keys, indent=2))
    return keys
