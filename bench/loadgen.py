"""A closed-loop HTTP/1.1 load generator on asyncio streams, for when wrk is not installed.

Each of --clients connections (kept alive) sends POST /api/v1/transfers/ between two random
distinct accounts with a unique Idempotency-Key, waits for the answer, and sends the next, until
--duration seconds have passed. Prints one line `WRK_JSON {...}` shaped like the summary of
bench/wrk_transfers.lua. Run in its own process by bench/transfers.py. Python costs more CPU per
request than wrk, which shares the 2 cores with the server: prefer wrk.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import random
import sys
import time
import urllib.parse


def percentile(sorted_values: list[float], pct: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, max(0, round(pct / 100 * len(sorted_values) + 0.5) - 1))
    return sorted_values[index]


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """(status, body, keep_alive) of one HTTP/1.1 response."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    if "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        chunks = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            chunk = await reader.readexactly(size + 2)
            if size == 0:
                break
            chunks.append(chunk[:-2])
        body = b"".join(chunks)
    else:
        body = await reader.read()
        return status, body, False
    return status, body, headers.get("connection", "").lower() != "close"


async def client(
    n: int, args: argparse.Namespace, accounts: list[str], deadline: float, stats: dict[str, object]
) -> None:
    url = urllib.parse.urlsplit(args.url)
    host, port = url.hostname or "127.0.0.1", url.port or 80
    rng = random.Random(n * 7919 + int(time.time()))
    latencies: list[float] = stats["latencies"]  # type: ignore[assignment]
    statuses: collections.Counter[str] = stats["statuses"]  # type: ignore[assignment]
    errors: collections.Counter[str] = stats["socket_errors"]  # type: ignore[assignment]
    reader = writer = None
    counter = 0
    while time.monotonic() < deadline:
        if writer is None:
            try:
                reader, writer = await asyncio.open_connection(host, port)
            except OSError:
                errors["connect"] += 1
                await asyncio.sleep(0.05)
                continue
        counter += 1
        a = rng.randrange(len(accounts))
        b = (a + rng.randrange(1, len(accounts))) % len(accounts)
        cents = rng.randint(1, 1000)
        body = (
            f'{{"from_account":"{accounts[a]}","to_account":"{accounts[b]}",'
            f'"amount":"{cents // 100}.{cents % 100:02d}","currency":"CNY","reference":"bench"}}'
        ).encode()
        request = (
            f"POST /api/v1/transfers/ HTTP/1.1\r\nHost: {host}:{port}\r\n"
            f"Authorization: Bearer {args.token}\r\nContent-Type: application/json\r\n"
            f"Idempotency-Key: {args.run_id}-{n}-{counter}\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode() + body
        started = time.monotonic()
        try:
            writer.write(request)
            await writer.drain()
            status, payload, keep_alive = await asyncio.wait_for(read_response(reader), timeout=10)  # type: ignore[arg-type]
        except TimeoutError:
            errors["timeout"] += 1
            writer.close()
            writer = None
            continue
        except (OSError, asyncio.IncompleteReadError, ValueError):
            errors["read"] += 1
            writer.close()
            writer = None
            continue
        latencies.append(time.monotonic() - started)
        stats["requests"] = int(stats["requests"]) + 1  # type: ignore[call-overload]
        if status == 201:
            stats["created"] = int(stats["created"]) + 1  # type: ignore[call-overload]
        else:
            statuses[str(status)] += 1
            if sum(statuses.values()) <= 3:
                print(f"non-201 response {status}: {payload[:300]!r}", file=sys.stderr)
        if not keep_alive:
            writer.close()
            writer = None
    if writer is not None:
        writer.close()


async def main_async(args: argparse.Namespace) -> dict[str, object]:
    with open(args.accounts_file) as handle:
        accounts = [line.strip() for line in handle if line.strip()]
    stats: dict[str, object] = {
        "latencies": [],
        "statuses": collections.Counter(),
        "socket_errors": collections.Counter(),
        "requests": 0,
        "created": 0,
    }
    started = time.monotonic()
    deadline = started + args.duration
    await asyncio.gather(*(client(n, args, accounts, deadline, stats) for n in range(args.clients)))
    elapsed = time.monotonic() - started
    lat = sorted(x * 1e6 for x in stats["latencies"])  # type: ignore[attr-defined]
    statuses: collections.Counter[str] = stats["statuses"]  # type: ignore[assignment]
    errors: collections.Counter[str] = stats["socket_errors"]  # type: ignore[assignment]
    return {
        "duration_us": int(elapsed * 1e6),
        "requests": stats["requests"],
        "created": stats["created"],
        "non_201": sum(statuses.values()),
        "statuses": dict(statuses),
        "socket_errors": {k: errors.get(k, 0) for k in ("connect", "read", "write", "timeout")},
        "latency_us": {
            "mean": sum(lat) / len(lat) if lat else 0.0,
            "max": lat[-1] if lat else 0,
            **{f"p{str(p).replace('.', '')}": percentile(lat, p) for p in (50, 90, 95, 99, 99.9)},
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--accounts-file", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--run-id", required=True)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--duration", type=float, default=30)
    args = parser.parse_args()
    summary = asyncio.run(main_async(args))
    print("WRK_JSON " + json.dumps(summary))


if __name__ == "__main__":
    main()
