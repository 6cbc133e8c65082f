"""4xx vs 5xx vs network errors, handled as documented in ``scanner_client.upload``."""

from __future__ import annotations

import json
import threading
import time

import requests

from scanner_client import exitcodes
from tests.e2e.harness import free_port, sscc_text, stored_events, stored_scans
from tests.e2e.proxy import Proxy, error_response
from tests.helpers import sscc


def stored_ids(world, scanner) -> list[str]:
    return [r[0] for r in stored_scans(world.database_url, [scanner.device.id])]


def test_c_a_revoked_key_stops_the_upload_with_auth_error_and_keeps_the_queue(
        e2e_world, scanners):
    (scanner,) = scanners(1)
    scanner.scan([sscc_text(p) for p in e2e_world.parcels[:5]])
    queued = scanner.queued_ids()
    revoked = requests.post(f"{scanner.server_url}/api/v1/keys/{scanner.device.key_prefix}/revoke",
                            headers={"Authorization": f"Bearer {e2e_world.admin_key}"},
                            timeout=10)
    assert revoked.status_code == 200, revoked.text

    done = scanner.run("upload", "--deadline", "30")
    assert done.returncode == exitcodes.AUTH_ERROR, done.stderr
    assert "revoked_api_key" in done.stderr and scanner.device.key not in done.stderr
    assert scanner.queued_ids() == queued
    assert stored_ids(e2e_world, scanner) == []
    status = json.loads(scanner.run("status", "--json").stdout)
    assert status["pending"] == 5 and "revoked" in status["last_upload_error"]


def test_c_server_down_gives_server_unreachable_at_the_deadline_then_uploads_when_it_is_back(
        e2e_world, e2e_server, scanners):
    port = free_port()  # nothing listens here: the server is down
    (scanner,) = scanners(1)
    scanner.scan([sscc_text(p) for p in e2e_world.parcels[:5]])
    queued = scanner.queued_ids()
    down = f"http://127.0.0.1:{port}"

    started = time.monotonic()
    done = scanner.run("upload", "--deadline", "1.5", "--backoff-base", "0.1", server=down)
    assert done.returncode == exitcodes.SERVER_UNREACHABLE, done.stderr
    assert time.monotonic() - started >= 1.5
    assert "Connection refused" in done.stderr and "retrying" in done.stderr
    assert scanner.queued_ids() == queued

    # The server comes back on that address while an upload is retrying.
    proc = scanner.popen("upload", "--deadline", "60", "--backoff-base", "0.1",
                         "--backoff-cap", "0.5", "--no-progress", server=down)
    time.sleep(1.0)
    proxy = Proxy(e2e_server.port, port=port)
    try:
        _, err = proc.communicate(timeout=60)
    finally:
        proxy.close()
    assert proc.returncode == 0, err
    assert "retrying" in err and scanner.queued_ids() == set()
    assert sorted(stored_ids(e2e_world, scanner)) == sorted(queued)


def test_c_injected_5xx_and_dropped_responses_are_retried_and_stored_exactly_once(
        e2e_world, e2e_server, scanners):
    (scanner,) = scanners(1)
    scanner.scan([sscc_text(p) for p in e2e_world.parcels[:40]])
    queued = scanner.queued_ids()
    proxy = Proxy(e2e_server.port)
    posts = []
    lock = threading.Lock()

    def before(exchange, body):
        if not exchange.path.endswith("/scans/batch"):
            return None
        with lock:
            posts.append(exchange)
            n = len(posts)
        if n == 1:
            return error_response(503, "database_unavailable", "the database is busy; retry")
        if n == 2:
            return error_response(502, "bad_gateway", "upstream went away")
        return None

    def after(exchange, body, response):
        n = len(posts)
        if n == 3:  # the server stored the batch; the client gets a 500
            return error_response(500, "internal_error", "an internal error occurred")
        if n == 4:  # the server stored the next batch; the connection drops
            return "drop"
        return "forward"

    proxy.before, proxy.after = before, after
    try:
        done = scanner.run("upload", "--batch-size", "20", "--backoff-base", "0.05",
                           "--deadline", "30", "--no-progress", server=proxy.url)
    finally:
        proxy.close()
    assert done.returncode == 0, done.stderr
    assert [(e.scans, e.action) for e in proxy.batches()] == [
        (20, "injected"), (20, "injected"), (20, "injected"), (20, "drop"), (20, "forward"),
        (20, "forward")]
    ids = stored_ids(e2e_world, scanner)
    assert len(ids) == 40 and set(ids) == queued
    assert len(stored_events(e2e_world.database_url, queued)) == 40
    assert scanner.queued_ids() == set()


def test_c_a_scan_the_server_rejects_goes_to_the_dead_letters_with_its_reason_not_retried(
        e2e_world, e2e_server, scanners):
    (scanner,) = scanners(1)
    never_registered = sscc(777001, prefix="06999999")
    scanner.scan([sscc_text(e2e_world.parcels[0]), sscc_text(never_registered),
                  sscc_text(e2e_world.parcels[1])])
    proxy = Proxy(e2e_server.port)
    try:
        done = scanner.run("upload", "--no-progress", server=proxy.url)
        assert done.returncode == exitcodes.SCANS_REJECTED, done.stderr
        assert f"REJECTED 00/{never_registered}: unknown_parcel" in done.stderr
        again = scanner.run("upload", "--no-progress", server=proxy.url)
    finally:
        proxy.close()
    assert again.returncode == 0 and "nothing to upload" in again.stderr
    assert len(proxy.batches()) == 1  # the rejected scan was never sent again
    status = json.loads(scanner.run("status", "--json", "--dead-letters").stdout)
    assert status["pending"] == 0 and status["dead_letters"] == 1
    (dead,) = status["dead_letter_list"]
    assert dead["key"] == f"00/{never_registered}" and dead["code"] == "unknown_parcel"
    assert "not registered" in dead["message"]
    rows = stored_scans(e2e_world.database_url, [scanner.device.id])
    assert sorted(r[1] for r in rows) == ["accepted", "accepted", "rejected"]


def test_c_a_batch_refused_whole_is_split_until_the_offending_scan_is_dead_lettered(
        e2e_world, e2e_server, scanners):
    from scanner_client.queue import Entry, Queue

    (scanner,) = scanners(1)
    scanner.scan([sscc_text(p) for p in e2e_world.parcels[:7]])
    good = scanner.queued_ids()
    # A row the server's schema refuses (staff number > 40 characters), as an older
    # client might have queued it: the whole batch gets 422 validation_error.
    with Queue(scanner.queue_path) as q:
        ((bad, _),) = q.record([Entry("x", f"00/{e2e_world.parcels[7]}", "arrive", "W" * 41)],
                               window=0)
    done = scanner.run("upload", "--no-progress")
    assert done.returncode == exitcodes.SCANS_REJECTED, done.stderr
    assert "validation_error" in done.stderr
    assert scanner.queued_ids() == set()
    (dead,) = scanner.dead_letters()
    assert dead[0] == bad.id and dead[2] == "validation_error" and "staff_no" in dead[3]
    assert set(stored_ids(e2e_world, scanner)) == good


def test_c_batch_too_large_shrinks_the_batch(e2e_world, e2e_server, scanners):
    (scanner,) = scanners(1)
    scanner.scan([sscc_text(p) for p in e2e_world.parcels[:30]])
    queued = scanner.queued_ids()
    proxy = Proxy(e2e_server.port)
    proxy.before = lambda ex, body: (
        error_response(422, "batch_too_large", "at most 7", max_batch=7, found=ex.scans)
        if ex.scans > 7 else None)
    try:
        done = scanner.run("upload", "--batch-size", "30", "--no-progress", server=proxy.url)
    finally:
        proxy.close()
    assert done.returncode == 0, done.stderr
    sizes = [e.scans for e in proxy.batches()]
    assert sizes[0] == 30 and max(sizes[1:]) == 7 and sum(sizes[1:]) == 30
    assert sorted(stored_ids(e2e_world, scanner)) == sorted(queued)


def test_c_a_wrong_server_url_is_a_protocol_error_and_keeps_the_queue(
        e2e_world, e2e_server, scanners):
    (scanner,) = scanners(1)
    scanner.scan([sscc_text(e2e_world.parcels[0])])
    done = scanner.run("upload", server=e2e_server.url + "/not-the-api")
    assert done.returncode == exitcodes.PROTOCOL_ERROR, done.stderr
    assert "404" in done.stderr and len(scanner.queued_ids()) == 1
