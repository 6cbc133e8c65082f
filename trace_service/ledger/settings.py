"""Settings of the log: the signing key, the log id, the checkpoint interval, retention.

Each comes from the app config (tests and the CLI pass overrides there) or else from the
environment:

``TRACE_LOG_SIGNING_KEY`` / ``TRACE_LOG_SIGNING_KEY_FILE``
    The Ed25519 private key that signs checkpoints: PKCS#8 PEM or the base64 of the 32-byte
    seed. In development and testing a key is generated on first run into the instance
    folder (``log_signing_key.pem``, mode 0600) and reused; in production the service
    refuses to start without one.
``TRACE_LOG_ID``
    The log's name, first line of every checkpoint and key name of its signature. Fixed
    for the life of the log. Default: ``<host of TRACE_PUBLIC_BASE_URL>/log``.
``TRACE_CHECKPOINT_INTERVAL_SECONDS`` (default 60)
    A reader asking for the latest checkpoint gets a fresh one only when the newest is
    older than this and the log has grown (see ``services.latest_checkpoint``).
``TRACE_WITNESSES``
    Comma-separated ``<witness verifier key>@<URL>`` entries: the witnesses asked to cosign
    every checkpoint (``ledger.witnesses``). The key is the witness's cosignature/v1 key
    (``trace-witness key`` prints it), the URL its submission prefix. Parsed strictly: a
    malformed entry stops the service at start-up, naming the entry.
``TRACE_WITNESS_TIMEOUT_SECONDS`` (default 5)
    How long one ``add-checkpoint`` may take before that witness is skipped until the next
    checkpoint.
``TRACE_PERSONAL_DATA_RETENTION_DAYS`` (default 1095, i.e. three years)
    ``trace-service retention`` erases persons with no order, receipt, review or complaint
    for longer than this.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import urlsplit

import tlog_check

from trace_service.config import ConfigError, _env_int, _env_secret
from trace_service.files import create_private_once
from trace_service.ledger.notes import (
    LogKey, check_key_name, generate_private_pem, load_private_key,
)

KEY_FILE = "log_signing_key.pem"
EXTENSION = "trace_ledger_key"
WITNESSES = "trace_ledger_witnesses"


def init_app(app) -> LogKey:
    """Load (or in development/testing make) the signing key; refuse to start without one."""
    config = app.config
    config.setdefault("LOG_CHECKPOINT_INTERVAL_SECONDS",
                      _env_int("TRACE_CHECKPOINT_INTERVAL_SECONDS", 60))
    config.setdefault("PERSONAL_DATA_RETENTION_DAYS",
                      _env_int("TRACE_PERSONAL_DATA_RETENTION_DAYS", 1095))
    if config["PERSONAL_DATA_RETENTION_DAYS"] < 1:
        raise ConfigError("TRACE_PERSONAL_DATA_RETENTION_DAYS must be at least 1")
    log_id = config.get("LOG_ID") or os.environ.get("TRACE_LOG_ID") or _default_log_id(config)
    try:
        check_key_name(log_id)
    except ValueError as exc:
        raise ConfigError(f"TRACE_LOG_ID: {exc}") from None
    config["LOG_ID"] = log_id
    text = config.get("LOG_SIGNING_KEY") or _env_secret("TRACE_LOG_SIGNING_KEY")
    if not text:
        if config["ENV"] == "production":
            raise ConfigError("TRACE_LOG_SIGNING_KEY (or TRACE_LOG_SIGNING_KEY_FILE) must be set "
                              "in production: the key that signs the log's checkpoints")
        text = _instance_key(app.instance_path)
    try:
        key = LogKey(name=log_id, private=load_private_key(text))
    except ValueError as exc:
        raise ConfigError(f"TRACE_LOG_SIGNING_KEY: {exc}") from None
    app.extensions[EXTENSION] = key
    _init_witnesses(app)
    return key


def _init_witnesses(app) -> None:
    from trace_service.ledger import witnesses

    config = app.config
    text = config.get("WITNESSES")
    if text is None:
        text = os.environ.get("TRACE_WITNESSES", "")
    found = parse_witnesses(text)
    timeout = config.setdefault("WITNESS_TIMEOUT_SECONDS",
                                _env_int("TRACE_WITNESS_TIMEOUT_SECONDS", 5))
    if timeout < 1:
        raise ConfigError("TRACE_WITNESS_TIMEOUT_SECONDS must be at least 1")
    app.extensions[WITNESSES] = found
    database = app.extensions.get("trace_db")
    if database is not None:
        witnesses.attach(database, found, float(timeout))


_ENTRY = re.compile(r"^(?P<key>[^\s@]+\+[0-9a-fA-F]{8}\+[A-Za-z0-9+/=]+)@(?P<url>https?://\S+)$")


def parse_witnesses(text: str) -> list:
    """``TRACE_WITNESSES`` as a list of ``witnesses.WitnessConfig``; ConfigError naming the
    entry when one is malformed, is not a cosignature/v1 key, or names a witness twice."""
    from trace_service.ledger.witnesses import WitnessConfig

    out, names = [], set()
    entries = [e.strip() for e in (text or "").split(",")]
    if entries == [""]:
        return []
    for number, entry in enumerate(entries, 1):
        where = f"TRACE_WITNESSES entry {number} ({entry[:60]!r})"
        match = _ENTRY.match(entry)
        if not match:
            raise ConfigError(f"{where}: expected <witness verifier key>@<http(s) URL>, e.g. "
                              "witness.example/w1+1a2b3c4d+BASE64@https://witness.example")
        try:
            key = tlog_check.parse_verifier_key(match["key"])
        except tlog_check.TlogError as exc:
            raise ConfigError(f"{where}: {exc}") from None
        if key.alg != tlog_check.ALG_COSIGNATURE_V1:
            raise ConfigError(f"{where}: the key is not a cosignature/v1 (type 0x04) key; "
                              "give the key 'trace-witness key' prints")
        url = urlsplit(match["url"])
        if not url.hostname or url.query or url.fragment:
            raise ConfigError(f"{where}: the URL needs a host and no query or fragment")
        if key.name in names:
            raise ConfigError(f"{where}: witness {key.name} is named twice")
        names.add(key.name)
        out.append(WitnessConfig(key, match["url"]))
    return out


def witness_list(app) -> list:
    return app.extensions.get(WITNESSES, [])


def _default_log_id(config) -> str:
    host = urlsplit(config.get("PUBLIC_BASE_URL") or "").netloc or "trace.invalid"
    return f"{host}/log"


def _instance_key(instance_path: str) -> bytes:
    """The development/testing key in the instance folder, made once, mode 0600 (race-safe:
    ``files.create_private_once``)."""
    return create_private_once(Path(instance_path) / KEY_FILE, generate_private_pem)


def log_key(app) -> LogKey:
    return app.extensions[EXTENSION]
