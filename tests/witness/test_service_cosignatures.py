"""The service asks real witness processes to cosign its checkpoints, stores and serves
their cosignatures, and is never held up by a witness that is down (SQLite, PostgreSQL)."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

import tlog_check
from scanner_client import verify as offline
from tests.chain.flows import deliver, ship
from tests.witness.harness import free_port, init_witness, running_witness
from tests.world import build_world
from trace_service import create_app
from trace_service.config import ConfigError
from trace_service.ledger import witnesses
from trace_service.ledger.notes import LogKey

LOG_ID = "trace.test/log"


@pytest.fixture
def log_key():
    return LogKey(LOG_ID, Ed25519PrivateKey.generate())


def make_app(database_url, tmp_path, log_key, witness_entries: str):
    pem = log_key.private.private_bytes(serialization.Encoding.PEM,
                                        serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption()).decode()
    return create_app({"ENV": "testing", "DATABASE_URL": database_url,
                       "SECRET_KEY": "test-secret", "LOG_ID": LOG_ID, "LOG_SIGNING_KEY": pem,
                       "WITNESSES": witness_entries, "WITNESS_TIMEOUT_SECONDS": 2},
                      instance_path=str(tmp_path / "instance"))


def latest(app, fresh: bool = False) -> dict:
    """GET the latest checkpoint (signing a new one when ``fresh``), let the witnesses
    answer, and GET it again."""
    client = app.test_client()
    if fresh:
        app.config["LOG_CHECKPOINT_INTERVAL_SECONDS"] = 0
    first = client.get("/api/v1/log/checkpoints/latest")
    assert first.status_code == 200, first.get_json()
    app.config["LOG_CHECKPOINT_INTERVAL_SECONDS"] = 3600
    assert witnesses.collector(app.extensions["trace_db"]).wait_idle(60)
    again = client.get(f"/api/v1/log/checkpoints/{first.get_json()['size']}")
    assert again.status_code == 200
    return again.get_json()


def cosigners(note: str, keys: list[tlog_check.VerifierKey]) -> set[str]:
    return set(witnesses_in(note, keys))


def witnesses_in(note, keys):
    from tlog_check.cosignature import cosignatures_in

    return cosignatures_in(note, keys)


def test_the_service_gets_and_serves_the_cosignatures_of_two_real_witness_processes(
        database_url, tmp_path, log_key):
    keys = [init_witness(tmp_path / name, f"witness.test/{name}", log_key.verifier_key)
            for name in ("w1", "w2")]
    with running_witness(tmp_path / "w1") as url1, running_witness(tmp_path / "w2") as url2:
        app = make_app(database_url, tmp_path, log_key, f"{keys[0]}@{url1}, {keys[1]}@{url2}")
        try:
            world = build_world(app, app.test_client())
            _order, parcel = ship(world)
            first = latest(app)
            parsed = [tlog_check.parse_verifier_key(k) for k in keys]
            assert first["cosignature_count"] == 2, first
            assert [c["witness"] for c in first["cosignatures"]] == ["witness.test/w1",
                                                                     "witness.test/w2"]
            assert cosigners(first["note"], parsed) == {"witness.test/w1", "witness.test/w2"}
            # The log's own signature still verifies for a verifier that knows no witness.
            assert offline.open_checkpoint(
                first["note"], offline.load_key(log_key.verifier_key)).size == first["size"]
            # The next checkpoint reaches the witnesses with a consistency proof from the first.
            assert deliver(world, parcel).status_code == 201
            second = latest(app, fresh=True)
            assert second["size"] > first["size"]
            assert second["cosignature_count"] == 2
            assert cosigners(second["note"], parsed) == {"witness.test/w1", "witness.test/w2"}
        finally:
            app.extensions["trace_db"].dispose()


def test_a_witness_that_is_down_does_not_fail_ingest_and_is_asked_again_later(
        database_url, tmp_path, log_key):
    keys = [init_witness(tmp_path / name, f"witness.test/{name}", log_key.verifier_key)
            for name in ("up", "down")]
    port = free_port()
    with running_witness(tmp_path / "up") as url:
        app = make_app(database_url, tmp_path, log_key,
                       f"{keys[0]}@{url},{keys[1]}@http://127.0.0.1:{port}")
        try:
            world = build_world(app, app.test_client())
            _order, parcel = ship(world)  # ingest with a witness down: 201 as ever
            first = latest(app)
            assert first["cosignature_count"] == 1
            assert [c["witness"] for c in first["cosignatures"]] == ["witness.test/up"]
            with app.extensions["trace_db"].read_session() as db:
                state = {w: (size, err) for w, size, err in db.execute(
                    witnesses.STATE.select().with_only_columns(
                        witnesses.STATE.c.witness, witnesses.STATE.c.size,
                        witnesses.STATE.c.last_error))}
            assert state["witness.test/down"][1]  # the failure is kept for the operator
            with running_witness(tmp_path / "down", port=port):
                assert deliver(world, parcel).status_code == 201
                second = latest(app, fresh=True)
            assert second["cosignature_count"] == 2
        finally:
            app.extensions["trace_db"].dispose()


@pytest.mark.parametrize("value, says", [
    ("nonsense", "entry 1"),
    ("witness.test/w1+00000000+AAAA@http://x", "entry 1"),
    ("{ok}, {ok}", "named twice"),
    ("{log}@http://127.0.0.1:1", "not a cosignature/v1"),
    ("{ok},{ok_other}@ftp://x", "entry 2"),
])
def test_a_malformed_trace_witnesses_stops_the_service_at_start_up(
        value, says, tmp_path, log_key):
    witness_key = tlog_check.CosignatureKey("witness.test/w1", Ed25519PrivateKey.generate())
    ok = f"{witness_key.verifier_key}@http://127.0.0.1:1"
    value = value.format(ok=ok, log=log_key.verifier_key,
                         ok_other=str(tlog_check.CosignatureKey(
                             "witness.test/w2", Ed25519PrivateKey.generate()).verifier_key))
    with pytest.raises(ConfigError, match=says):
        make_app(f"sqlite:///{tmp_path / 'unused.sqlite3'}", tmp_path, log_key, value)
