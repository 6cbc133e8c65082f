"""How replies are classified, how long retries wait, and when the uploader gives up.

The real server, killed and faulty, is exercised in ``tests/e2e``; here the policy alone.
"""

from __future__ import annotations

import random
import socket
import time

import pytest

from scanner_client import exitcodes
from scanner_client.api import Reply, TransportError
from scanner_client.queue import Entry, Queue
from scanner_client.upload import (
    AUTH, FATAL, RETRY, SETTLE, SHRINK, SPLIT, UNREACHABLE, Backoff, Retrier, Stop, classify,
)


@pytest.mark.parametrize("status, code, action", [
    (200, None, SETTLE),
    (401, "revoked_api_key", AUTH),
    (403, "devices_only", AUTH),
    (422, "batch_too_large", SHRINK),
    (422, "validation_error", SPLIT),
    (400, "bad_request", SPLIT),
    (413, "payload_too_large", SPLIT),
    (408, None, RETRY),
    (409, "conflict", RETRY),  # a retry racing its own first attempt on the server
    (429, None, RETRY),
    (500, "internal_error", RETRY),
    (502, None, RETRY),
    (503, "database_unavailable", RETRY),
    (404, "not_found", FATAL),  # a wrong server URL must not dead-letter the queue
    (405, None, FATAL),
    (415, None, FATAL),
    (302, None, FATAL),
])
def test_replies_are_classified_as_documented(status, code, action):
    assert classify(Reply(status=status, code=code)) == action


def test_no_response_at_all_is_retried():
    assert classify(None) == RETRY


def test_backoff_is_full_jitter_doubling_up_to_the_cap():
    b = Backoff(base=0.5, cap=4, rng=random.Random(1))
    for failures, ceiling in [(1, 0.5), (2, 1), (3, 2), (4, 4), (10, 4)]:
        waits = [b.delay(failures) for _ in range(300)]
        assert 0 <= min(waits) and max(waits) <= ceiling
        assert max(waits) > 0.8 * ceiling and min(waits) < 0.2 * ceiling  # spread over [0, ceil]


def test_backoff_honours_retry_after_within_the_cap():
    b = Backoff(base=0.1, cap=3, rng=random.Random(1))
    assert b.delay(1, retry_after=2) >= 2
    assert b.delay(1, retry_after=60) == 3


def replies(*items):
    """A call that answers with ``items`` in turn (Reply, or an exception to raise)."""
    items = list(items)

    def call():
        item = items.pop(0)
        if isinstance(item, Exception):
            raise item
        return item
    return call


def test_the_retrier_retries_transient_failures_then_returns_the_answer():
    notes = []
    r = Retrier(Backoff(0.001, 0.002), deadline=5, notice=notes.append)
    reply = r.call(replies(TransportError("Connection refused"), Reply(503, code="busy"),
                           Reply(200, body={})))
    assert reply.status == 200 and r.retries == 2 and r.failures == 0
    assert "Connection refused" in notes[0] and "HTTP 503 busy" in notes[1]


def test_the_retrier_gives_up_at_the_deadline_and_after_max_attempts():
    r = Retrier(Backoff(0.05, 0.05), deadline=0.3)
    started = time.monotonic()
    with pytest.raises(Stop) as stop:
        r.call(lambda: (_ for _ in ()).throw(TransportError("timed out")))
    assert stop.value.outcome == UNREACHABLE and "deadline" in stop.value.message
    assert 0.3 <= time.monotonic() - started < 2
    r = Retrier(Backoff(0.001, 0.001), max_attempts=3)
    with pytest.raises(Stop, match="after 3 attempts"):
        r.call(replies(Reply(500), Reply(500), Reply(500), Reply(200)))


def test_the_retrier_stops_at_once_on_401():
    with pytest.raises(Stop) as stop:
        Retrier(Backoff()).call(replies(Reply(401, code="revoked_api_key", message="revoked")))
    assert stop.value.outcome == AUTH and "revoked_api_key" in stop.value.message


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when we return: nobody listens


def test_upload_to_a_dead_server_exits_server_unreachable_with_the_queue_intact(
        scan_home, trace_scan, monkeypatch):
    monkeypatch.setenv("TRACE_SCAN_SERVER", f"http://127.0.0.1:{closed_port()}")
    monkeypatch.setenv("TRACE_SCAN_KEY", "trk_00000000_x")
    with Queue(scan_home / "queue.sqlite3") as q:
        q.record([Entry("t", "00/1", "arrive"), Entry("t", "00/2", "arrive")], window=600)
    r = trace_scan("upload", "--deadline", "0.4", "--backoff-base", "0.05")
    assert r.code == exitcodes.SERVER_UNREACHABLE
    assert "Connection refused" in r.err and "2 still queued" in r.err
    with Queue(scan_home / "queue.sqlite3") as q:
        assert q.depth() == 2 and "Connection refused" in q.meta("last_upload_error")


def test_upload_of_an_empty_queue_needs_no_server_round_trip(scan_home, trace_scan, monkeypatch):
    monkeypatch.setenv("TRACE_SCAN_SERVER", f"http://127.0.0.1:{closed_port()}")
    monkeypatch.setenv("TRACE_SCAN_KEY", "trk_00000000_x")
    r = trace_scan("upload")
    assert r.code == exitcodes.OK and "nothing to upload" in r.err
