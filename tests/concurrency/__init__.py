"""Concurrency tests: real PostgreSQL, real threads, each thread on its own connection."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from django.db import connection
from django.test import Client

T = TypeVar("T")


def run_in_threads(workers: list[Callable[[], T]], *, timeout: float = 60) -> list[T]:
    """Start every worker at the same moment (a barrier), each in its own thread with its own
    database connection, closed at the end; return their results in order, or raise the first
    worker's exception. A worker still running after `timeout` seconds fails the test."""
    barrier = threading.Barrier(len(workers))
    results: list[Any] = [None] * len(workers)
    errors: list[BaseException] = []

    def run(index: int, work: Callable[[], T]) -> None:
        try:
            barrier.wait(timeout=timeout)
            results[index] = work()
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, work), daemon=True) for i, work in enumerate(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    stuck = [thread.name for thread in threads if thread.is_alive()]
    assert not stuck, f"threads still running after {timeout}s (a deadlock?): {stuck}"
    if errors:
        raise errors[0]
    return results


class ThreadClient:
    """One thread's HTTP client of the API, with a bearer token from the real token endpoint."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.http = Client()

    def post(self, path: str, body: Any, *, key: str | None) -> Any:
        headers = {"HTTP_AUTHORIZATION": f"Bearer {self.token}"}
        if key is not None:
            headers["HTTP_IDEMPOTENCY_KEY"] = key
        return self.http.post(path, json.dumps(body), content_type="application/json", **headers)

    def get(self, path: str) -> Any:
        return self.http.get(path, HTTP_AUTHORIZATION=f"Bearer {self.token}")
