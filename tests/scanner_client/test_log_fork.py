"""``trace-scan sync`` keeps the newest checkpoint it saw and catches a forked log: a real
scanner process against the service (SQLite and PostgreSQL) whose ledger tables are
rewritten behind it and re-signed with the log's own key."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from scanner_client import exitcodes
from tests.chain.flows import deliver, ship
from tests.live import serving
from tests.world import build_world
from trace_service.ledger import merkle, services, settings

SCAN = str(Path(sys.executable).parent / "trace-scan")


@pytest.fixture
def world(app, client):
    world = build_world(app, client)
    _order, parcel = ship(world)
    assert deliver(world, parcel).status_code == 201
    return world


def scan(home: Path, url: str, key: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "TRACE_SCAN_HOME": str(home), "TRACE_SCAN_SERVER": url,
           "TRACE_SCAN_KEY": key}
    return subprocess.run([SCAN, *args], capture_output=True, text=True, env=env, timeout=120)


def rewrite_log(app, grow_world=None) -> None:
    """What an operator with the database and the key could do: rebuild the log with two
    entries swapped, delete every checkpoint, and sign the rewritten history."""
    database = app.extensions["trace_db"]
    with database.write_session() as db:
        rows = db.execute(text("SELECT l.event_pk, e.content FROM ledger_entries l "
                               "JOIN events e ON e.id = l.event_pk ORDER BY l.seq")).all()
        for table in ("ledger_cosignatures", "ledger_checkpoints", "ledger_nodes",
                      "ledger_entries"):
            db.execute(text(f"DELETE FROM {table}"))
        db.execute(text("UPDATE ledger_head SET size = 0, root_hash = :root, frontier = :f"),
                   {"root": merkle.EMPTY_ROOT, "f": b""})
        items = [(pk, content) for pk, content in rows]
        items[0], items[1] = items[1], items[0]
        services.append_now(db, items)
        db.commit()
    services.sign_now(database, settings.log_key(app))


def test_a_scanner_keeps_the_newest_checkpoint_and_accepts_a_log_that_extends_it(
        app, world, tmp_path):
    with serving(app) as url:
        first = scan(tmp_path, url, world.device.key, "sync")
        assert first.returncode == 0, first.stderr
        assert "log key pinned on first use" in first.stderr and "the first seen" in first.stderr
        ship(world)
        app.config["LOG_CHECKPOINT_INTERVAL_SECONDS"] = 0
        second = scan(tmp_path, url, world.device.key, "sync")
        assert second.returncode == 0, second.stderr
        assert "extends checkpoint" in second.stderr
    kept = json.loads((tmp_path / "log-trust.json").read_text())
    with app.extensions["trace_db"].read_session() as db:
        assert kept["checkpoint"]["size"] == services.head(db)[0]


@pytest.mark.parametrize("grown", [False, True], ids=["same_size", "grown"])
def test_a_scanner_detects_a_forked_log_and_refuses_its_proofs_until_trust_is_reset(
        app, world, tmp_path, grown):
    with serving(app) as url:
        synced = scan(tmp_path, url, world.device.key, "sync")
        assert synced.returncode == 0, synced.stderr
        kept = json.loads((tmp_path / "log-trust.json").read_text())["checkpoint"]
        rewrite_log(app)
        if grown:
            ship(world)
            app.config["LOG_CHECKPOINT_INTERVAL_SECONDS"] = 0
        forked = scan(tmp_path, url, world.device.key, "sync")
        assert forked.returncode == exitcodes.FORKED_LOG, forked.stderr
        latest = app.test_client().get("/api/v1/log/checkpoints/latest").get_json()
        # Loud, and naming both checkpoints by size and root hash.
        assert "FORKED LOG" in forked.stderr and "\a" in forked.stderr
        assert f"checkpoint {kept['size']} root {kept['root_hash']}" in forked.stderr
        assert f"checkpoint {latest['size']} root {latest['root_hash']}" in forked.stderr
        assert ("does not extend" if grown else "different roots") in forked.stderr
        # From now on the server's proofs are refused, and sync keeps saying so.
        with app.extensions["trace_db"].engine.connect() as conn:
            event_id = conn.execute(text("SELECT event_id FROM events ORDER BY id LIMIT 1")
                                    ).scalar()
        bundle = world.inspector.ok("GET", "/api/v1/log/proofs/inclusion", event_id=event_id)
        (tmp_path / "bundle.json").write_text(json.dumps(bundle))
        key = app.test_client().get("/api/v1/log/public-key").get_json()["verifier_key"]
        refused = scan(tmp_path, url, world.device.key, "verify", str(tmp_path / "bundle.json"),
                       "-k", key)
        assert refused.returncode == exitcodes.FORKED_LOG, refused.stderr
        assert scan(tmp_path, url, world.device.key, "sync").returncode == exitcodes.FORKED_LOG
        shown = scan(tmp_path, url, world.device.key, "trust", "show")
        assert shown.returncode == exitcodes.FORKED_LOG and "FORKED LOG" in shown.stdout
        # The operator looked into it and clears it: trusted afresh.
        assert scan(tmp_path, url, world.device.key, "trust", "reset").returncode == 0
        assert scan(tmp_path, url, world.device.key, "verify", str(tmp_path / "bundle.json"),
                    "-k", key).returncode == 0
        again = scan(tmp_path, url, world.device.key, "sync")
        assert again.returncode == 0, again.stderr
