"""The durable local queue of scans: ``$TRACE_SCAN_HOME/queue.sqlite3``.

A scan is committed here (SQLite WAL, ``synchronous=FULL``: once ``record`` returns,
the scan survives a crash or power loss) *before* the worker sees any feedback, and it
leaves only when the server's receipt for it has been settled:

* ``accepted`` / ``duplicate`` -> removed;
* ``rejected`` -> moved to the dead-letter list with the server's code and message
  (``trace-scan status --dead-letters``), never sent again;
* no receipt (crash, timeout, unknown id) -> stays, and is sent again.  The server is
  idempotent by scan id, so sending a scan twice never stores it twice.

Each scan gets a UUIDv7 (:func:`scanner_client.scans.uuid7`), the device time with its
UTC offset and a sequence number that only grows (``meta.last_seq``).

The same file keeps a day of recent scans (for the local duplicate warning), the local
copy of the block list (replaced in one transaction by ``trace-scan sync``), image files
already processed by ``scan --watch``, and bookkeeping (last upload, last sync, server
limits).  Tables are plain rowid tables with fixed column counts so that
:mod:`scanner_client.salvage` can recognise their rows in a damaged file.

A file that SQLite reports as damaged (``PRAGMA quick_check`` at open, or an error
later) raises :class:`QueueCorrupt`; nothing is changed until ``trace-scan repair``.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import sqlite3
import time
from contextlib import contextmanager
from pathlib import Path

from scanner_client.scans import Entry, Scan, Settled, local_now, uuid7

__all__ = ["Entry", "Queue", "QueueCorrupt", "QueueError", "Scan", "Settled", "uuid7"]

SCHEMA_VERSION = 1
PAGE_SIZE = 4096
RECENT_SECONDS = 86400
SALVAGED_SUFFIX = ".salvaged"
_SCAN_COLS = "seq, id, code_text, trace_key, step, staff_no, device_time, queued_at"
SCHEMA = f"""
CREATE TABLE scans (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, code_text TEXT NOT NULL,
    trace_key TEXT NOT NULL, step TEXT NOT NULL, staff_no TEXT, device_time TEXT NOT NULL,
    queued_at REAL NOT NULL);
CREATE TABLE dead_letters (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE,
    code_text TEXT NOT NULL, trace_key TEXT NOT NULL, step TEXT NOT NULL, staff_no TEXT,
    device_time TEXT NOT NULL, queued_at REAL NOT NULL, code TEXT NOT NULL,
    message TEXT NOT NULL, dead_at REAL NOT NULL);
CREATE TABLE recent (id TEXT PRIMARY KEY, trace_key TEXT NOT NULL, step TEXT NOT NULL,
    scanned_at REAL NOT NULL);
CREATE INDEX recent_by_key ON recent (trace_key, step, scanned_at);
CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT);
CREATE TABLE blocklist (key TEXT PRIMARY KEY, kind TEXT NOT NULL, reason TEXT NOT NULL,
    since TEXT);
CREATE TABLE seen_files (name TEXT PRIMARY KEY, seen_at REAL NOT NULL);
PRAGMA user_version = {SCHEMA_VERSION};
"""

class QueueError(Exception):
    """The queue cannot be used (a newer schema, an unwritable folder...)."""


class QueueCorrupt(QueueError):
    """SQLite reports the queue file as damaged; the message names the file and the fix."""

    def __init__(self, path: Path | str, detail: str):
        self.path, self.detail = Path(path), detail
        super().__init__(f"the scan queue {path} is damaged ({detail}). Nothing was changed. "
                         "Run 'trace-scan repair' to move it aside and salvage every "
                         "readable scan into a new queue.")


_CORRUPT = ("SQLITE_CORRUPT", "SQLITE_NOTADB")


def _is_corruption(exc: sqlite3.DatabaseError) -> bool:
    name = getattr(exc, "sqlite_errorname", None) or ""
    text = str(exc)
    return name.startswith(_CORRUPT) or "malformed" in text or "not a database" in text


def _guard(method):
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except sqlite3.DatabaseError as exc:
            if _is_corruption(exc):
                raise QueueCorrupt(self.path, str(exc)) from None
            raise
    return wrapper


class Queue:
    """A connection to the queue file; one per thread (``sqlite3`` connections are not shared)."""

    def __init__(self, path: Path | str, *, check: bool = True):
        self.path = Path(path)
        salvaged = self.path.with_name(self.path.name + SALVAGED_SUFFIX)
        if not self.path.exists() and salvaged.exists():
            os.replace(salvaged, self.path)  # finish a repair that was interrupted
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            raise QueueError(f"cannot create {self.path.parent}: {exc.strerror}") from None
        try:
            self.conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        except sqlite3.Error as exc:
            raise QueueError(f"cannot open the scan queue {self.path}: {exc}") from None
        try:
            self._setup(check)
        except BaseException:
            self.conn.close()
            raise

    @_guard
    def _setup(self, check: bool) -> None:
        c = self.conn
        c.execute(f"PRAGMA page_size = {PAGE_SIZE}")
        if c.execute("PRAGMA journal_mode = WAL").fetchone()[0].lower() != "wal":
            raise QueueError(f"{self.path}: the file system does not support WAL")
        c.execute("PRAGMA synchronous = FULL")
        if check:
            problems = [r[0] for r in c.execute("PRAGMA quick_check(3)")]
            if problems != ["ok"]:
                raise QueueCorrupt(self.path, "; ".join(problems))
        version = c.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise QueueError(f"{self.path} was written by a newer trace-scan "
                             f"(queue schema {version}); upgrade trace-scan")
        if version == 0:
            with self.transaction():
                if c.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
                    raise QueueCorrupt(self.path, "not a trace-scan queue")
                for statement in SCHEMA.split(";"):
                    if statement.strip():
                        c.execute(statement)
        if check:
            with self.transaction():
                c.execute("DELETE FROM recent WHERE scanned_at < ?",
                          (time.time() - RECENT_SECONDS,))

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Queue:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextmanager
    def transaction(self):
        """``BEGIN IMMEDIATE`` ... ``COMMIT`` (``ROLLBACK`` on any error); yields the connection."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    # ------------------------------------------------------------------ scanning

    @_guard
    def record(self, entries: list[Entry], *, window: float,
               seen_file: str | None = None) -> list[tuple[Scan | None, float | None]]:
        """Queue ``entries`` in one transaction; durable when this returns.

        Returns, per entry, ``(scan, None)`` when queued or ``(None, age_seconds)`` when
        the same trace key was scanned for the same step less than ``window`` seconds
        ago (not queued again).  ``seen_file`` is remembered in the same transaction.
        """
        now = time.time()
        out = []
        with self.transaction() as c:
            seq = int(self._meta(c, "last_seq") or 0)
            for e in entries:
                row = c.execute(
                    "SELECT max(scanned_at) FROM recent WHERE trace_key = ? AND step = ? "
                    "AND scanned_at >= ?", (e.trace_key, e.step, now - window)).fetchone()
                if row[0] is not None:
                    out.append((None, max(0.0, now - row[0])))
                    continue
                seq += 1
                scan = Scan(seq, str(uuid7()), e.code_text, e.trace_key, e.step, e.staff_no,
                            local_now().isoformat(timespec="milliseconds"), now)
                c.execute(f"INSERT INTO scans ({_SCAN_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                          (scan.seq, scan.id, scan.code_text, scan.trace_key, scan.step,
                           scan.staff_no, scan.device_time, scan.queued_at))
                c.execute("INSERT INTO recent VALUES (?, ?, ?, ?)",
                          (scan.id, e.trace_key, e.step, now))
                out.append((scan, None))
            c.execute("INSERT OR REPLACE INTO meta VALUES ('last_seq', ?)", (str(seq),))
            if seen_file is not None:
                c.execute("INSERT OR REPLACE INTO seen_files VALUES (?, ?)", (seen_file, now))
        return out

    @_guard
    def file_seen(self, name: str) -> bool:
        return self.conn.execute("SELECT 1 FROM seen_files WHERE name = ?",
                                 (name,)).fetchone() is not None

    @_guard
    def remember_file(self, name: str) -> None:
        with self.transaction() as c:
            c.execute("INSERT OR REPLACE INTO seen_files VALUES (?, ?)", (name, time.time()))

    # ------------------------------------------------------------------ uploading

    @_guard
    def peek(self, n: int) -> list[Scan]:
        """The ``n`` oldest queued scans, oldest first."""
        rows = self.conn.execute(f"SELECT {_SCAN_COLS} FROM scans ORDER BY seq LIMIT ?", (n,))
        return [Scan(*row) for row in rows]

    @_guard
    def settle(self, receipts: list[dict]) -> Settled:
        """Apply receipts in ONE transaction (see the module docstring); unknown ids stay."""
        out = Settled()
        now = time.time()
        with self.transaction() as c:
            for r in receipts:
                sid, status = str(r.get("id")), r.get("status")
                row = c.execute("SELECT trace_key FROM scans WHERE id = ?", (sid,)).fetchone()
                if row is None:
                    out.gone += 1
                    continue
                if status not in ("accepted", "duplicate", "rejected"):
                    out.unknown += 1
                    continue
                if status == "rejected":
                    code = str(r.get("code") or "rejected")[:100]
                    message = str(r.get("message") or "rejected by the server")[:500]
                    c.execute(f"INSERT OR REPLACE INTO dead_letters SELECT {_SCAN_COLS}, ?, ?, ? "
                              "FROM scans WHERE id = ?", (code, message, now, sid))
                    out.rejections.append((row[0], code, message))
                if r.get("warnings"):
                    out.warnings.append((row[0], list(r["warnings"])))
                c.execute("DELETE FROM scans WHERE id = ?", (sid,))
                setattr(out, status, getattr(out, status) + 1)
            if out.accepted + out.duplicate + out.rejected:
                self._set_meta(c, "last_upload", _iso(now))
        return out

    # ------------------------------------------------------------------ reading

    @_guard
    def depth(self) -> int:
        return self.conn.execute("SELECT count(*) FROM scans").fetchone()[0]

    @_guard
    def oldest(self) -> Scan | None:
        found = self.peek(1)
        return found[0] if found else None

    @_guard
    def dead_letters(self, limit: int | None = None) -> list[dict]:
        rows = self.conn.execute(
            f"SELECT {_SCAN_COLS}, code, message, dead_at FROM dead_letters ORDER BY seq "
            "LIMIT ?", (-1 if limit is None else limit,))
        names = _SCAN_COLS.split(", ") + ["code", "message", "dead_at"]
        return [dict(zip(names, row)) for row in rows]

    @_guard
    def dead_letter_count(self) -> int:
        return self.conn.execute("SELECT count(*) FROM dead_letters").fetchone()[0]

    @_guard
    def meta(self, name: str, default: str | None = None) -> str | None:
        value = self._meta(self.conn, name)
        return default if value is None else value

    @_guard
    def set_meta(self, **values: object) -> None:
        with self.transaction() as c:
            for name, value in values.items():
                self._set_meta(c, name, value)

    @staticmethod
    def _meta(c, name: str) -> str | None:
        row = c.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
        return row[0] if row else None

    @staticmethod
    def _set_meta(c, name: str, value: object) -> None:
        c.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                  (name, None if value is None else str(value)))

    # ------------------------------------------------------------------ block list

    @_guard
    def replace_blocklist(self, entries: list[tuple[str, str, str, str | None]],
                          **meta: object) -> None:
        """Replace the block list with ``(key, kind, reason, since)`` rows, atomically."""
        with self.transaction() as c:
            c.execute("DELETE FROM blocklist")
            c.executemany("INSERT OR REPLACE INTO blocklist VALUES (?, ?, ?, ?)", entries)
            for name, value in meta.items():
                self._set_meta(c, name, value)

    @_guard
    def blocked(self, keys: list[str]) -> list[tuple[str, str, str, str | None]]:
        """The block-list rows ``(key, kind, reason, since)`` among ``keys``."""
        keys = [k for k in keys if k]
        if not keys:
            return []
        marks = ", ".join("?" * len(keys))
        return list(self.conn.execute(
            f"SELECT key, kind, reason, since FROM blocklist WHERE key IN ({marks})", keys))

    @_guard
    def blocklist_size(self) -> int:
        return self.conn.execute("SELECT count(*) FROM blocklist").fetchone()[0]


def _iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc).isoformat(timespec="seconds")
