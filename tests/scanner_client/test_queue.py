"""The durable local queue: ids, order, settling receipts, dead letters, block list."""

from __future__ import annotations

import datetime as dt
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from scanner_client.queue import Entry, Queue, uuid7

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def queue(tmp_path):
    with Queue(tmp_path / "queue.sqlite3") as q:
        yield q


def put(q: Queue, *keys: str, step: str = "arrive", window: float = 600) -> list:
    return q.record([Entry(f"text {k}", k, step) for k in keys], window=window)


def test_uuid7_is_version_7_rfc_variant_time_ordered_and_unique():
    before = time.time_ns() // 1_000_000
    ids = [uuid7() for _ in range(20000)]
    after = time.time_ns() // 1_000_000
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert {u.version for u in ids} == {7} and {u.variant for u in ids} == {uuid.RFC_4122}
    assert before <= ids[0].int >> 80 <= ids[-1].int >> 80 <= after + 1


def test_a_scan_gets_an_id_the_device_time_with_its_offset_and_a_growing_sequence(queue):
    (first, _), (second, _) = put(queue, "00/1", "00/2")
    assert uuid.UUID(first.id).version == 7 and first.id < second.id
    assert (first.seq, second.seq) == (1, 2)
    when = dt.datetime.fromisoformat(first.device_time)
    assert when.tzinfo is not None and abs(when - dt.datetime.now().astimezone()) < dt.timedelta(
        seconds=5)
    assert first.wire() == {"id": first.id, "key": "00/1", "step": "arrive",
                            "device_time": first.device_time, "seq": 1}


def test_the_sequence_keeps_growing_after_the_queue_was_emptied(tmp_path):
    path = tmp_path / "queue.sqlite3"
    with Queue(path) as q:
        (scan, _), = put(q, "00/1")
        q.settle([{"id": scan.id, "status": "accepted"}])
    with Queue(path) as q:
        (again, _), = put(q, "00/2")
    assert again.seq == 2


def test_peek_gives_the_oldest_first(queue):
    put(queue, "00/1", "00/2", "00/3")
    assert [s.trace_key for s in queue.peek(2)] == ["00/1", "00/2"]


def test_settle_removes_accepted_and_duplicates_dead_letters_rejected_and_keeps_unknown_ids(queue):
    scans = [s for s, _ in put(queue, "00/1", "00/2", "00/3", "00/4")]
    settled = queue.settle([
        {"id": scans[0].id, "status": "accepted", "warnings": ["recalled"]},
        {"id": scans[1].id, "status": "duplicate"},
        {"id": scans[2].id, "status": "rejected", "code": "unknown_parcel",
         "message": "parcel 00/3 is not registered"},
        {"id": str(uuid7()), "status": "accepted"},  # not ours
        {"id": scans[3].id, "status": "mystery"},  # not a status we know: keep the scan
    ])
    assert (settled.accepted, settled.duplicate, settled.rejected, settled.gone,
            settled.unknown) == (1, 1, 1, 1, 1)
    assert settled.warnings == [("00/1", ["recalled"])]
    assert [s.id for s in queue.peek(10)] == [scans[3].id]
    (dead,) = queue.dead_letters()
    assert (dead["id"], dead["code"], dead["message"]) == (
        scans[2].id, "unknown_parcel", "parcel 00/3 is not registered")
    assert queue.meta("last_upload") is not None


def test_settle_is_one_transaction(queue, monkeypatch):
    scans = [s for s, _ in put(queue, "00/1", "00/2")]
    receipts = [{"id": scans[0].id, "status": "accepted"},
                {"id": scans[1].id, "status": "rejected", "code": "x", "message": "y"}]
    queue.conn.execute("CREATE TRIGGER fail BEFORE INSERT ON dead_letters "
                       "BEGIN SELECT RAISE(ABORT, 'disk full'); END")
    with pytest.raises(Exception, match="disk full"):
        queue.settle(receipts)
    assert queue.depth() == 2 and queue.dead_letter_count() == 0  # nothing half-applied


def test_the_same_key_and_step_within_the_window_is_a_duplicate_and_not_queued(queue):
    (scan, _), (none, age) = put(queue, "00/1", "00/1")
    assert scan is not None and none is None and 0 <= age < 5
    (other_step, _), = put(queue, "00/1", step="depart")
    assert other_step is not None
    (outside, _), = put(queue, "00/1", window=0)
    assert outside is not None and queue.depth() == 3


def test_the_queue_file_is_wal_with_full_sync(queue):
    assert queue.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert queue.conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_a_recorded_scan_survives_the_process_being_killed_right_after(tmp_path):
    path = tmp_path / "queue.sqlite3"
    code = ("import os, sys; from scanner_client.queue import Queue, Entry\n"
            f"q = Queue({str(path)!r})\n"
            "(s, _), = q.record([Entry('t', '00/9', 'arrive')], window=600)\n"
            "print(s.id, flush=True)\n"
            "os.kill(os.getpid(), 9)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=30, cwd=ROOT)
    assert done.returncode == -signal.SIGKILL, done.stderr
    with Queue(path) as q:
        assert [s.id for s in q.peek(5)] == [done.stdout.strip()]


def test_the_block_list_is_replaced_whole(queue):
    queue.replace_blocklist([("01/1/10/A", "lot", "recalled", "2026-01-01"),
                             ("00/5", "parcel", "blocked", None)], last_sync="t1")
    queue.replace_blocklist([("01/1/10/B", "lot", "expired", "2026-02-01")], last_sync="t2")
    assert queue.blocked(["01/1/10/A", "00/5", "01/1/10/B"]) == [
        ("01/1/10/B", "lot", "expired", "2026-02-01")]
    assert queue.meta("last_sync") == "t2" and queue.blocklist_size() == 1


def test_an_image_file_is_remembered_with_its_scans(queue):
    queue.record([Entry("t", "00/1", "arrive")], window=600, seen_file="a.png:10:1")
    assert queue.file_seen("a.png:10:1") and not queue.file_seen("b.png:10:1")
