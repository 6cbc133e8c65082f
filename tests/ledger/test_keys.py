"""The signing key: generated once in development and testing, required in production."""

from __future__ import annotations

import base64
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from trace_service import create_app
from trace_service.config import ConfigError

BIN = Path(sys.executable).parent / "trace-service"
#: Production refuses a weak app secret before it looks at the log's key.
SECRET = secrets.token_urlsafe(32)


def make(tmp_path, **config):
    settings = {"DATABASE_URL": f"sqlite:///{tmp_path / 'trace.sqlite3'}",
                "SECRET_KEY": SECRET, **config}
    return create_app(settings, instance_path=str(tmp_path / "instance"))


def test_production_refuses_to_start_without_a_log_signing_key(tmp_path, monkeypatch):
    monkeypatch.delenv("TRACE_LOG_SIGNING_KEY", raising=False)
    monkeypatch.delenv("TRACE_LOG_SIGNING_KEY_FILE", raising=False)
    with pytest.raises(ConfigError, match="TRACE_LOG_SIGNING_KEY"):
        make(tmp_path, ENV="production")
    assert not (tmp_path / "instance" / "log_signing_key.pem").exists()


def test_the_command_line_refuses_production_without_a_key_too(tmp_path):
    env = dict(os.environ, TRACE_ENV="production", TRACE_SECRET_KEY=SECRET,
               TRACE_INSTANCE_PATH=str(tmp_path))
    for name in ("TRACE_LOG_SIGNING_KEY", "TRACE_LOG_SIGNING_KEY_FILE", "TRACE_DATABASE_URL"):
        env.pop(name, None)
    proc = subprocess.run([str(BIN), "verify"], capture_output=True, text=True, env=env,
                          timeout=60)
    assert proc.returncode != 0 and "TRACE_LOG_SIGNING_KEY" in proc.stderr


def test_production_signs_with_the_key_from_a_file(tmp_path, monkeypatch):
    private = Ed25519PrivateKey.generate()
    seed = private.private_bytes_raw()
    (tmp_path / "key").write_text(base64.b64encode(seed).decode())
    monkeypatch.setenv("TRACE_LOG_SIGNING_KEY_FILE", str(tmp_path / "key"))
    monkeypatch.setenv("TRACE_LOG_ID", "trace.example.com/log")
    app = make(tmp_path, ENV="production")
    body = app.test_client().get("/api/v1/log/public-key").get_json()
    expected = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    assert base64.b64decode(body["public_key"]) == expected
    assert body["log_id"] == "trace.example.com/log"
    assert body["verifier_key"].startswith("trace.example.com/log+")


def test_development_makes_one_key_in_the_instance_folder_and_keeps_it(tmp_path, monkeypatch):
    monkeypatch.delenv("TRACE_LOG_SIGNING_KEY", raising=False)
    monkeypatch.delenv("TRACE_LOG_SIGNING_KEY_FILE", raising=False)
    first = make(tmp_path, ENV="development")
    path = tmp_path / "instance" / "log_signing_key.pem"
    assert path.exists() and path.stat().st_mode & 0o777 == 0o600
    again = make(tmp_path, ENV="development")
    key = "/api/v1/log/public-key"
    assert first.test_client().get(key).get_json() == again.test_client().get(key).get_json()


def test_a_malformed_key_or_log_id_is_refused_at_start_up(tmp_path):
    with pytest.raises(ConfigError, match="TRACE_LOG_SIGNING_KEY: .*32 bytes"):
        make(tmp_path, ENV="testing", LOG_SIGNING_KEY=base64.b64encode(b"short").decode())
    with pytest.raises(ConfigError, match="TRACE_LOG_ID"):
        make(tmp_path, ENV="testing", LOG_ID="has space")
