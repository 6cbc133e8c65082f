"""The trace-service command, run as a real process like an operator would."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

BIN = Path(sys.executable).parent / "trace-service"


def run(args, instance, env_extra=None, check=True):
    env = dict(os.environ, TRACE_INSTANCE_PATH=str(instance), **(env_extra or {}))
    env.pop("TRACE_DATABASE_URL", None)
    proc = subprocess.run([str(BIN), *args], capture_output=True, text=True, env=env, timeout=120)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_db_upgrade_makes_the_schema_and_demo_seeds_the_whole_chain_once(tmp_path):
    assert "database at revision" in run(["db", "upgrade"], tmp_path).stdout
    first = json.loads(run(["demo", "--json"], tmp_path).stdout)
    again = json.loads(run(["demo", "--json"], tmp_path).stdout)
    assert first == again
    assert set(first["keys"]) >= {"admin", "merchant", "carrier", "inspector", "device-Beijing"}
    assert (tmp_path / "trace.sqlite3").exists()


def test_keys_create_rejects_a_bad_role_and_a_missing_party_with_clear_errors(tmp_path):
    run(["db", "upgrade"], tmp_path)
    bad_role = run(["keys", "create", "--role", "boss"], tmp_path, check=False)
    assert bad_role.returncode == 2 and "boss" in bad_role.stderr
    no_party = run(["keys", "create", "--role", "merchant"], tmp_path, check=False)
    assert no_party.returncode == 1 and "party_required" in no_party.stderr
    key = run(["keys", "create", "--role", "admin"], tmp_path).stdout.strip()
    assert key.startswith("trk_")


def test_serve_refuses_an_empty_database(tmp_path):
    proc = run(["serve", "--port", str(free_port())], tmp_path, check=False)
    assert proc.returncode == 1 and "db upgrade" in proc.stderr


def test_production_refuses_to_start_without_a_secret(tmp_path):
    proc = run(["db", "current"], tmp_path, env_extra={"TRACE_ENV": "production"}, check=False)
    assert proc.returncode != 0 and "TRACE_SECRET_KEY" in proc.stderr


@pytest.mark.slow
def test_serve_runs_gunicorn_and_answers_the_demo_keys_over_real_http(tmp_path):
    run(["db", "upgrade"], tmp_path)
    demo = json.loads(run(["demo", "--json"], tmp_path).stdout)
    port = free_port()
    env = dict(os.environ, TRACE_INSTANCE_PATH=str(tmp_path))
    env.pop("TRACE_DATABASE_URL", None)
    server = subprocess.Popen([str(BIN), "serve", "--port", str(port), "--workers", "2"],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                requests.get(base + "/api/v1/openapi.json", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        headers = {"Authorization": "Bearer " + demo["keys"]["inspector"]}
        trail = requests.get(base + "/api/v1/trail", headers=headers, timeout=5,
                             params={"key": demo["trace_keys"]["drug pack, resold"]}).json()
        steps = [e["biz_step"] for e in trail["events"]]
        assert steps.count("sale") == 2 and "return_receipt" in steps
        denied = requests.get(base + "/api/v1/orders", timeout=5)
        assert denied.status_code == 401 and denied.json()["error"]["code"] == "missing_api_key"
    finally:
        server.terminate()
        out, _ = server.communicate(timeout=20)
    assert "Booting worker" in out
    for person in ("李娜", "13912345678", "张伟"):
        assert person not in out


def test_rebuild_movements_recomputes_the_table_and_the_trace_stays_the_same(tmp_path):
    run(["db", "upgrade"], tmp_path)
    run(["demo", "--json"], tmp_path)
    db = tmp_path / "trace.sqlite3"

    def rows():
        with sqlite3.connect(db) as conn:
            return sorted(conn.execute(
                "SELECT line_id, item_id, parcel_key, parcel_state, point_id FROM movements"))

    before = rows()
    assert before, "the demo sells and ships, so it has movements"
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE movements SET parcel_state = 'packed', point_id = NULL")
    out = run(["db", "rebuild-movements"], tmp_path).stdout
    assert out.strip() == f"movements: {len(before)} rows"
    assert rows() == before


def test_rebuild_movements_on_a_database_without_schema_says_what_to_do(tmp_path):
    out = run(["db", "rebuild-movements"], tmp_path, check=False)
    assert out.returncode != 0
    assert "trace-service db upgrade" in out.stderr and "Traceback" not in out.stderr


def test_serve_signs_checkpoints_on_a_schedule_and_its_signer_ends_with_it(tmp_path):
    run(["db", "upgrade"], tmp_path)
    demo = json.loads(run(["demo", "--json"], tmp_path).stdout)
    port = free_port()
    env = dict(os.environ, TRACE_INSTANCE_PATH=str(tmp_path),
               TRACE_CHECKPOINT_INTERVAL_SECONDS="1")
    env.pop("TRACE_DATABASE_URL", None)
    server = subprocess.Popen([str(BIN), "serve", "--port", str(port), "--workers", "1"],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True)
    database = tmp_path / "trace.sqlite3"

    def newest():
        with sqlite3.connect(database) as conn:
            return conn.execute("SELECT max(size) FROM ledger_checkpoints").fetchone()[0]

    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                requests.get(base + "/api/v1/openapi.json", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        before = newest()
        device = {"Authorization": "Bearer " + demo["keys"]["device-Beijing"]}
        scan = requests.post(base + "/api/v1/scans", headers=device, timeout=5,
                             json={"key": demo["trace_keys"]["drug parcel (waybill)"],
                                   "step": "arrive"})
        assert scan.status_code == 201, scan.text
        deadline = time.monotonic() + 20
        while newest() == before and time.monotonic() < deadline:
            time.sleep(0.2)
        assert newest() == before + 1  # signed without anybody asking for a checkpoint
        signer = subprocess.run(["pgrep", "-P", str(server.pid), "-f", "checkpoint --every"],
                                capture_output=True, text=True).stdout.split()
        assert len(signer) == 1
    finally:
        server.terminate()
        out, _ = server.communicate(timeout=20)
    assert "signing checkpoints" in out
    deadline = time.monotonic() + 10
    while os.path.exists(f"/proc/{signer[0]}") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not os.path.exists(f"/proc/{signer[0]}")  # the signer ended with the server
