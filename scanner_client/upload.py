"""Upload the queue in batches, with retries; how each server reply is handled.

A batch is ``min(server max_batch, --batch-size)`` of the oldest queued scans.  Each
reply (or failure to get one) is classified by :func:`classify`:

=============================================  =========  ===============================
reply                                          action     what happens
=============================================  =========  ===============================
200 with one receipt per scan                  SETTLE     accepted/duplicate: removed;
                                                          rejected: dead-letter list, with
                                                          the server's code and message
422 ``batch_too_large``                        SHRINK     batch size := ``details.max_batch``
                                                          (or half), send again
400, 413, other 422 (the whole batch refused)  SPLIT      send each half on its own; a single
                                                          scan refused alone goes to the
                                                          dead-letter list with the reason
401, 403                                       AUTH       stop, queue intact, AUTH_ERROR
408, 409, 425, 429, 5xx, timeout, connection   RETRY      wait (backoff), send the SAME batch
error, reset, truncated response                          again; queue intact (507
                                                          ``storage_full``, 503
                                                          ``storage_read_only``,
                                                          ``database_busy``,
                                                          ``database_unavailable``: the
                                                          message says which)
404, 405, 415, other statuses, a 200 that is   FATAL      stop, queue intact, PROTOCOL_ERROR
not a receipt list
=============================================  =========  ===============================

Retries wait with exponential backoff and full jitter: before the n-th consecutive retry,
``uniform(0, min(cap, base * 2**(n-1)))`` seconds (base 0.5 s, cap 30 s by default),
but at least the server's ``Retry-After`` (capped too).  A success resets the count.
Giving up: after ``max_attempts`` consecutive failed attempts (0: no limit) or when the
``deadline`` (seconds from the start) has passed -> SERVER_UNREACHABLE, queue intact.
The deadline only stops *retrying*: an upload that keeps succeeding is not cut off.

Nothing is lost or counted twice whatever dies when: a scan leaves the queue only in
the transaction that applies its receipt, and a batch sent again (after a timeout, a
kill, a lost response) is answered by the server from what it stored the first time.
"""

from __future__ import annotations

import random
import sys
import threading
import time
from dataclasses import dataclass, field

from scanner_client import exitcodes
from scanner_client.api import Api, Reply, TransportError
from scanner_client.queue import Queue, Scan

SETTLE, SHRINK, SPLIT, AUTH, RETRY, FATAL = "settle", "shrink", "split", "auth", "retry", "fatal"
DONE, UNREACHABLE, PROTOCOL, STOPPED = "done", "unreachable", "protocol", "stopped"
_RETRY_STATUSES = {408, 409, 425, 429}


#: The server's codes for failures of its storage or database (all retried: the scans stay
#: queued), in the words the operator of the scanner needs: waiting helps only for some.
SERVER_TROUBLE = {
    "storage_full": "the server's disk is full (its operator must free space)",
    "storage_read_only": "the server's storage is read-only (its operator must fix it)",
    "database_busy": "the server's database is busy (a lock wait timed out)",
    "database_unavailable": "the server cannot reach its database",
}


def explain(reply: Reply) -> str:
    """``reply.describe()``, led by what a storage or database failure means."""
    trouble = SERVER_TROUBLE.get(reply.code or "")
    text = reply.describe()
    return f"{trouble}; the scans stay queued ({text})" if trouble else text


def classify(reply: Reply | None) -> str:
    """The action for a reply to a batch upload (None: no complete response)."""
    if reply is None:
        return RETRY
    s = reply.status
    if s == 200:
        return SETTLE
    if s in (401, 403):
        return AUTH
    if s in _RETRY_STATUSES or s >= 500:
        return RETRY
    if s == 422 and reply.code == "batch_too_large":
        return SHRINK
    if s in (400, 413, 422):
        return SPLIT
    return FATAL


@dataclass
class Backoff:
    """Exponential backoff with full jitter."""

    base: float = 0.5
    cap: float = 30.0
    rng: random.Random = field(default_factory=random.Random)

    def delay(self, failures: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number ``failures`` (1, 2, ...)."""
        wait = self.rng.uniform(0, min(self.cap, self.base * 2 ** max(0, failures - 1)))
        if retry_after:
            wait = max(wait, min(retry_after, self.cap))
        return wait


class Stop(Exception):
    """Stop uploading: ``outcome`` is UNREACHABLE, AUTH, PROTOCOL or STOPPED."""

    def __init__(self, outcome: str, message: str):
        super().__init__(message)
        self.outcome, self.message = outcome, message


class Retrier:
    """Calls a function until its reply is not RETRY, or gives up (raises :class:`Stop`)."""

    def __init__(self, backoff: Backoff, *, deadline: float | None = None,
                 max_attempts: int = 0, stop: threading.Event | None = None, notice=None):
        self.backoff, self.max_attempts = backoff, max_attempts
        self.deadline_at = None if deadline is None else time.monotonic() + deadline
        self.stop = stop or threading.Event()
        self.notice = notice or (lambda text: None)
        self.failures = 0
        self.retries = 0

    def call(self, fn) -> Reply:
        while True:
            if self.stop.is_set():
                raise Stop(STOPPED, "stopped")
            try:
                reply, reason = fn(), None
            except TransportError as exc:
                reply, reason = None, str(exc)
            action = classify(reply)
            if action == AUTH:
                raise Stop(AUTH, f"the server refused the device key ({reply.describe()})")
            if action != RETRY:
                self.failures = 0
                return reply
            self.failures += 1
            reason = reason or explain(reply)
            if self.max_attempts and self.failures >= self.max_attempts:
                raise Stop(UNREACHABLE, reason if self.max_attempts == 1 else
                           f"gave up after {self.failures} attempts: {reason}")
            wait = self.backoff.delay(self.failures, reply.retry_after if reply else None)
            if self.deadline_at is not None:
                left = self.deadline_at - time.monotonic()
                if left <= 0:
                    raise Stop(UNREACHABLE, f"deadline passed; last error: {reason}")
                wait = min(wait, left)
            self.retries += 1
            self.notice(f"{reason}; retrying in {wait:.1f} s")
            if self.stop.wait(wait):
                raise Stop(STOPPED, "stopped")


class Progress:
    """A one-line text bar on stderr: ``upload [#####.....] 120/300 ...``."""

    def __init__(self, total: int, enabled: bool, stream=None):
        self.total, self.enabled = max(total, 1), enabled
        self.stream = stream or sys.stderr
        self.last = 0.0

    def update(self, done: int, text: str, force: bool = False) -> None:
        now = time.monotonic()
        if not self.enabled or (not force and now - self.last < 0.1):
            return
        self.last = now
        filled = min(30, 30 * done // self.total)
        self.stream.write(f"\rupload [{'#' * filled}{'.' * (30 - filled)}] "
                          f"{done}/{self.total}  {text}\x1b[K")
        self.stream.flush()

    def finish(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()


@dataclass
class Result:
    """What an upload run did."""

    outcome: str = DONE
    message: str | None = None
    accepted: int = 0
    duplicate: int = 0
    rejected: int = 0
    pending: int = 0
    retries: int = 0
    rejections: list = field(default_factory=list)
    warnings: list = field(default_factory=list)

    @property
    def sent(self) -> int:
        return self.accepted + self.duplicate + self.rejected

    @property
    def exit_code(self) -> int:
        return {
            AUTH: exitcodes.AUTH_ERROR, UNREACHABLE: exitcodes.SERVER_UNREACHABLE,
            PROTOCOL: exitcodes.PROTOCOL_ERROR, STOPPED: exitcodes.INTERRUPTED,
        }.get(self.outcome, exitcodes.SCANS_REJECTED if self.rejected else exitcodes.OK)

    def summary(self) -> str:
        return (f"{self.sent} sent: {self.accepted} accepted, {self.duplicate} duplicate, "
                f"{self.rejected} rejected; {self.pending} still queued")


class Uploader:
    """Drains ``queue`` to ``api`` (see the module docstring)."""

    def __init__(self, queue: Queue, api: Api, retrier: Retrier, *, batch_size: int = 200,
                 progress: Progress | None = None):
        self.queue, self.api, self.retrier = queue, api, retrier
        self.batch_size = batch_size
        self.progress = progress or Progress(0, False)
        self.result = Result()
        self.progress_marks = 0  # scans that left the queue in this run, by us or another

    def run(self) -> Result:
        r = self.result
        try:
            if self.queue.depth():
                self._limits()
            while not self.retrier.stop.is_set():
                batch = self.queue.peek(self.batch_size)
                if not batch:
                    break
                before = self.progress_marks
                self._send(batch)
                if self.progress_marks == before:
                    raise Stop(PROTOCOL, "the server's receipts settled none of the scans sent")
        except Stop as stop:
            r.outcome, r.message = stop.outcome, stop.message
        r.retries = self.retrier.retries
        r.pending = self.queue.depth()
        if r.outcome == DONE and r.pending and self.retrier.stop.is_set():
            r.outcome, r.message = STOPPED, "stopped"
        self.progress.update(r.sent, self._counts(), force=True)
        self.progress.finish()
        return r

    def _limits(self) -> None:
        reply = self.retrier.call(self.api.limits)
        if reply.status == 200 and isinstance(reply.body, dict):
            max_batch = reply.body.get("max_batch")
            if isinstance(max_batch, int) and max_batch > 0:
                self.batch_size = min(self.batch_size, max_batch)
            window = reply.body.get("duplicate_window_seconds")
            if isinstance(window, int) and window >= 0:
                self.queue.set_meta(duplicate_window_seconds=window)
        elif reply.status != 404:  # 404: an older server without limits; use ours
            raise Stop(PROTOCOL, f"unexpected answer to GET limits: {reply.describe()}")

    def _send(self, batch: list[Scan]) -> None:
        reply = self.retrier.call(lambda: self.api.post_batch([s.wire() for s in batch]))
        action = classify(reply)
        if action == SETTLE:
            self._settle(batch, reply)
        elif action == SHRINK:
            size = reply.details.get("max_batch")
            size = size if isinstance(size, int) and 0 < size < len(batch) else len(batch) // 2
            if size < 1:
                raise Stop(PROTOCOL, f"{reply.describe()} for a single scan")
            self.batch_size = size
            for i in range(0, len(batch), size):
                self._send(batch[i:i + size])
        elif action == SPLIT:
            if len(batch) == 1:
                code = reply.code or f"http_{reply.status}"
                message = reply.message or f"the server refused this scan (HTTP {reply.status})"
                if reply.details:
                    message = f"{message} {_flat(reply.details)}"
                self._apply([{"id": batch[0].id, "status": "rejected", "code": code,
                              "message": message}])
            else:
                half = len(batch) // 2
                self._send(batch[:half])
                self._send(batch[half:])
        else:
            raise Stop(PROTOCOL, f"unexpected answer to the upload: {reply.describe()}")

    def _settle(self, batch: list[Scan], reply: Reply) -> None:
        body = reply.body
        receipts = body.get("receipts") if isinstance(body, dict) else None
        if not isinstance(receipts, list) or not all(isinstance(x, dict) for x in receipts):
            raise Stop(PROTOCOL, "HTTP 200 without a receipt list")
        ids = {s.id for s in batch}
        self._apply([x for x in receipts if str(x.get("id")) in ids])

    def _apply(self, receipts: list[dict]) -> None:
        settled = self.queue.settle(receipts)
        self.progress_marks += (settled.accepted + settled.duplicate + settled.rejected
                                + settled.gone)
        r = self.result
        r.accepted += settled.accepted
        r.duplicate += settled.duplicate
        r.rejected += settled.rejected
        r.rejections += settled.rejections
        r.warnings += settled.warnings
        self.progress.update(r.sent, self._counts())

    def _counts(self) -> str:
        r = self.result
        return f"accepted {r.accepted}  duplicate {r.duplicate}  rejected {r.rejected}"


def _flat(details: dict) -> str:
    text = str(details)
    return text if len(text) <= 300 else text[:297] + "..."
