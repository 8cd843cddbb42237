"""One load client of the reliability test, run as its own process (standard library only):

    python tests/reliability/client.py BASE TOKEN ACCOUNTS_JSON SEED SECONDS OUT [PAYMENT_SHARE]

Until SECONDS have passed it sends, one at a time, transfers between two random accounts of
ACCOUNTS_JSON (a list of public ids) and, one time in twenty (PAYMENT_SHARE, 0.05 by default; 0
for transfers only), a payment out of one of them, each with a fresh Idempotency-Key. An answer that is not definitive (a connection error, a timeout,
any 5xx, a 409 "in progress", a 429) is retried with the SAME key and body until it is, up to
450 times 0.2 s apart: that is what a careful client does, and what the checker relies on to say "every request
was applied exactly once". Now and then a request that already succeeded is sent again with
its key, and the replay must give the same transaction. One JSON line per request goes to OUT.
"""

from __future__ import annotations

import http.client
import json
import random
import sys
import time
import urllib.error
import urllib.request
import uuid
from decimal import Decimal
from typing import Any

RETRY_ATTEMPTS = 450  # 0.2 s apart: at least 90 s of retrying (counted in attempts, not clock time)
DEFINITIVE = {200, 201, 202, 400, 403, 404, 422}


def call(base: str, token: str, path: str, body: dict[str, Any], key: str) -> tuple[int, Any]:
    request = urllib.request.Request(
        base + path,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}", "Idempotency-Key": key},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        raw = error.read()
        try:
            return error.code, json.loads(raw or b"null")
        except ValueError:
            return error.code, None


def send(base: str, token: str, path: str, body: dict[str, Any], key: str) -> dict[str, Any]:
    """Send until the answer is definitive; what happened on the way is recorded."""
    started = time.monotonic()
    errors: list[str] = []
    while True:
        try:
            status, answer = call(base, token, path, body, key)
        except (OSError, ValueError, http.client.HTTPException) as exc:  # refused, reset, timed out, cut off
            status, answer = 0, None
            errors.append(type(exc).__name__)
        else:
            if status in DEFINITIVE:
                return {"status": status, "answer": answer, "errors": errors, "seconds": time.monotonic() - started}
            errors.append(str(status) + (f":{answer.get('code')}" if isinstance(answer, dict) else ""))
        if len(errors) >= RETRY_ATTEMPTS:
            return {"status": status, "answer": answer, "errors": errors, "gave_up": True}
        time.sleep(0.2)


def main() -> None:
    base, token, accounts_json, seed, seconds, out = sys.argv[1:7]
    payment_share = float(sys.argv[7]) if len(sys.argv) > 7 else 1 / 20
    accounts: list[str] = json.loads(accounts_json)
    rng = random.Random(int(seed))
    deadline = time.monotonic() + float(seconds)
    with open(out, "w", encoding="utf-8") as log:
        while time.monotonic() < deadline:
            key = str(uuid.uuid4())
            amount = str((Decimal(rng.randint(1, 500)) / 100).quantize(Decimal("0.01")))
            if rng.random() < payment_share:  # 1/20: what one solo worker settles within the wait (docs/reliability.md)
                source = rng.choice(accounts)
                path = "/api/v1/payments/"
                body: dict[str, Any] = {
                    "from_account": source,
                    "amount": amount,
                    "currency": "CNY",
                    "beneficiary": {
                        "name": "Li Wei",
                        "account_number": "6222020200112233",
                        "bank_code": "ICBKCNBJ",
                        "country": "CN",
                    },
                    "reference": key,
                }
                record = {"op": "payment", "key": key, "from": source, "amount": amount}
            else:
                source, target = rng.sample(accounts, 2)
                path = "/api/v1/transfers/"
                body = {
                    "from_account": source,
                    "to_account": target,
                    "amount": amount,
                    "currency": "CNY",
                    "reference": key,
                }
                record = {"op": "transfer", "key": key, "from": source, "to": target, "amount": amount}
            result = send(base, token, path, body, key)
            record.update(status=result["status"], errors=result["errors"], gave_up=result.get("gave_up", False))
            answer = result["answer"]
            record["id"] = answer.get("id") if isinstance(answer, dict) and result["status"] in {201, 202} else None
            if isinstance(answer, dict) and result["status"] >= 400:
                record["code"] = answer.get("code")
            if record["id"] and rng.random() < 0.1:  # the same request again: a replay, nothing new
                again = send(base, token, path, body, key)
                replayed = again["answer"].get("id") if isinstance(again["answer"], dict) else None
                record["replay"] = {"status": again["status"], "same": replayed == record["id"]}
            log.write(json.dumps(record) + "\n")
            log.flush()


if __name__ == "__main__":
    main()
