"""Small per-process caches with a time to live (``TRACE_PUBLIC_CACHE_SECONDS``, default
5; 0 switches them all off).

Consumer lookups are read-mostly and bursty (a shopper reloads, a lot QR is printed on many
packs, a code is shared), so for the cache period a server process keeps: the facts of a
page (product, maker, licences, lot, sellers, journey, integrity badge) and their rendered
HTML/JSON per language; the businesses and logistics points many pages share; the newest
checkpoint; and each unit's checks summary. What makes the page differ between visitors
(the check count, the signals, the visitor's own signed token) is part of the cache key or
put in afterwards, and a visitor's own check is always counted before the page is built.
A recall, a new step or another process's checks show after at most the TTL.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict

MAX_ENTRIES = 10_000


class TTLCache:
    def __init__(self, seconds: float, max_entries: int = MAX_ENTRIES):
        self.seconds = seconds
        self.max_entries = max_entries
        self._data: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get_or_make(self, key, make):
        if self.seconds <= 0:
            return make()
        now = time.monotonic()
        with self._lock:
            hit = self._data.get(key)
            if hit is not None and hit[0] > now:
                self._data.move_to_end(key)
                return hit[1]
        value = make()
        with self._lock:
            self._data[key] = (now + self.seconds, value)
            self._data.move_to_end(key)
            while len(self._data) > self.max_entries:
                self._data.popitem(last=False)
        return value

    def get(self, key, default=None):
        if self.seconds <= 0:
            return default
        with self._lock:
            hit = self._data.get(key)
        if hit is None or hit[0] <= time.monotonic():
            return default
        return hit[1]

    def put(self, key, value) -> None:
        if self.seconds <= 0:
            return
        with self._lock:
            self._data[key] = (time.monotonic() + self.seconds, value)
            self._data.move_to_end(key)
            while len(self._data) > self.max_entries:
                self._data.popitem(last=False)

    def drop(self, predicate) -> None:
        """Forget the entries whose key matches ``predicate`` (a change made here)."""
        with self._lock:
            for key in [k for k in self._data if predicate(k)]:
                del self._data[key]

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
