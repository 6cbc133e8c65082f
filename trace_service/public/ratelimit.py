"""Rate limits of the public routes, shared by every worker process and every server.

Limits (settings, per client address):

``TRACE_PUBLIC_PAGES_PER_MINUTE`` (default 60)   page views (HTML and JSON), report form
``TRACE_PUBLIC_REPORTS_PER_HOUR`` (default 5)    problem reports and place updates

0 switches a limit off. Each limit counts in **fixed windows** (a minute, an hour) aligned
to the clock: a client's requests in the current window are counted, and one beyond the
limit is refused with 429 and ``Retry-After`` (the seconds until the window ends). Across
a window's end a client can get up to twice the limit in a short time, never more.

A count kept in each process would let a client have the limit once per worker and per
server; the counters therefore live where every server sees them:

* **the database** (the default): ``rate_limit_counters``, one row per limit, window and
  client, incremented by one upsert (``INSERT … ON CONFLICT DO UPDATE … RETURNING``) in
  autocommit, so it counts whatever the page then answers (a 404 counts too). Rows of past
  windows are deleted by the first request of each process in a new window.
* **Redis**, when ``TRACE_REDIS_URL`` is set (``redis://host:6379/0``): one key per limit,
  window and client, created with ``SET NX EX`` (it expires with its window) and
  incremented by ``INCR`` in one ``MULTI``. ``TRACE_REDIS_PREFIX`` (default ``trace:``)
  starts every key, for a Redis shared with other services.

The client is never stored as its address: the counter is keyed by
HMAC-SHA256(key derived from ``SECRET_KEY``, limit, window, address), cut to 32 hex digits.
Every server holds the same secret, so they agree on the key; the window is part of the
hash, so a row says nothing about the same client in another window.

If the store fails (Redis unreachable, a database error) the request is let through and a
warning logged: the limiter must not take the pages down with it.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import threading
import time

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

log = logging.getLogger("trace_service.public.ratelimit")

#: Refused clients remembered per limit and process (beyond this, they are asked about).
MAX_REFUSED = 100_000


def client_key(secret: str | bytes) -> bytes:
    """The key of the client hashes, derived from the app's secret (shared by all servers)."""
    raw = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(raw, b"trace public rate limit", hashlib.sha256).digest()


class DatabaseCounters:
    """Fixed-window counters in ``rate_limit_counters`` (see module docstring).

    Every page view goes through here, so a count is one statement and one round trip: the
    upsert, in autocommit (so the row lock all requests of one client contend for is held
    for one statement only). On PostgreSQL the statement's own transaction does not wait for
    the WAL flush: ``set_config('synchronous_commit', 'off', true)`` in the statement is
    local to it, the app's other transactions stay durable. On SQLite it is a short write
    transaction (the engine begins transactions itself, ``db._configure_sqlite``)."""

    UPSERT = {
        "postgresql": text(
            "WITH async AS (SELECT set_config('synchronous_commit', 'off', true)) "
            "INSERT INTO rate_limit_counters (bucket, window_start, client_hash, hits) "
            "SELECT :bucket, :window_start, :client_hash, 1 FROM async "
            "ON CONFLICT (bucket, window_start, client_hash) "
            "DO UPDATE SET hits = rate_limit_counters.hits + 1 RETURNING hits"),
        "sqlite": text(
            "INSERT INTO rate_limit_counters (bucket, window_start, client_hash, hits) "
            "VALUES (:bucket, :window_start, :client_hash, 1) "
            "ON CONFLICT (bucket, window_start, client_hash) "
            "DO UPDATE SET hits = rate_limit_counters.hits + 1 RETURNING hits"),
    }
    SWEEP = text("DELETE FROM rate_limit_counters "
                 "WHERE bucket = :bucket AND window_start < :window_start")

    def __init__(self, database):
        self.database = database
        self._swept: dict[str, int] = {}  # limit -> the window whose predecessors are gone
        self._lock = threading.Lock()

    def hit(self, limit: str, window_start: int, client: str, seconds: int) -> int:
        """Count one request; the client's count in this window, this one included."""
        with self._lock:
            sweep = self._swept.get(limit) != window_start
            self._swept[limit] = window_start
        params = {"bucket": limit, "window_start": window_start, "client_hash": client}
        if self.database.dialect == "postgresql":
            connection = self.database.engine.connect().execution_options(
                isolation_level="AUTOCOMMIT")
        else:
            connection = self.database.engine.begin()
        with connection as conn:
            if sweep:
                conn.execute(self.SWEEP, params)
            return conn.execute(self.UPSERT[self.database.dialect], params).scalar_one()


class RedisCounters:
    """Fixed-window counters in Redis (see module docstring)."""

    def __init__(self, url: str, prefix: str = "trace:"):
        import redis

        self.errors = (redis.RedisError, OSError)
        # Short timeouts: a Redis that does not answer must not hold a page for long.
        self.client = redis.Redis.from_url(url, socket_timeout=0.5,
                                           socket_connect_timeout=0.5)
        self.prefix = prefix

    def key(self, limit: str, window_start: int, client: str) -> str:
        return f"{self.prefix}ratelimit:{limit}:{window_start}:{client}"

    def hit(self, limit: str, window_start: int, client: str, seconds: int) -> int:
        key = self.key(limit, window_start, client)
        pipe = self.client.pipeline(transaction=True)
        pipe.set(key, 0, ex=seconds, nx=True)
        pipe.incr(key)
        _created, hits = pipe.execute()
        return int(hits)


class Limit:
    """At most ``rate`` requests per client in each window of ``seconds`` (0: no limit)."""

    def __init__(self, name: str, rate: int, seconds: int, counters, key: bytes):
        self.name = name
        self.rate = rate
        self.seconds = seconds
        self.counters = counters
        self._key = key
        self._errors = getattr(counters, "errors", ()) + (SQLAlchemyError,)
        # Clients this process saw refused in the current window: counts only grow within a
        # window, so they are refused again without asking the counters (a client that
        # hammers costs one dict lookup a request). Forgotten when the window ends.
        self._refused: set[str] = set()
        self._refused_window: int | None = None
        self._lock = threading.Lock()

    def take(self, client: str, now: float | None = None) -> float:
        """Count one request of ``client``: 0.0 if allowed, else the seconds to wait."""
        if not self.rate:
            return 0.0
        now = time.time() if now is None else now
        start = int(now // self.seconds) * self.seconds
        digest = hmac.new(self._key, f"{self.name}\n{start}\n{client}".encode(),
                          hashlib.sha256).hexdigest()[:32]
        wait = max(start + self.seconds - now, 0.001)
        with self._lock:
            if self._refused_window != start:
                self._refused, self._refused_window = set(), start
            if digest in self._refused:
                return wait
        try:
            hits = self.counters.hit(self.name, start, digest, self.seconds)
        except self._errors:
            log.warning("rate limit %s: the counters cannot be reached; request let through",
                        self.name, exc_info=True)
            return 0.0
        if hits <= self.rate:
            return 0.0
        with self._lock:
            if self._refused_window == start and len(self._refused) < MAX_REFUSED:
                self._refused.add(digest)
        return wait


def retry_after(seconds: float) -> int:
    return max(1, math.ceil(seconds))
