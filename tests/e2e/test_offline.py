"""A worker's day against the real server: sync, scan offline, come back; a damaged queue."""

from __future__ import annotations

import json
import sqlite3

from scanner_client import exitcodes
from tests.e2e.harness import free_port, sscc_text, stored_scans


def test_recalled_goods_are_flagged_offline_after_sync_and_the_server_agrees(
        e2e_world, scanners):
    (scanner,) = scanners(1)
    synced = scanner.run("sync")
    assert synced.returncode == 0, synced.stderr
    assert "1 lots" in synced.stderr and "1 parcels" in synced.stderr

    gtin, serial = e2e_world.recalled_unit.split("/")[1], e2e_world.recalled_unit.split("/")[3]
    offline = f"http://127.0.0.1:{free_port()}"
    done = scanner.run("scan", "--step", "arrive", "--upload-every", "0.1", server=offline,
                       input=f"{sscc_text(e2e_world.recalled_parcel)}\n"
                             f"]C101{gtin}21{serial}\n{sscc_text(e2e_world.parcels[0])}\n")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith(f"BLOCKED  00/{e2e_world.recalled_parcel}")
    assert lines[1].startswith(f"RECALLED  {e2e_world.recalled_unit}") and "recalled" in lines[1]
    assert lines[2].startswith(f"OK queued  00/{e2e_world.parcels[0]}")
    assert done.stderr.count("\a") >= 2 and "offline" in done.stderr
    assert len(scanner.queued_ids()) == 3

    back = scanner.run("upload", "--no-progress")
    # The server accepts the parcel with a warning and refuses the unit: logistics scans
    # are of parcel labels.
    assert back.returncode == exitcodes.SCANS_REJECTED, back.stderr
    assert f"WARNING 00/{e2e_world.recalled_parcel}: the server flags recalled" in back.stderr
    assert "not_a_parcel" in back.stderr
    rows = {r[2]: r[1] for r in stored_scans(e2e_world.database_url, [scanner.device.id])}
    assert rows == {f"00/{e2e_world.recalled_parcel}": "accepted",
                    e2e_world.recalled_unit: "rejected",
                    f"00/{e2e_world.parcels[0]}": "accepted"}


def scan_leaf_pages(path) -> list[tuple[int, int]]:
    """(page number, rows) of the leaf pages of the ``scans`` table (SQLite's dbstat)."""
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT pageno, ncell FROM dbstat WHERE name = 'scans' "
                            "AND pagetype = 'leaf' ORDER BY pageno").fetchall()
    finally:
        conn.close()


def test_d_a_damaged_queue_is_refused_clearly_then_repaired_and_what_was_saved_uploads_once(
        e2e_world, scanners):
    (scanner,) = scanners(1)
    scanner.scan([sscc_text(p) for p in e2e_world.parcels])
    queued = scanner.queued_ids()
    leaves = scan_leaf_pages(scanner.queue_path)
    assert len(leaves) >= 4
    destroyed = leaves[len(leaves) // 2: len(leaves) // 2 + 2]  # two pages in the middle
    with scanner.queue_path.open("r+b") as f:
        for page, _ in destroyed:
            f.seek((page - 1) * 4096)
            f.write(b"\xa5" * 4096)

    for args in (("status",), ("upload",), ("scan", "--step", "arrive")):
        refused = scanner.run(*args, input="")
        assert refused.returncode == exitcodes.QUEUE_CORRUPT, (args, refused.stderr)
        assert str(scanner.queue_path) in refused.stderr and "trace-scan repair" in refused.stderr

    repaired = scanner.run("repair")
    assert repaired.returncode == 0, repaired.stderr
    saved = scanner.queued_ids()
    lost = sum(n for _, n in destroyed)
    assert saved <= queued and len(saved) == len(queued) - lost
    assert f"salvaged {len(saved)} queued scan(s)" in repaired.stdout
    assert list(scanner.home.glob("queue.sqlite3.damaged-*"))

    done = scanner.run("upload", "--no-progress")
    assert done.returncode == 0, done.stderr
    ids = [r[0] for r in stored_scans(e2e_world.database_url, [scanner.device.id])]
    assert len(ids) == len(saved) and set(ids) == saved
    assert json.loads(scanner.run("status", "--json").stdout)["pending"] == 0
