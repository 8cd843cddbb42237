"""A throw-away PostgreSQL cluster of one test's own, which the test may stop, crash and restart.

The server on 5432 is shared (other test runs, other programs): restarting it is not ours to do.
This cluster lives in a temporary directory on a free port, with trust authentication and
fsync off (it dies with the test; a crash of the postgres processes, not of the machine, loses
nothing that was committed, as the kernel still holds the writes; synchronous_commit stays on). initdb and postgres refuse to
run as root, so when the tests run as root the server programs run as the `postgres` OS user
(`runuser`); the client programs (pg_dump, psql) run as we do.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.processes import free_port


def server_bin() -> Path | None:
    """The directory of initdb, pg_ctl and postgres: pg_config's, else Debian's newest."""
    with contextlib.suppress(OSError, subprocess.CalledProcessError):
        found = Path(
            subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=True).stdout.strip()
        )
        if (found / "initdb").exists():
            return found
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    return versions[-1].parent if versions else None


def _as_server_user() -> list[str] | None:
    """The prefix that runs a server program as a non-root user; None when there is no way."""
    if os.geteuid() != 0:
        return []
    if shutil.which("runuser") is None:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        return None
    return ["runuser", "-u", "postgres", "--"]


def unavailable_reason() -> str | None:
    """Why a private cluster cannot be made here, or None when it can."""
    if server_bin() is None:
        return "needs the PostgreSQL server programs (initdb, pg_ctl): apt-get install postgresql"
    if _as_server_user() is None:
        return "runs as root, and initdb refuses root: needs runuser and a `postgres` OS user"
    for program in ("pg_dump", "psql"):
        if shutil.which(program) is None:
            return f"needs {program} on PATH (postgresql-client) to fill the private cluster"
    return None


class PrivateCluster:
    """initdb'd on creation; `start`, `stop`, `restart` as an operator would; `destroy` removes
    it whatever state it is in."""

    def __init__(self) -> None:
        bindir, prefix = server_bin(), _as_server_user()
        assert bindir is not None, unavailable_reason()
        assert prefix is not None, unavailable_reason()
        self.bin = bindir
        self.prefix = prefix
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="finsys-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        if prefix:
            user = pwd.getpwnam("postgres")
            os.chown(self.root, user.pw_uid, user.pw_gid)
        self._server("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")

    def url(self, database: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def _server(self, program: str, *args: str) -> str:
        done = subprocess.run(
            [*self.prefix, str(self.bin / program), *args], capture_output=True, text=True, timeout=120, check=False
        )
        assert done.returncode == 0, f"{program} {' '.join(args)}: {done.stdout}{done.stderr}{self.server_log()}"
        return done.stdout

    def server_log(self, tail: int = 3000) -> str:
        with contextlib.suppress(OSError):
            return self.log.read_text(errors="replace")[-tail:]
        return ""

    def start(self) -> None:
        # fsync off only: a commit still waits for its WAL to reach the kernel, so a crash of
        # the server keeps it. (With synchronous_commit off, this test's crash lost acknowledged
        # transfers, as PostgreSQL documents: the checker caught them.)
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=60"
        self._server("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", "60", "start")

    def stop(self, mode: str) -> None:
        """`immediate` is a crash (no checkpoint; recovery replays the WAL at start); `fast`
        aborts open transactions and disconnects everybody, then shuts down cleanly."""
        self._server("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def restart(self, mode: str) -> None:
        """Stop (`mode`) and start again with the same options."""
        self._server("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-m", mode, "-w", "-t", "60", "restart")

    def fill_from(self, source_url: str, database: str) -> None:
        """`pg_dump source | psql` into a new `database` here: far cheaper than migrating."""
        self.psql(self.url(), f'CREATE DATABASE "{database}"')
        dump = subprocess.Popen(["pg_dump", "--no-owner", "--no-privileges", source_url], stdout=subprocess.PIPE)
        restore = subprocess.run(
            ["psql", "-q", "-X", "-v", "ON_ERROR_STOP=1", self.url(database)],
            stdin=dump.stdout,
            capture_output=True,
            text=True,
            check=False,
        )
        assert dump.stdout is not None
        dump.stdout.close()
        assert dump.wait(timeout=120) == 0, "pg_dump failed"
        assert restore.returncode == 0, restore.stderr[-3000:]

    def psql(self, url: str, sql: str) -> str:
        done = subprocess.run(
            ["psql", "-X", "-qtA", "-v", "ON_ERROR_STOP=1", url, "-c", sql], capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    def destroy(self) -> None:
        """Stop it if it runs (immediately: nothing in it is kept) and delete its directory."""
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(AssertionError, subprocess.TimeoutExpired):
                self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)
