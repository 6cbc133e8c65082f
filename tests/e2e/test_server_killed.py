"""The server dies (SIGKILL, master and workers) in the middle of uploads from 8 devices."""

from __future__ import annotations

import contextlib
import time

import pytest

from tests.e2e.harness import (
    ScanCounter, Scanner, Server, codes_file, finish, sscc_text, stored_events, stored_scans,
)

CLIENTS = 8


@pytest.mark.slow
def test_a_server_killed_mid_upload_and_restarted_stores_every_scan_exactly_once(
        e2e_world, tmp_path):
    server = Server(e2e_world, tmp_path).start()
    counter = None
    try:
        devices = e2e_world.take_devices(CLIENTS)
        scanners = [Scanner(d, tmp_path / f"scanner-{i}", server.url)
                    for i, d in enumerate(devices)]
        labels = [sscc_text(p) for p in e2e_world.parcels]
        codes = codes_file(tmp_path / "labels.txt", labels)
        for step in ("arrive", "depart"):  # 8 devices scanning at once, offline
            with contextlib.ExitStack() as stack:
                procs = [s.popen("scan", "--step", step, "--no-upload", "--no-bell",
                                 stdin=stack.enter_context(codes.open())) for s in scanners]
                results = finish(procs)
            assert [r[0] for r in results] == [0] * CLIENTS, [r[2] for r in results]
        queued = [s.queued_ids() for s in scanners]
        expected = set().union(*queued)
        assert [len(q) for q in queued] == [2 * len(labels)] * CLIENTS
        assert len(expected) == CLIENTS * 2 * len(labels)

        uploads = [s.popen("upload", "--batch-size", "20", "--deadline", "90",
                           "--backoff-base", "0.1", "--backoff-cap", "1", "--timeout", "30",
                           "--no-progress") for s in scanners]
        counter = ScanCounter(e2e_world.database_url, [d.id for d in devices])
        deadline = time.monotonic() + 60
        stored = 0
        while stored < len(expected) // 5 and time.monotonic() < deadline:
            time.sleep(0.02)
            stored = counter.count()
        server.kill()
        stored_at_kill = counter.count()
        print(f"server killed with {stored_at_kill} of {len(expected)} scans stored")
        assert 0 < stored_at_kill < len(expected), "the kill must land in the middle"
        time.sleep(1.0)  # clients meet a dead port and back off
        server.start()
        results = finish(uploads, timeout=120)
    except BaseException:
        for p in locals().get("uploads", []):
            if p.poll() is None:
                p.kill()
        raise
    finally:
        if counter is not None:
            counter.close()
        server.stop()

    assert [r[0] for r in results] == [0] * CLIENTS, [r[2][-2000:] for r in results]
    assert any("retrying" in r[2] for r in results), "no client saw the outage"
    rows = stored_scans(e2e_world.database_url, [d.id for d in devices])
    ids = [r[0] for r in rows]
    assert len(ids) == len(expected) and set(ids) == expected
    assert {r[1] for r in rows} == {"accepted"}
    events = stored_events(e2e_world.database_url, expected)
    assert len(events) == len(set(events)) == len(expected)
    for s in scanners:
        assert s.queued_ids() == set() and s.dead_letters() == []
