"""Real processes for tests that run the project as operators do: gunicorn and Celery workers,
pointed at the test database (pytest-django's) and a Redis of the test's choosing."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from django.db import connection

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
BIN = Path(PYTHON).parent


def process_env(**extra: str) -> dict[str, str]:
    """This environment without a forced settings module, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if k not in {"DJANGO_SETTINGS_MODULE", "FINSYS_ENV"}}
    env.update(extra)
    return env


def test_database_url() -> str:
    """The URL of the database pytest-django made for this run (a transactional test commits)."""
    s = connection.settings_dict
    password = f":{s['PASSWORD']}" if s.get("PASSWORD") else ""
    return f"postgres://{s['USER']}{password}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def unique_queue() -> str:
    """A queue of the test's own, so no other worker on the same Redis takes its tasks."""
    return f"test-{uuid.uuid4().hex}"


def start_worker(env: dict[str, str], queue: str) -> subprocess.Popen[bytes]:
    """`celery -A finsys worker` consuming `queue`, solo pool: the task runs in this very
    process (no children), so a SIGKILL of it kills the task in the middle."""
    args = [str(BIN / "celery"), "-A", "finsys", "worker", "--pool", "solo", "--concurrency", "1", "-Q", queue]
    return subprocess.Popen(
        [*args, "--loglevel", "WARNING"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def start_beat(env: dict[str, str]) -> subprocess.Popen[bytes]:
    """`celery -A finsys beat` (its own process, so killing a worker leaves it alone); the
    environment's CELERY_QUEUE routes what it sends to the test's worker."""
    return subprocess.Popen(
        [str(BIN / "celery"), "-A", "finsys", "beat", "--loglevel", "WARNING"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def start_gunicorn(env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    """gunicorn with the project's config on a free port; returns it once /healthz answers."""
    port = free_port()
    server = subprocess.Popen(
        [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "finsys.wsgi:application"],
        cwd=ROOT,
        env={**env, "GUNICORN_BIND": f"127.0.0.1:{port}"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            if http_call(f"{base}/healthz")[0] == 200:
                break
        except OSError:
            time.sleep(0.1)
    return server, base


def stop(process: subprocess.Popen[Any], timeout: float = 30) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=timeout)


def http_call(
    url: str, body: Any = None, *, token: str | None = None, form: dict[str, str] | None = None, key: str | None = None
) -> tuple[int, Any]:
    headers = {}
    data = None
    if form is not None:
        data = "&".join(f"{k}={v}" for k, v in form.items()).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    elif body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if key:
        headers["Idempotency-Key"] = key
    request = urllib.request.Request(url, data=data, headers=headers, method="POST" if data is not None else "GET")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


class Receiver:
    """A webhook receiver on 127.0.0.1: records what it gets, answers `status` (500 to refuse)."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                receiver.received.append((dict(self.headers.items()), self.rfile.read(length)))
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
