"""The reliability report (tests/reliability/report.py): a fixture for tests to contribute to it,
and the terminal summary that prints it and writes it under var/."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import connections

from tests.processes import ROOT
from tests.reliability.report import REPORT, Section

# The worst outcome a test's phases (setup, call, teardown) reported wins.
_SEVERITY = {"passed": 0, "skipped": 1, "xfailed": 1, "xpassed": 1, "error": 2, "failed": 3}


@pytest.fixture
def reliability(request: pytest.FixtureRequest) -> Callable[[str], Section]:
    """`reliability("idempotency storm")`: this test's section of the run's report."""
    return lambda name: REPORT.section(name, request.node.nodeid)


def _outcomes(terminalreporter: Any) -> dict[str, str]:
    outcomes: dict[str, str] = {}
    for category, reports in terminalreporter.stats.items():
        if category not in _SEVERITY:
            continue
        for report in reports:
            nodeid = getattr(report, "nodeid", None)
            if nodeid and _SEVERITY[category] >= _SEVERITY.get(outcomes.get(nodeid, "passed"), 0):
                outcomes[nodeid] = category
    return outcomes


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print the reliability report, if any test of the run contributed, and write it to var/."""
    if not REPORT.sections:
        return
    outcomes = _outcomes(terminalreporter)
    written = REPORT.write(ROOT / "var", outcomes)
    terminalreporter.write_sep("-", "reliability report")
    for line in REPORT.table(outcomes):
        terminalreporter.write_line(line)
    terminalreporter.write_line(f"details: {written} and {written.with_suffix('.json')}")


@pytest.fixture
def own_connection() -> Iterator[Any]:
    """A second connection to the test database, outside the test's transaction (autocommit),
    as a web worker holds one between requests."""
    wrapper = connections.create_connection("default")
    wrapper.ensure_connection()
    yield wrapper
    wrapper.close()
