"""The client dies between sending a batch and storing the receipts: no loss, no double."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import threading
import time

import pytest

from tests.e2e.harness import ScanCounter, sscc_text, stored_events, stored_scans
from tests.e2e.proxy import Proxy


def assert_stored_exactly_once(world, scanner, expected: set[str]) -> None:
    rows = stored_scans(world.database_url, [scanner.device.id])
    ids = [r[0] for r in rows]
    assert len(ids) == len(expected) and set(ids) == expected
    assert {r[1] for r in rows} == {"accepted"}
    events = stored_events(world.database_url, expected)
    assert len(events) == len(set(events)) == len(expected)
    assert scanner.queued_ids() == set() and scanner.dead_letters() == []


def test_b_a_client_killed_after_the_server_committed_but_before_the_receipts_loses_nothing(
        e2e_world, e2e_server, scanners):
    (scanner,) = scanners(1)
    scanner.scan([sscc_text(p) for p in e2e_world.parcels[:30]])
    queued = scanner.queued_ids()
    assert len(queued) == 30

    proxy = Proxy(e2e_server.port)
    started = threading.Event()
    victim = {}

    def kill_the_client(exchange, body, response):
        if exchange.path.endswith("/scans/batch"):
            started.wait(10)
            os.kill(victim["pid"], signal.SIGKILL)  # the server has committed the batch
            return "drop"  # ... and its receipts never reach the client
        return "forward"

    proxy.after = kill_the_client
    try:
        proc = scanner.popen("upload", "--batch-size", "100", server=proxy.url)
        victim["pid"] = proc.pid
        started.set()
        proc.communicate(timeout=30)
    finally:
        proxy.close()
    assert proc.returncode == -signal.SIGKILL
    assert [(e.scans, e.status) for e in proxy.batches()] == [(30, 200)]
    # The server has every scan; the client, which never saw a receipt, still has them all.
    assert {r[0] for r in stored_scans(e2e_world.database_url, [scanner.device.id])} == queued
    assert scanner.queued_ids() == queued

    again = scanner.run("upload", "--no-progress")  # straight to the server this time
    assert again.returncode == 0, again.stderr
    assert "30 accepted" in again.stderr  # the receipts stored the first time, sent again
    assert_stored_exactly_once(e2e_world, scanner, queued)


@pytest.mark.slow
def test_b_uploads_killed_at_random_moments_until_the_queue_drains_store_each_scan_once(
        e2e_world, e2e_server, scanners):
    seed = int(os.environ.get("TRACE_E2E_SEED", time.time_ns() % 10**6))
    rng = random.Random(seed)
    print(f"random kill moments: TRACE_E2E_SEED={seed}")
    (scanner,) = scanners(1)
    labels = [sscc_text(p) for p in e2e_world.parcels]
    scanner.scan(labels, "arrive")
    scanner.scan(labels, "depart")
    queued = scanner.queued_ids()
    assert len(queued) == 2 * len(labels)

    counter = ScanCounter(e2e_world.database_url, [scanner.device.id])
    kills, left = 0, []
    try:
        for _ in range(8):  # then a last, undisturbed run drains what is left
            stored = counter.count()
            if stored == len(queued):
                break
            # kill once a random part of what is left is stored ...
            target = stored + rng.randint(1, max(1, (len(queued) - stored) // 3))
            extra = rng.uniform(0, 0.03)  # ... a little later: anywhere in the next request
            proc = scanner.popen("upload", "--batch-size", "5", "--no-progress")
            while proc.poll() is None and counter.count() < target:
                time.sleep(0.003)
            time.sleep(extra)
            if proc.poll() is None:
                proc.kill()
                kills += 1
            proc.communicate(timeout=30)
            left.append(len(scanner.queued_ids()))
    finally:
        counter.close()
    print(f"{kills} kills; queue depth after each run: {left}")
    assert kills >= 3, f"too few kills landed (seed {seed})"
    final = scanner.run("upload", "--no-progress")
    assert final.returncode == 0, final.stderr
    assert_stored_exactly_once(e2e_world, scanner, queued)


def test_b_scan_killed_while_its_background_uploader_runs_loses_no_confirmed_scan(
        e2e_world, e2e_server, scanners):
    (scanner,) = scanners(1)
    labels = [sscc_text(p) for p in e2e_world.parcels[:120]]
    log = (scanner.home / "scan.err").open("w")
    proc = scanner.popen("scan", "--step", "arrive", "--upload-every", "0.05", "--json",
                         "--no-bell", stdin=subprocess.PIPE, stderr=log)
    confirmed = []

    def read_feedback():
        for line in proc.stdout:
            confirmed.append(json.loads(line))

    def type_codes():
        try:
            for label in labels:
                proc.stdin.write(label + "\n")
                proc.stdin.flush()
                time.sleep(0.004)
        except (BrokenPipeError, ValueError):  # killed meanwhile
            pass

    reader = threading.Thread(target=read_feedback)
    writer = threading.Thread(target=type_codes)
    reader.start()
    writer.start()
    deadline = time.monotonic() + 60
    while len(confirmed) < 50 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.002)
    proc.kill()  # in the middle of scanning and uploading
    writer.join(10)
    proc.wait(10)
    reader.join(10)
    log.close()
    for pipe in (proc.stdin, proc.stdout):
        try:
            pipe.close()
        except BrokenPipeError:
            pass
    assert proc.returncode == -signal.SIGKILL
    assert len(confirmed) >= 20 and {c["status"] for c in confirmed} == {"ok"}

    done = scanner.run("upload", "--no-progress")
    assert done.returncode == 0, done.stderr
    rows = stored_scans(e2e_world.database_url, [scanner.device.id])
    keys = [r[2] for r in rows]
    assert len(keys) == len(set(keys)), "a parcel was stored twice"
    assert {c["key"] for c in confirmed} <= set(keys), "a confirmed scan was lost"
    assert {r[0] for r in rows} >= {c["id"] for c in confirmed}
    assert {r[1] for r in rows} == {"accepted"} and scanner.queued_ids() == set()


def test_two_uploaders_draining_one_queue_at_once_store_each_scan_once(
        e2e_world, e2e_server, scanners):
    (scanner,) = scanners(1)
    scanner.scan([sscc_text(p) for p in e2e_world.parcels], "arrive")
    queued = scanner.queued_ids()
    procs = [scanner.popen("upload", "--batch-size", "10", "--backoff-base", "0.05",
                           "--no-progress") for _ in range(2)]
    results = [(p.wait(60), p.communicate()) for p in procs]
    assert [rc for rc, _ in results] == [0, 0], [err for _, (_, err) in results]
    assert_stored_exactly_once(e2e_world, scanner, queued)
