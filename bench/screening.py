"""Time to screen one name against a 20,000-entry watchlist (issue 9 target: under 50 ms).

    .venv/bin/python bench/screening.py [--entries 20000] [--queries 500] [--seed 7]

Builds a synthetic list in memory (Latin names with aliases, and Chinese names in Han
characters, which the index also keeps in pinyin), prepares the same WatchlistIndex the
screening service caches per process, then screens names one at a time: a third are listed
names with a typo or in another order, a third Chinese names, a third unlisted names. Prints a
Markdown table and writes bench/results/screening-<UTC timestamp>.json and .md. Exit 1 with
--strict when p99 is over the target. No database: this measures the matcher itself (the
service adds one small query for the lists' versions).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from apps.compliance.screening.matching import IndexedEntry, WatchlistIndex

SYLLABLES = [
    "ka",
    "ri",
    "mo",
    "han",
    "sa",
    "lei",
    "du",
    "vi",
    "na",
    "ro",
    "te",
    "al",
    "ben",
    "gar",
    "zo",
    "fi",
    "mar",
    "tin",
    "lo",
    "su",
    "pe",
    "ra",
    "jo",
    "el",
    "an",
    "ul",
    "os",
]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾萧田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏飞建国志文斌宇浩凯俊帆琳晨阳雪梅婷慧博辉"
TARGET_MS = 50.0


def latin_name(rng: random.Random) -> str:
    def word() -> str:
        return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize()

    return " ".join(word() for _ in range(rng.randint(2, 4)))


def han_name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.randint(1, 2)))


def typo(name: str, rng: random.Random) -> str:
    chars = list(name)
    spot = rng.randrange(1, len(chars) - 1)
    chars[spot] = rng.choice("aeiouy")
    return "".join(chars)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=int, default=20_000)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--cutoff", type=int, default=90)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--strict", action="store_true")
    args = parser.parse_args()
    rng = random.Random(args.seed)

    entries: list[tuple[IndexedEntry, list[str]]] = []
    for key in range(args.entries):
        if key % 5 == 0:
            name = han_name(rng)
            names = [name]
        else:
            name = latin_name(rng)
            names = [name, latin_name(rng)] if key % 3 == 0 else [name]
        entries.append((IndexedEntry(key=key, name=name, list_name="bench"), names))
    started = time.perf_counter()
    index = WatchlistIndex(entries)
    build_s = time.perf_counter() - started

    queries: list[str] = []
    for n in range(args.queries):
        listed = entries[rng.randrange(len(entries))][0].name
        if n % 3 == 0:
            words = listed.split()
            queries.append(typo(" ".join(reversed(words)), rng) if len(listed) > 3 else listed)
        elif n % 3 == 1:
            queries.append(han_name(rng))
        else:
            queries.append(latin_name(rng))
    index.search(queries[0], cutoff=args.cutoff)  # warm up
    timings: list[float] = []
    hits = 0
    for query in queries:
        t0 = time.perf_counter()
        found = index.search(query, cutoff=args.cutoff)
        timings.append((time.perf_counter() - t0) * 1000)
        hits += bool(found)
    timings.sort()
    p50 = statistics.median(timings)
    p99 = timings[min(len(timings) - 1, int(len(timings) * 0.99))]
    result = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "entries": args.entries,
        "indexed_strings": len(index),
        "queries": len(queries),
        "cutoff": args.cutoff,
        "build_seconds": round(build_s, 2),
        "p50_ms": round(p50, 2),
        "p99_ms": round(p99, 2),
        "max_ms": round(timings[-1], 2),
        "hits": hits,
        "target_p99_ms": TARGET_MS,
        "met": p99 < TARGET_MS,
    }
    table = (
        "| entries | indexed strings | queries | build s | p50 ms | p99 ms | max ms | hits | target p99 < 50 ms |\n"
        "|---:|---:|---:|---:|---:|---:|---:|---:|:---|\n"
        f"| {args.entries} | {len(index)} | {len(queries)} | {result['build_seconds']} | {result['p50_ms']} |"
        f" {result['p99_ms']} | {result['max_ms']} | {hits} | {'met' if result['met'] else '**not met**'} |\n"
    )
    print(table)
    out = Path(__file__).resolve().parent / "results"
    out.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    (out / f"screening-{stamp}.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    (out / f"screening-{stamp}.md").write_text(f"# Screening one name\n\n{table}", encoding="utf-8")
    return 1 if args.strict and not result["met"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
