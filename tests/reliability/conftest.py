"""Fixtures of the reliability tests: the processes they start, and a Redis of their own."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from tests.processes import Processes, RedisServer
from tests.reliability.support import REDIS_SERVER_MISSING


@pytest.fixture
def processes() -> Iterator[Processes]:
    """Every process the test starts, stopped at its end (also on failure)."""
    running = Processes()
    yield running
    running.stop()


@pytest.fixture
def own_redis(processes: Processes) -> RedisServer:
    """A redis-server on a free port, the test's own (it may kill and restart it): the shared
    Redis is never touched. Skipped, with the reason, where redis-server is not installed."""
    if shutil.which("redis-server") is None:
        pytest.skip(REDIS_SERVER_MISSING)
    redis = RedisServer(processes)
    redis.start()
    return redis
