"""One report for a reliability run: what each fault-injection test and the schema fuzz test did.

Issue 9 asks the run to say how many requests were sent, which faults were injected, how many
bad inputs were tried, which invariant checks passed and what was lost (must be zero). Each
test contributes a `Section` while it runs; `pytest_terminal_summary` (tests/conftest.py)
prints them as one table and writes var/reliability-report.json and .md.

Numbers are counted, never declared: a request counts when a client logged it, a fault when it
was injected, a check only when the assertions inside `Section.check` ran without failing, and
"lost" is computed from the ledger before the test asserts it is zero. A test that fails leaves
its section with the checks that passed before the failure and the one that failed.

The collector lives in this process: under pytest-xdist each worker would hold its own (the
suite does not use xdist).
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Section:
    """What one reliability test (or the fuzz test, over all its operations) did."""

    name: str
    requests: int = 0
    bad_inputs: int = 0
    faults: list[str] = field(default_factory=list)
    checks: dict[str, bool] = field(default_factory=dict)
    lost: int | None = None
    operations: set[str] = field(default_factory=set)
    nodeids: set[str] = field(default_factory=set)
    seconds: float = 0.0
    details: dict[str, Any] = field(default_factory=dict)

    @contextlib.contextmanager
    def check(self, name: str) -> Iterator[None]:
        """Counts `name` as passed only if the block's assertions all hold (every time, for a
        check run once per generated case: one failure marks it failed)."""
        try:
            yield
        except BaseException:
            self.checks[name] = False
            raise
        self.checks.setdefault(name, True)

    @property
    def checks_passed(self) -> list[str]:
        return [name for name, ok in self.checks.items() if ok]

    @property
    def checks_failed(self) -> list[str]:
        return [name for name, ok in self.checks.items() if not ok]

    @contextlib.contextmanager
    def timed(self) -> Iterator[None]:
        started = time.monotonic()
        try:
            yield
        finally:
            self.seconds += time.monotonic() - started

    def as_dict(self, outcome: str) -> dict[str, Any]:
        return {
            "name": self.name,
            "outcome": outcome,
            "requests": self.requests,
            "bad_inputs": self.bad_inputs,
            "operations": len(self.operations),
            "faults": self.faults,
            "checks_passed": self.checks_passed,
            "checks_failed": self.checks_failed,
            "lost": self.lost,
            "seconds": round(self.seconds, 1),
            "details": self.details,
        }


class Report:
    """The sections of this pytest session, in the order the tests started."""

    def __init__(self) -> None:
        self.sections: dict[str, Section] = {}

    def section(self, name: str, nodeid: str) -> Section:
        section = self.sections.setdefault(name, Section(name))
        section.nodeids.add(nodeid)
        return section

    def outcome(self, section: Section, outcomes: dict[str, str]) -> str:
        """passed, failed or skipped over every test of the section (the worst one wins)."""
        seen = {outcomes.get(nodeid, "not run") for nodeid in section.nodeids}
        for worst in ("failed", "error", "not run", "skipped"):
            if worst in seen:
                return worst
        return "passed"

    def rows(self, outcomes: dict[str, str]) -> list[dict[str, Any]]:
        return [section.as_dict(self.outcome(section, outcomes)) for section in self.sections.values()]

    def table(self, outcomes: dict[str, str]) -> list[str]:
        """A short fixed-width table for the terminal summary."""
        header = ("test", "result", "requests", "faults", "bad inputs", "checks passed", "lost", "seconds")
        lines = [header]
        for row in self.rows(outcomes):
            checks = len(row["checks_passed"])
            total = checks + len(row["checks_failed"])
            lines.append(
                (
                    row["name"],
                    row["outcome"],
                    str(row["requests"]),
                    str(len(row["faults"])),
                    f"{row['bad_inputs']} ({row['operations']} operations)" if row["operations"] else "-",
                    f"{checks}/{total}" if total else "-",
                    "-" if row["lost"] is None else str(row["lost"]),
                    str(row["seconds"]),
                )
            )
        widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
        return ["  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)) for line in lines]

    def markdown(self, outcomes: dict[str, str]) -> str:
        rows = self.rows(outcomes)
        out = [
            "# Reliability report",
            "",
            "| test | result | requests | faults | bad inputs (operations) | checks passed | lost | seconds |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for row in rows:
            checks = f"{len(row['checks_passed'])}/{len(row['checks_passed']) + len(row['checks_failed'])}"
            bad = f"{row['bad_inputs']} ({row['operations']})" if row["operations"] else "-"
            lost = "-" if row["lost"] is None else str(row["lost"])
            out.append(
                f"| {row['name']} | {row['outcome']} | {row['requests']} | {len(row['faults'])} | {bad}"
                f" | {checks} | {lost} | {row['seconds']} |"
            )
        for row in rows:
            out += ["", f"## {row['name']} ({row['outcome']})", ""]
            out += [f"- fault: {fault}" for fault in row["faults"]]
            out += [f"- check passed: {check}" for check in row["checks_passed"]]
            out += [f"- check FAILED: {check}" for check in row["checks_failed"]]
            out += [f"- {key}: {json.dumps(value)}" for key, value in row["details"].items()]
        return "\n".join(out) + "\n"

    def write(self, directory: Path, outcomes: dict[str, str]) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "reliability-report.json").write_text(json.dumps(self.rows(outcomes), indent=2) + "\n")
        markdown = directory / "reliability-report.md"
        markdown.write_text(self.markdown(outcomes))
        return markdown


REPORT = Report()
