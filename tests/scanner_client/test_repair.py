"""A damaged queue file: a clear error naming it, then ``repair`` keeps every readable scan.

The files are real queue files damaged the way disks and power cuts damage them:
pages overwritten in the middle, the header destroyed, the file cut short.  Which rows
were on which page comes from SQLite itself (the ``dbstat`` table), so the expected
salvage is exact.
"""

from __future__ import annotations

import os
import shutil
import sqlite3

import pytest

from scanner_client import exitcodes
from scanner_client.queue import Entry, Queue, QueueCorrupt

ROWS = 600


@pytest.fixture
def full_queue(scan_home):
    """A queue with ROWS scans (and 5 dead letters), checkpointed into the main file."""
    path = scan_home / "queue.sqlite3"
    with Queue(path) as q:
        q.record([Entry(f"]C1{i:020d}", f"waybill/WB{i:08d}", "arrive", "W7")
                  for i in range(ROWS)], window=600)
        q.settle([{"id": s.id, "status": "rejected", "code": "unknown_parcel",
                   "message": "not registered"} for s in q.peek(5)])
        q.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


def contents(path) -> tuple[dict, dict]:
    with Queue(path) as q:
        return ({s.id: s for s in q.peek(10**6)},
                {d["id"]: d for d in q.dead_letters()})


def leaf_pages(path, table="scans") -> list[tuple[int, int]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT pageno, ncell FROM dbstat WHERE name = ? AND "
                            "pagetype = 'leaf' ORDER BY pageno", (table,)).fetchall()
    except sqlite3.OperationalError:  # pragma: no cover - SQLite built without dbstat
        pytest.skip("this SQLite has no dbstat table")
    finally:
        conn.close()


def overwrite(path, pages, byte=b"\x5a") -> None:
    with open(path, "r+b") as f:
        for page in pages:
            f.seek((page - 1) * 4096)
            f.write(byte * 4096)


def test_pages_overwritten_in_the_middle_lose_only_their_own_rows(full_queue, trace_scan):
    scans, dead = contents(full_queue)
    leaves = leaf_pages(full_queue)
    hit = leaves[len(leaves) // 3: len(leaves) // 3 + 3]
    overwrite(full_queue, [p for p, _ in hit])

    r = trace_scan("status")
    assert r.code == exitcodes.QUEUE_CORRUPT
    assert f"the scan queue {full_queue} is damaged" in r.err and "trace-scan repair" in r.err
    with pytest.raises(QueueCorrupt):
        Queue(full_queue)

    r = trace_scan("repair")
    assert r.code == exitcodes.OK, r.err
    saved, saved_dead = contents(full_queue)
    assert len(saved) == len(scans) - sum(n for _, n in hit)
    assert all(saved[k] == scans[k] for k in saved)  # every kept row is exactly as it was
    assert saved_dead.keys() == dead.keys()
    (aside,) = full_queue.parent.glob("queue.sqlite3.damaged-*")
    assert f"moved aside to {aside}" in r.out and f"salvaged {len(saved)} queued" in r.out
    with Queue(full_queue) as q:  # new scans continue the sequence
        (scan, _), = q.record([Entry("x", "waybill/NEW00001", "arrive")], window=600)
    assert scan.seq == ROWS + 1


def test_a_destroyed_header_and_schema_page_loses_no_scan(full_queue, trace_scan):
    scans, dead = contents(full_queue)
    overwrite(full_queue, [1], b"\x00")
    assert trace_scan("status").code == exitcodes.QUEUE_CORRUPT
    assert trace_scan("repair").code == exitcodes.OK
    assert contents(full_queue) == (scans, dead)


def test_a_truncated_file_keeps_the_rows_before_the_cut(full_queue, trace_scan):
    scans, _ = contents(full_queue)
    leaves = leaf_pages(full_queue)
    cut = leaves[len(leaves) // 2][0]  # keep the pages before this one
    kept = sum(n for p, n in leaves if p < cut)
    with open(full_queue, "r+b") as f:
        f.truncate((cut - 1) * 4096 + 1000)
    assert trace_scan("status").code == exitcodes.QUEUE_CORRUPT
    assert trace_scan("repair").code == exitcodes.OK
    saved, _ = contents(full_queue)
    assert len(saved) == kept and all(saved[k] == scans[k] for k in saved)


def test_scans_still_in_the_write_ahead_log_are_salvaged_too(scan_home, trace_scan, monkeypatch):
    path = scan_home / "queue.sqlite3"
    q = Queue(path)
    q.record([Entry("t", f"waybill/WB{i:08d}", "arrive") for i in range(50)], window=600)
    copy = scan_home / "copy"
    copy.mkdir()
    # The state a power cut leaves: a WAL with committed scans never checkpointed.
    shutil.copy(path, copy / "queue.sqlite3")
    shutil.copy(scan_home / "queue.sqlite3-wal", copy / "queue.sqlite3-wal")
    ids = {s.id for s in q.peek(100)}
    q.close()
    overwrite(copy / "queue.sqlite3", [1], b"\xff")
    monkeypatch.setenv("TRACE_SCAN_HOME", str(copy))
    assert trace_scan("repair").code == exitcodes.OK
    assert set(contents(copy / "queue.sqlite3")[0]) == ids


def test_a_healthy_queue_is_left_alone(full_queue, trace_scan):
    before = contents(full_queue)
    r = trace_scan("repair")
    assert r.code == exitcodes.OK and "healthy" in r.out
    assert contents(full_queue) == before
    assert not list(full_queue.parent.glob("*.damaged-*"))


def test_repair_from_a_kept_damaged_file_adds_only_what_is_missing(full_queue, trace_scan):
    scans, _ = contents(full_queue)
    damaged = full_queue.parent / "old.sqlite3"
    shutil.copy(full_queue, damaged)
    overwrite(damaged, [1], b"\x00")
    with Queue(full_queue) as q:  # some scans were uploaded meanwhile
        q.settle([{"id": s.id, "status": "accepted"} for s in q.peek(100)])
    r = trace_scan("repair", "--from", damaged)
    assert r.code == exitcodes.OK and "100 scan(s) added" in r.out
    assert contents(full_queue)[0].keys() == scans.keys()


def test_an_interrupted_repair_is_finished_by_the_next_open(full_queue, trace_scan):
    scans, _ = contents(full_queue)
    salvaged = full_queue.with_name("queue.sqlite3.salvaged")
    os.replace(full_queue, salvaged)  # killed between moving aside and renaming in
    assert contents(full_queue)[0].keys() == scans.keys()
    assert not salvaged.exists()
