"""Django's PostgreSQL backend, with a connection health check that needs no round trip.

With persistent connections (`CONN_MAX_AGE`) and `CONN_HEALTH_CHECKS`, Django checks a reused
connection at the start of every request with `SELECT 1`: a round trip on every API call, one
in six of a transfer's (bench/README.md). A connection the server ended (a restart, an
administrator's `pg_terminate_backend`, an idle timeout) has something waiting on its socket: the
server's FATAL message and the end of the stream. So: nothing to read on an idle connection in a
good state means it is usable; anything to read (or a bad state) and the check falls back to
Django's `SELECT 1`. A peer that vanished without a word is caught by neither check: the request
fails (503 service_unavailable) and Django drops the connection at its end.
"""

from __future__ import annotations

import select

from django.db.backends.postgresql import base
from psycopg import pq


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self) -> bool:
        conn = self.connection
        if conn is None or conn.closed or conn.broken:
            return False
        pgconn = conn.pgconn
        idle = pgconn.transaction_status == pq.TransactionStatus.IDLE
        if pgconn.status == pq.ConnStatus.OK and idle:
            waiting = select.poll()  # poll, not select: no FD_SETSIZE limit on the descriptor
            waiting.register(pgconn.socket, select.POLLIN | select.POLLERR | select.POLLHUP)
            if not waiting.poll(0):
                return True
        return bool(super().is_usable())
