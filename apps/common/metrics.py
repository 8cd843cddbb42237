"""Business metrics for Prometheus (exposed by apps.ops at /metrics, next to django-prometheus's).

Counters and histograms are incremented in-process where the event happens (no database work);
values that live elsewhere (queue depth, outbox backlog, heartbeat age) are gauges computed when
Prometheus scrapes, from providers registered with `register_scrape_gauge`.

Under gunicorn with several workers, `gunicorn.conf.py` turns on prometheus_client's
multiprocess mode (PROMETHEUS_MULTIPROC_DIR), so a scrape sums every worker's counters.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from prometheus_client import Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

logger = logging.getLogger(__name__)

TRANSACTIONS = Counter(
    "finsys_transactions",
    "Ledger movements by kind and outcome: posted (counted at commit) or refused by a business rule.",
    ["kind", "status"],
)
TRANSACTION_REFUSALS = Counter(
    "finsys_transaction_refusals",
    "Refused ledger movements by kind and error code.",
    ["kind", "code"],
)
MOVEMENT_SECONDS = Histogram(
    "finsys_movement_duration_seconds",
    "Time the ledger service took to check and post a movement (deposit, withdrawal, transfer, ...).",
    ["kind"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
PAYMENT_SETTLEMENT_SECONDS = Histogram(
    "finsys_payment_settlement_seconds",
    "Time from an external payment's receipt to its final state; the payments service observes it.",
    ["outcome"],
    buckets=(0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0, 14400.0, 86400.0),
)
LOGIN_FAILURES = Counter(
    "finsys_login_failures",
    "Failed logins: staff (Django login) and api (OAuth2 token endpoint refusals).",
    ["channel"],
)

EOD_CLOSES = Counter(
    "finsys_eod_closes",
    "End-of-day closes by outcome: closed, already_closed or failed (apps.eod).",
    ["outcome"],
)
EOD_STEP_SECONDS = Histogram(
    "finsys_eod_step_duration_seconds",
    "Time one end-of-day step took (snapshot, interest, fees, dormancy, ledger check).",
    ["step"],
    buckets=(0.01, 0.1, 0.5, 1.0, 5.0, 15.0, 30.0, 60.0, 300.0, 900.0),
)
LEDGER_CHECK_FAILURES = Counter(
    "finsys_ledger_check_failures",
    "Ledger checks at day close that found unbalanced entries or wrong cached balances.",
)

HTTP_REQUEST_SECONDS = Histogram(
    "finsys_http_request_duration_seconds",
    "Time to answer an HTTP request, by the route's view name.",
    ["view"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
HTTP_RESPONSES = Counter("finsys_http_responses", "HTTP responses by method and status code.", ["method", "status"])


@functools.cache
def _posted_children(kind: str) -> tuple[Any, Any]:
    """The labelled series of one kind, looked up once (the transfer hot path calls this)."""
    return MOVEMENT_SECONDS.labels(kind), TRANSACTIONS.labels(kind, "posted")


def movement_posted(kind: str, seconds: float) -> None:
    """A movement was written: time it now, count it when (and if) its transaction commits."""
    duration, posted = _posted_children(kind)
    duration.observe(seconds)
    transaction.on_commit(posted.inc)


def movement_refused(kind: str, code: str) -> None:
    TRANSACTIONS.labels(kind, "refused").inc()
    TRANSACTION_REFUSALS.labels(kind, code).inc()


@dataclass(frozen=True)
class ScrapeGauge:
    name: str
    documentation: str
    read: Callable[[], float | dict[tuple[str, ...], float] | None]
    labels: tuple[str, ...] = ()


_scrape_gauges: dict[str, ScrapeGauge] = {}


def register_scrape_gauge(
    name: str,
    documentation: str,
    read: Callable[[], float | dict[tuple[str, ...], float] | None],
    labels: tuple[str, ...] = (),
) -> None:
    """Add a gauge computed at scrape time. `read` returns a number, {label values: number} when
    `labels` are given, or None when there is nothing to report (e.g. the table does not exist
    yet). apps/ops/metrics.py registers the operational ones (queue depth, outbox backlog...)."""
    _scrape_gauges[name] = ScrapeGauge(name, documentation, read, labels)


class ScrapeTimeCollector(Collector):
    """Reads every registered gauge; one that fails is left out of this scrape, never a 500."""

    def describe(self) -> list[GaugeMetricFamily]:
        return []  # registering must not read the sources (no database at import time)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        for gauge in list(_scrape_gauges.values()):
            try:
                value = gauge.read()
            except Exception as exc:  # noqa: BLE001 - a broken source must not break the scrape
                logger.warning("metric %s not collected: %s", gauge.name, type(exc).__name__)
                continue
            if value is None:
                continue
            family = GaugeMetricFamily(gauge.name, gauge.documentation, labels=list(gauge.labels))
            if isinstance(value, dict):
                for label_values, number in value.items():
                    family.add_metric(list(label_values), number)
            else:
                family.add_metric([], value)
            yield family
