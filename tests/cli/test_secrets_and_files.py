"""Production needs a real secret, and says so in one line; the files that hold secrets,
keys or personal data are readable by the service's own user only."""

from __future__ import annotations

import base64
import os
import secrets
import sqlite3
import stat
import subprocess
from pathlib import Path

import pytest

from tests.cli.test_cli import BIN
from trace_service import create_app
from trace_service.config import GENERATE_SECRET, ConfigError, secret_problem
from trace_service.db import make_engine

WEAK = {
    "short": "s3cr3t-Key-2026",
    "hex of 16 bytes": secrets.token_hex(16),
    "one repeated character": "x" * 64,
    "a repeated pattern": "Ab3" * 22,
    "a run of neighbouring characters": "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
    "a placeholder": "please-change-me-before-going-to-production-0123",
}


def operator(args, instance: Path, **env_extra) -> subprocess.CompletedProcess:
    """``trace-service ARGS`` as an operator runs it, with the usual umask (022)."""
    env = dict(os.environ, TRACE_INSTANCE_PATH=str(instance), **env_extra)
    env.pop("TRACE_DATABASE_URL", None)
    for name in ("TRACE_ENV", "TRACE_SECRET_KEY", "TRACE_LOG_SIGNING_KEY"):
        if name not in env_extra:
            env.pop(name, None)
    return subprocess.run([str(BIN), *args], capture_output=True, text=True, env=env,
                          timeout=120, preexec_fn=lambda: os.umask(0o022))


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def signing_key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


@pytest.mark.parametrize("command", [["serve", "--port", "1"], ["db", "upgrade"], ["demo"],
                                     ["verify"]])
@pytest.mark.parametrize("weak", ["short", "one repeated character"])
def test_production_refuses_a_weak_secret_in_one_line_without_a_traceback(
        tmp_path, command, weak):
    proc = operator(command, tmp_path, TRACE_ENV="production", TRACE_SECRET_KEY=WEAK[weak],
                    TRACE_LOG_SIGNING_KEY=signing_key())
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert proc.stderr.startswith("Error: TRACE_SECRET_KEY is ")
    assert "32 random bytes" in proc.stderr and GENERATE_SECRET in proc.stderr
    assert WEAK[weak] not in proc.stderr  # the secret itself is never printed


def test_production_without_any_secret_says_how_to_make_one(tmp_path):
    proc = operator(["db", "current"], tmp_path, TRACE_ENV="production")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "TRACE_SECRET_KEY is not set" in proc.stderr and GENERATE_SECRET in proc.stderr


def test_production_starts_with_a_generated_secret_given_directly_or_in_a_file(tmp_path):
    generated = subprocess.run(["python3", "-c", GENERATE_SECRET.split(" -c ")[1].strip("'")],
                               capture_output=True, text=True, check=True).stdout.strip()
    proc = operator(["db", "upgrade"], tmp_path, TRACE_ENV="production",
                    TRACE_SECRET_KEY=generated, TRACE_LOG_SIGNING_KEY=signing_key())
    assert proc.returncode == 0, proc.stderr
    secret_file = tmp_path / "secret"
    secret_file.write_text(secrets.token_hex(32) + "\n")
    proc = operator(["db", "current"], tmp_path, TRACE_ENV="production",
                    TRACE_SECRET_KEY_FILE=str(secret_file), TRACE_LOG_SIGNING_KEY=signing_key())
    assert proc.returncode == 0, proc.stderr
    assert not (tmp_path / "secret_key").exists()  # production never makes one itself


@pytest.mark.parametrize("name", sorted(WEAK))
def test_each_kind_of_weak_secret_is_refused_by_create_app(tmp_path, name):
    with pytest.raises(ConfigError, match="TRACE_SECRET_KEY is "):
        create_app({"ENV": "production", "SECRET_KEY": WEAK[name], "LOG_SIGNING_KEY":
                    signing_key(), "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"},
                   instance_path=str(tmp_path / "instance"))


def test_secrets_made_by_the_documented_generators_always_pass():
    for _ in range(5000):
        for made in (secrets.token_urlsafe(32), secrets.token_hex(32),
                     base64.b64encode(secrets.token_bytes(32)).decode(),
                     secrets.token_bytes(32)):
            assert secret_problem(made) is None, made
    assert "too short" in secret_problem(secrets.token_urlsafe(31))


def test_a_newcomers_make_run_makes_its_secret_keys_and_database_readable_only_by_its_user(
        tmp_path):
    """``make run`` (development): db upgrade, demo, serve, with the instance folder holding
    the generated secret, the log's signing key, the demo keys and the SQLite database."""
    assert operator(["db", "upgrade"], tmp_path).returncode == 0
    assert operator(["demo", "--json"], tmp_path).returncode == 0
    for name in ("secret_key", "log_signing_key.pem", "demo.json", "trace.sqlite3"):
        assert mode(tmp_path / name) == 0o600, name
    assert len((tmp_path / "secret_key").read_text().strip()) >= 43


def test_the_sqlite_write_ahead_log_and_shared_memory_files_are_0600(tmp_path):
    previous = os.umask(0o022)
    try:
        path = tmp_path / "fresh.sqlite3"
        engine = make_engine(f"sqlite:///{path}")
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
            conn.exec_driver_sql("INSERT INTO t VALUES (1)")
        with engine.connect() as conn:  # while a connection is open the -wal/-shm exist
            conn.exec_driver_sql("SELECT * FROM t").all()
            assert {mode(path), mode(Path(f"{path}-wal")), mode(Path(f"{path}-shm"))} == {
                0o600}
        engine.dispose()
    finally:
        os.umask(previous)


def test_files_left_readable_by_an_earlier_version_are_tightened_at_start(tmp_path):
    instance = tmp_path / "instance"
    instance.mkdir()
    database = instance / "trace.sqlite3"
    sqlite3.connect(database).close()
    for name in ("secret_key", "log_signing_key.pem"):
        (instance / name).write_bytes(b"")
    (instance / "secret_key").write_text(secrets.token_urlsafe(48))
    from trace_service.ledger.notes import generate_private_pem

    (instance / "log_signing_key.pem").write_bytes(generate_private_pem())
    for path in instance.iterdir():
        path.chmod(0o644)
    app = create_app({"ENV": "development"}, instance_path=str(instance))
    app.extensions["trace_db"].dispose()
    assert {path.name: mode(path) for path in instance.iterdir()} == {
        "trace.sqlite3": 0o600, "secret_key": 0o600, "log_signing_key.pem": 0o600}


def test_a_backup_is_readable_only_by_its_user(tmp_path):
    assert operator(["db", "upgrade"], tmp_path).returncode == 0
    target = tmp_path / "backups" / "trace-backup.sqlite3"
    target.parent.mkdir()
    proc = operator(["backup", str(target)], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert mode(target) == 0o600
