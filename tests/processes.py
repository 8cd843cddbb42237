"""Real processes for tests that run the project as operators do: gunicorn and Celery workers,
pointed at the test database (pytest-django's) and a Redis of the test's choosing."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from django.db import connection

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
BIN = Path(PYTHON).parent


def process_env(**extra: str) -> dict[str, str]:
    """This environment without a forced settings module, plus `extra`. Without the browser
    tests' DJANGO_ALLOW_ASYNC_UNSAFE too (tests/browser.py): a real process must not inherit it."""
    dropped = {"DJANGO_SETTINGS_MODULE", "FINSYS_ENV", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env = {k: v for k, v in os.environ.items() if k not in dropped}
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


def _spawn(args: list[str], env: dict[str, str], log: Path | None) -> subprocess.Popen[bytes]:
    """Start `args` in the project directory, its output appended to `log` (or discarded)."""
    if log is None:
        return subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with log.open("ab") as out:
        return subprocess.Popen(args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


def start_worker(env: dict[str, str], queue: str, log: Path | None = None) -> subprocess.Popen[bytes]:
    """`celery -A finsys worker` consuming `queue`, solo pool: the task runs in this very
    process (no children), so a SIGKILL of it kills the task in the middle."""
    args = [str(BIN / "celery"), "-A", "finsys", "worker", "--pool", "solo", "--concurrency", "1", "-Q", queue]
    return _spawn([*args, "--loglevel", "WARNING"], env, log)


def start_beat(env: dict[str, str], log: Path | None = None) -> subprocess.Popen[bytes]:
    """`celery -A finsys beat` (its own process, so killing a worker leaves it alone); the
    environment's CELERY_QUEUE routes what it sends to the test's worker."""
    return _spawn([str(BIN / "celery"), "-A", "finsys", "beat", "--loglevel", "WARNING"], env, log)


def start_gunicorn(
    env: dict[str, str], port: int | None = None, log: Path | None = None
) -> tuple[subprocess.Popen[bytes], str]:
    """gunicorn with the project's config on `port` (a free one by default), its output
    appended to `log` (or a pipe); returns it once /healthz answers."""
    port = port or free_port()
    args = [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "finsys.wsgi:application"]
    bound = {**env, "GUNICORN_BIND": f"127.0.0.1:{port}"}
    if log is None:
        server = subprocess.Popen(args, cwd=ROOT, env=bound, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    else:
        server = _spawn(args, bound, log)
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            if http_call(f"{base}/healthz")[0] == 200:
                break
        except OSError:
            time.sleep(0.1)
    return server, base


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class Processes:
    """The processes of one test; stopped at the end whatever happens (newest first)."""

    def __init__(self) -> None:
        self.processes: list[subprocess.Popen[Any]] = []

    def add(self, process: subprocess.Popen[Any]) -> subprocess.Popen[Any]:
        self.processes.append(process)
        return process

    def stop(self) -> None:
        for process in reversed(self.processes):
            stop(process)


class RedisServer:
    """A redis-server of the test's own on a free port (no persistence), that the test may
    kill and start again on the same port: the shared Redis is never touched."""

    def __init__(self, processes: Processes) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.processes = processes
        self.process: subprocess.Popen[Any] | None = None

    def start(self) -> None:
        args = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.process = self.processes.add(subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_until(
            lambda: subprocess.run(["redis-cli", "-p", str(self.port), "ping"], capture_output=True).returncode == 0,
            10,
            "redis",
        )

    def kill(self) -> None:
        """SIGKILL: the broker disappears with whatever it held in memory."""
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)


def children(pid: int) -> list[int]:
    """The direct child processes of `pid` (gunicorn's workers, for a master's pid)."""
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    return [int(child) for child in found]


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


def api_client_issue(name: str = "runtime", scopes: tuple[str, ...] = ("payments:write", "accounts:read")) -> Any:
    """A bank client in the test database, its secret hashed with a hasher the web process
    (production settings) knows; `.client_id` and `.client_secret` get a token."""
    from django.test import override_settings

    from apps.api.services import api_client_create

    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.PBKDF2PasswordHasher"]):
        return api_client_create(name=name, scopes=list(scopes), customer=None)


def api_token_for(base: str, issued: Any) -> str:
    """A bearer token for the client `issued` from the token endpoint of the server at `base`."""
    status, token = http_call(
        f"{base}/api/v1/oauth/token/",
        form={"grant_type": "client_credentials", "client_id": issued.client_id, "client_secret": issued.client_secret},
    )
    assert status == 200, token
    return str(token["access_token"])


def api_token(base: str, name: str = "runtime", scopes: tuple[str, ...] = ("payments:write", "accounts:read")) -> str:
    """A bank client's bearer token from the server at `base` (which uses the test database)."""
    return api_token_for(base, api_client_issue(name, scopes))


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
