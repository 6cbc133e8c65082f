"""A small in-process token bucket per client for the public routes.

Limits (settings, per client address, per server process):

``TRACE_PUBLIC_PAGES_PER_MINUTE`` (default 60)   page views (HTML and JSON), burst of as many
``TRACE_PUBLIC_REPORTS_PER_HOUR`` (default 5)    problem reports and place updates, burst 5

0 switches a limit off. A refused request gets 429 with ``Retry-After`` (seconds until a
token is back). The buckets live in memory only, keyed by a keyed BLAKE2 hash of the client
address (the key is random per process), and are never stored or logged. With N server
processes a client can get up to N times the limit; behind a load balancer that spreads
clients evenly this is close enough, and a shared limiter belongs at the proxy.
"""

from __future__ import annotations

import hashlib
import math
import secrets
import threading
import time

#: Past this many clients, full (idle) buckets are dropped to bound memory.
MAX_CLIENTS = 50_000


class TokenBucket:
    """``rate`` tokens per ``per`` seconds, holding at most ``burst``."""

    def __init__(self, rate: int, per: float, burst: int | None = None):
        self.rate = rate
        self.per = per
        self.burst = burst or rate
        self._refill = rate / per if rate else 0.0
        self._buckets: dict[bytes, tuple[float, float]] = {}
        self._lock = threading.Lock()
        self._key = secrets.token_bytes(16)

    def take(self, client: str, now: float | None = None) -> float:
        """Take one token for ``client``: 0.0 if allowed, else the seconds to wait."""
        if not self.rate:
            return 0.0
        now = time.monotonic() if now is None else now
        ident = hashlib.blake2b(client.encode(), key=self._key, digest_size=16).digest()
        with self._lock:
            tokens, stamp = self._buckets.get(ident, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - stamp) * self._refill)
            if tokens >= 1.0:
                self._buckets[ident] = (tokens - 1.0, now)
                if len(self._buckets) > MAX_CLIENTS:
                    self._prune(now)
                return 0.0
            self._buckets[ident] = (tokens, now)
            return (1.0 - tokens) / self._refill

    def _prune(self, now: float) -> None:
        full = [k for k, (tokens, stamp) in self._buckets.items()
                if tokens + (now - stamp) * self._refill >= self.burst]
        for k in full:
            del self._buckets[k]
        if len(self._buckets) > MAX_CLIENTS:  # still too many: forget the oldest half
            oldest = sorted(self._buckets, key=lambda k: self._buckets[k][1])
            for k in oldest[: len(oldest) // 2]:
                del self._buckets[k]


def retry_after(seconds: float) -> int:
    return max(1, math.ceil(seconds))
