#!/usr/bin/env python3
"""Verify a finsys audit export offline: `python verify_audit_export.py EXPORT.jsonl`.

Needs only Python 3.11+ and the `cryptography` package (pip install cryptography); no finsys,
no Django, no database. It recomputes, from the exported rows alone:
- each row's SHA-256 content hash (canonical JSON: sorted keys, no spaces, UTF-8),
- each link's hash, SHA-256 of "chain:seq:prev_hash:content_hash", and that every link names
  the one before it and that no sequence number is missing,
- every checkpoint's Ed25519 signature over
  "finsys-audit-checkpoint:v1:chain:day:seq:head_hash:signed_at", made by a trusted key, and
  that the chain still holds the head the checkpoint signed.
Trusted keys are the export's `key` records, or only those given with --trusted-key (base64
public key; repeatable): compare the key ids printed with the ones the bank publishes.

Exit status 0 and a summary on stdout when everything holds; 1 and one line on stderr naming
the first broken row (chain, seq, id, what is wrong) otherwise; 2 if the file cannot be read.
docs/audit.md describes the format.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import json
import sys
from collections import defaultdict
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

GENESIS_HASH = "0" * 64


def content_hash(content: dict[str, Any]) -> str:
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def link_hash(chain: str, seq: int, prev_hash: str, content_digest: str) -> str:
    return hashlib.sha256(f"{chain}:{seq}:{prev_hash}:{content_digest}".encode()).hexdigest()


def key_id_of(public_key: str) -> str:
    return hashlib.sha256(base64.b64decode(public_key)).hexdigest()[:16]


def signature_valid(public_key: str, message: bytes, signature: str) -> bool:
    try:
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key, validate=True))
        key.verify(base64.b64decode(signature, validate=True), message)
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True


def where(chain: str, seq: int | None = None, object_id: int | None = None) -> str:
    parts = [f"chain {chain}"]
    if seq is not None:
        parts.append(f"seq {seq}")
    if object_id is not None:
        parts.append(f"id {object_id}")
    return ", ".join(parts)


def verify(records: list[dict[str, Any]], trusted: dict[str, str]) -> tuple[list[str], str]:
    """All problems found (first one first) and a summary."""
    problems: list[str] = []
    links: dict[str, list[dict[str, Any]]] = defaultdict(list)
    checkpoints = []
    header = records[0] if records else {}
    if header.get("type") != "header" or header.get("format") != "finsys-audit-export" or header.get("version") != 1:
        return ["the file is not a finsys audit export (version 1)"], ""
    for record in records[1:]:
        if record.get("type") == "link":
            links[record["chain"]].append(record)
        elif record.get("type") == "checkpoint":
            checkpoints.append(record)
    heads: dict[tuple[str, int], tuple[str, int]] = {}
    summary = []
    for chain in header["chains"]:
        expected, prev = 1, GENESIS_HASH
        for link in links[chain]:
            seq, object_id, content = link["seq"], link["object_id"], link["content"]
            if seq != expected:
                problems.append(
                    f"{where(chain, expected)}: row missing: the links {expected} to {seq - 1} were removed"
                )
            elif link["prev_hash"] != prev or link["row_hash"] != link_hash(
                chain, seq, link["prev_hash"], link["content_hash"]
            ):
                problems.append(
                    f"{where(chain, seq, object_id)}: order changed: the link does not follow the one before it"
                )
            if content is None:
                problems.append(f"{where(chain, seq, object_id)}: row missing: the sealed row was deleted")
            elif content_hash(content) != link["content_hash"]:
                problems.append(
                    f"{where(chain, seq, object_id)}: content changed: the row no longer matches its sealed hash"
                )
            heads[(chain, seq)] = (link["row_hash"], object_id)
            expected, prev = seq + 1, link["row_hash"]
        summary.append(f"{chain}: {len(links[chain])} rows, head #{expected - 1} {prev[:16]}")
    for cp in checkpoints:
        chain, seq = cp["chain"], cp["seq"]
        head_hash, head_id = heads.get((chain, seq), ("", None))
        named = where(chain, seq, head_id)
        message = f"finsys-audit-checkpoint:v1:{chain}:{cp['day']}:{seq}:{cp['head_hash']}:{cp['signed_at']}".encode()
        public = trusted.get(cp["key_id"])
        if public is None or public != cp["public_key"]:
            problems.append(
                f"{named}: signature bad: checkpoint {cp['id']} is signed by key {cp['key_id']}, which is not trusted"
            )
        elif not signature_valid(public, message, cp["signature"]):
            problems.append(f"{named}: signature bad: checkpoint {cp['id']} has an invalid signature")
        elif head_hash != cp["head_hash"]:
            problems.append(
                f"{named}: checkpoint mismatch: the chain no longer holds the head signed by checkpoint {cp['id']}"
            )
    summary.append(f"{len(checkpoints)} checkpoints, keys {', '.join(sorted(trusted)) or 'none'}")
    return problems, "; ".join(summary)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Verify a finsys audit export offline.")
    parser.add_argument("export", help="the JSON-lines file written by `manage.py export_audit`")
    parser.add_argument("--trusted-key", action="append", default=[], help="a trusted public key (base64)")
    args = parser.parse_args(argv)
    try:
        with open(args.export, encoding="utf-8") as handle:
            records = [json.loads(line) for line in handle if line.strip()]
    except (OSError, ValueError) as exc:
        print(f"cannot read {args.export}: {exc}", file=sys.stderr)
        return 2
    if args.trusted_key:
        trusted = {key_id_of(key): key for key in args.trusted_key}
    else:
        trusted = {r["key_id"]: r["public_key"] for r in records if r.get("type") == "key"}
        trusted = {key_id: key for key_id, key in trusted.items() if key_id_of(key) == key_id}
    try:
        problems, summary = verify(records, trusted)
    except (KeyError, TypeError, ValueError) as exc:
        print(f"malformed export: {exc!r}", file=sys.stderr)
        return 2
    if problems:
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        print(f"audit export verification failed: {problems[0]}{more}", file=sys.stderr)
        return 1
    print(f"audit export verified: {summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
