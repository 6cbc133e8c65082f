"""Salvage the scans from a damaged queue file: what ``trace-scan repair`` does.

SQLite cannot be asked to read around damage, so this reads the file format itself
(https://www.sqlite.org/fileformat2.html): every page of the queue file and every
frame of its write-ahead log (``-wal``) is tried as a table b-tree leaf page, every cell
on it is decoded as a record, and a record is kept only if it has exactly the shape of a
row of ``scans`` or ``dead_letters`` (column count, a UUID id, a known step, an ISO
device time with offset, ...) or is the ``last_seq`` counter in ``meta``.  Pages that are
overwritten, zeroed or cut off by truncation are skipped; every other row is found,
whatever happened to the header, the schema or the b-tree interior pages.

Salvage errs on the side of keeping: an old copy of a page (in the log, or a freed page)
can bring back a scan that had already been acknowledged.  That is harmless: the server
is idempotent by scan id, answers a re-sent scan with the receipt it stored the first
time, and counts it once.  A scan found both queued and dead-lettered stays a dead
letter.  Rows longer than one page (never written by trace-scan) are not salvaged.

:func:`repair` builds the new queue in ``queue.sqlite3.salvaged`` first, then moves the
damaged file aside (``queue.sqlite3.damaged-<UTC time>``, with its ``-wal``) and renames
the new one into place; if it is interrupted between the two renames, the next open of
the queue finishes the job (:class:`scanner_client.queue.Queue`).  The damaged file is
kept: ``trace-scan repair --from FILE`` salvages from it again into the current queue.
"""

from __future__ import annotations

import datetime as dt
import os
import struct
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from scanner_client.config import STEPS
from scanner_client.queue import PAGE_SIZE, SALVAGED_SUFFIX, Queue, QueueCorrupt

_HEADER_MAGIC = b"SQLite format 3\x00"
_WAL_MAGIC = (0x377F0682, 0x377F0683)
_LEAF_TABLE = 0x0D


@dataclass
class Salvaged:
    """Rows recovered from a damaged file, by scan id."""

    scans: dict[str, tuple] = field(default_factory=dict)
    dead_letters: dict[str, tuple] = field(default_factory=dict)
    last_seq: int = 0
    pages: int = 0
    bad_pages: int = 0


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    value = 0
    for i in range(9):
        byte = buf[pos + i]
        if i == 8:
            return (value << 8) | byte, pos + 9
        value = (value << 7) | (byte & 0x7F)
        if byte < 0x80:
            return value, pos + i + 1
    raise ValueError("bad varint")  # pragma: no cover - the loop always returns


_INT_SIZES = {1: 1, 2: 2, 3: 3, 4: 4, 5: 6, 6: 8}


def _record(payload: bytes) -> list:
    header_size, pos = _varint(payload, 0)
    if not 1 <= header_size <= len(payload):
        raise ValueError("bad record header")
    types = []
    while pos < header_size:
        t, pos = _varint(payload, pos)
        types.append(t)
    values, body = [], header_size
    for t in types:
        if t == 0:
            values.append(None)
        elif t in _INT_SIZES:
            n = _INT_SIZES[t]
            values.append(int.from_bytes(payload[body:body + n], "big", signed=True))
            body += n
        elif t == 7:
            values.append(struct.unpack(">d", payload[body:body + 8])[0])
            body += 8
        elif t in (8, 9):
            values.append(t - 8)
        elif t >= 12:
            n = (t - 12) // 2
            raw = payload[body:body + n]
            values.append(raw.decode("utf-8") if t % 2 else bytes(raw))
            body += n
        else:
            raise ValueError("reserved serial type")
        if body > len(payload):
            raise ValueError("record runs past its cell")
    return values


def _leaf_rows(page: bytes, header_at: int):
    """(rowid, values) of every cell of a table leaf page that decodes cleanly."""
    if len(page) < header_at + 8 or page[header_at] != _LEAF_TABLE:
        return
    cells = int.from_bytes(page[header_at + 3:header_at + 5], "big")
    usable_max = len(page) - 35
    for i in range(cells):
        try:
            at = header_at + 8 + 2 * i
            offset = int.from_bytes(page[at:at + 2], "big")
            size, pos = _varint(page, offset)
            rowid, pos = _varint(page, pos)
            if size > usable_max or pos + size > len(page):
                continue  # spills onto overflow pages, or garbage
            yield rowid, _record(page[pos:pos + size])
        except (IndexError, ValueError, UnicodeDecodeError, struct.error):
            continue


def _pages(path: Path):
    """(page number, page bytes) from the file, then from its write-ahead log."""
    data = path.read_bytes() if path.exists() else b""
    size = PAGE_SIZE
    if data.startswith(_HEADER_MAGIC):
        declared = int.from_bytes(data[16:18], "big")
        declared = 65536 if declared == 1 else declared
        if declared >= 512 and declared & (declared - 1) == 0:
            size = declared
    for n in range(len(data) // size):
        yield n + 1, data[n * size:(n + 1) * size]
    wal_path = path.with_name(path.name + "-wal")
    wal = wal_path.read_bytes() if wal_path.exists() else b""
    if len(wal) < 32 or int.from_bytes(wal[0:4], "big") not in _WAL_MAGIC:
        return
    wal_size = int.from_bytes(wal[8:12], "big")
    if wal_size < 512 or wal_size & (wal_size - 1):
        return
    pos = 32
    while pos + 24 + wal_size <= len(wal):
        yield int.from_bytes(wal[pos:pos + 4], "big"), wal[pos + 24:pos + 24 + wal_size]
        pos += 24 + wal_size


def _aware_time(text) -> bool:
    try:
        return dt.datetime.fromisoformat(text).tzinfo is not None
    except (TypeError, ValueError):
        return False


def _scan_shape(rowid: int, v: list) -> bool:
    try:
        ok_id = len(v[1]) == 36 and str(uuid.UUID(v[1])) == v[1]
    except (TypeError, ValueError, AttributeError):
        return False
    return (ok_id and rowid > 0 and v[0] is None
            and isinstance(v[2], str) and isinstance(v[3], str) and v[4] in STEPS
            and (v[5] is None or isinstance(v[5], str)) and _aware_time(v[6])
            and isinstance(v[7], (int, float)))


def read_rows(path: Path | str) -> Salvaged:
    """Every recognisable queue row in ``path`` and its ``-wal`` (see module docstring)."""
    out = Salvaged()
    for pgno, page in _pages(Path(path)):
        out.pages += 1
        header_at = 100 if pgno == 1 else 0
        if len(page) <= header_at or page[header_at] not in (0x02, 0x05, 0x0A, _LEAF_TABLE):
            out.bad_pages += 1
            continue
        for rowid, v in _leaf_rows(page, header_at):
            if len(v) == 8 and _scan_shape(rowid, v):
                out.scans[v[1]] = (rowid, *v[1:])
            elif (len(v) == 11 and _scan_shape(rowid, v[:8]) and isinstance(v[8], str)
                  and isinstance(v[9], str) and isinstance(v[10], (int, float))):
                out.dead_letters[v[1]] = (rowid, *v[1:])
            elif len(v) == 2 and v[0] == "last_seq" and str(v[1]).isdigit():
                out.last_seq = max(out.last_seq, int(v[1]))
    for sid in out.dead_letters:
        out.scans.pop(sid, None)
    seqs = [r[0] for r in (*out.scans.values(), *out.dead_letters.values())]
    out.last_seq = max([out.last_seq, *seqs])
    return out


@dataclass
class RepairReport:
    """What :func:`repair` did; ``aside`` is None when the queue was healthy."""

    queue: Path
    aside: Path | None
    scans: int
    dead_letters: int
    pages: int = 0
    bad_pages: int = 0


def _remove(path: Path) -> None:
    for p in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        p.unlink(missing_ok=True)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. platforms without directory fds
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _insert(c, table: str, row: tuple) -> None:
    """Insert a salvaged row unless its id is there; a taken ``seq`` gets a new one."""
    if c.execute(f"SELECT 1 FROM {table} WHERE id = ?", (row[1],)).fetchone():
        return
    if c.execute(f"SELECT 1 FROM {table} WHERE seq = ?", (row[0],)).fetchone():
        row = (c.execute(f"SELECT max(seq) + 1 FROM {table}").fetchone()[0], *row[1:])
    c.execute(f"INSERT INTO {table} VALUES ({', '.join('?' * len(row))})", row)


def salvage_into(queue: Queue, source: Path | str) -> Salvaged:
    """Add the rows salvaged from ``source`` to ``queue`` in one transaction: ids already
    there are kept as they are, a dead letter is never queued again, and the sequence
    counter only grows."""
    found = read_rows(source)
    with queue.transaction() as c:
        for row in found.dead_letters.values():
            _insert(c, "dead_letters", row)
        for row in found.scans.values():
            if not c.execute("SELECT 1 FROM dead_letters WHERE id = ?", (row[1],)).fetchone():
                _insert(c, "scans", row)
        top = c.execute("SELECT max(seq) FROM (SELECT seq FROM scans UNION ALL "
                        "SELECT seq FROM dead_letters)").fetchone()[0] or 0
        current = c.execute("SELECT value FROM meta WHERE name = 'last_seq'").fetchone()
        last = max(int(current[0]) if current else 0, found.last_seq, top)
        c.execute("INSERT OR REPLACE INTO meta VALUES ('last_seq', ?)", (str(last),))
    return found


def repair(path: Path | str) -> RepairReport:
    """Replace a damaged queue at ``path`` with one holding every salvageable row."""
    path = Path(path)
    try:
        with Queue(path) as q:
            return RepairReport(path, None, q.depth(), q.dead_letter_count())
    except QueueCorrupt:
        pass
    tmp = path.with_name(path.name + SALVAGED_SUFFIX)
    _remove(tmp)
    with Queue(tmp, check=False) as fresh:
        found = salvage_into(fresh, path)
        fresh.conn.execute("PRAGMA journal_mode = DELETE")  # one self-contained file
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    aside = path.with_name(f"{path.name}.damaged-{stamp}")
    os.replace(path, aside)
    wal = path.with_name(path.name + "-wal")
    if wal.exists():
        os.replace(wal, aside.with_name(aside.name + "-wal"))
    path.with_name(path.name + "-shm").unlink(missing_ok=True)
    os.replace(tmp, path)
    _fsync_dir(path.parent)
    return RepairReport(path, aside, len(found.scans), len(found.dead_letters),
                        found.pages, found.bad_pages)
