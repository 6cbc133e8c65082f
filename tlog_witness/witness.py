"""The witness's state and its one decision: cosign this checkpoint or refuse, and why.

State lives in ``<home>/witness.sqlite3``: ``meta`` (the witness's name) and ``logs``
(per origin: the log's verifier key, the newest cosigned size, root and note). The key is
``<home>/witness_key.pem`` (PKCS#8, mode 0600). :meth:`Witness.add_checkpoint` follows
tlog-witness's ``add-checkpoint`` rules, in the spec's order, and checks the old size and
stores the new checkpoint in one ``BEGIN IMMEDIATE`` transaction, so two racing
submissions can never roll the witness back.
"""

from __future__ import annotations

import base64
import binascii
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

import tlog_check
from tlog_check.cosignature import CosignatureKey, make_cosignature

DB_FILE = "witness.sqlite3"
KEY_FILE = "witness_key.pem"
MAX_PROOF_LINES = 63
MAX_BODY = 64 * 1024

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS logs (
    origin TEXT PRIMARY KEY,
    verifier_key TEXT NOT NULL,
    size INTEGER NOT NULL DEFAULT 0,
    root_hash BLOB NOT NULL,
    note TEXT
);
"""


class WitnessError(Exception):
    """A refusal: ``status`` is the HTTP status the spec gives it, ``code`` is stable."""

    def __init__(self, status: int, code: str, message: str, body: str | None = None,
                 content_type: str = "text/plain; charset=utf-8"):
        super().__init__(message)
        self.status, self.code, self.body, self.content_type = status, code, body, content_type


@dataclass(frozen=True)
class Submission:
    old: int
    proof: list[bytes]
    note: str


def parse_request(raw: bytes) -> Submission:
    """``old <size>``, up to 63 base64 proof lines, an empty line, the checkpoint note."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise WitnessError(400, "bad_request", "the body is not UTF-8") from None
    head, sep, note = text.partition("\n\n")
    lines = head.split("\n")
    if not sep or not lines[0].startswith("old "):
        raise WitnessError(400, "bad_request", "the body starts with 'old <size>', proof lines "
                           "and an empty line")
    size = lines[0][4:]
    if not size.isascii() or not size.isdigit() or str(int(size)) != size:
        raise WitnessError(400, "bad_request", "the old size is not a decimal number")
    if len(lines) - 1 > MAX_PROOF_LINES:
        raise WitnessError(400, "bad_request", "more than 63 consistency proof lines")
    proof = []
    for line in lines[1:]:
        try:
            value = base64.b64decode(line, validate=True)
        except (ValueError, binascii.Error):
            value = b""
        if len(value) != 32:
            raise WitnessError(400, "bad_request", "a proof line is not a base64 SHA-256 hash")
        proof.append(value)
    return Submission(int(size), proof, note)


class Witness:
    def __init__(self, home: str | os.PathLike):
        self.home = Path(home)
        self.db_path = self.home / DB_FILE
        if not self.db_path.exists() or not (self.home / KEY_FILE).exists():
            raise FileNotFoundError(f"{self.home} holds no witness: run 'trace-witness init'")
        with self._connect() as conn:
            row = conn.execute("SELECT value FROM meta WHERE name = 'name'").fetchone()
        pem = (self.home / KEY_FILE).read_bytes()
        private = serialization.load_pem_private_key(pem, password=None)
        if row is None or not isinstance(private, Ed25519PrivateKey):
            raise ValueError(f"{self.home} holds an incomplete witness: run 'trace-witness init'")
        self.key = CosignatureKey(row[0], private)

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.db_path, timeout=30, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        return conn

    @staticmethod
    def init(home: str | os.PathLike, name: str, log_keys: list[str]) -> "Witness":
        """Make the key (once: an existing key is kept) and add the logs' verifier keys."""
        tlog_check.note.check_key_name(name)
        parsed = [tlog_check.parse_verifier_key(k) for k in log_keys]
        if any(k.alg != tlog_check.ALG_ED25519 for k in parsed):
            raise tlog_check.Malformed("a log key is an Ed25519 (0x01) verifier key",
                                       "wrong_key_type")
        home = Path(home)
        home.mkdir(parents=True, exist_ok=True, mode=0o700)
        key_path = home / KEY_FILE
        if not key_path.exists():
            pem = Ed25519PrivateKey.generate().private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption())
            fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(pem)
        conn = sqlite3.connect(home / DB_FILE, isolation_level=None)
        try:
            conn.executescript(SCHEMA)
            conn.execute("INSERT INTO meta VALUES ('name', ?) ON CONFLICT (name) DO UPDATE "
                         "SET value = excluded.value", (name,))
            for key in parsed:
                # A log already followed keeps its state: re-running init must not reset it.
                conn.execute("INSERT INTO logs (origin, verifier_key, size, root_hash) "
                             "VALUES (?, ?, 0, ?) ON CONFLICT (origin) DO UPDATE "
                             "SET verifier_key = excluded.verifier_key",
                             (key.name, str(key), tlog_check.EMPTY_ROOT))
        finally:
            conn.close()
        return Witness(home)

    @property
    def verifier_key(self) -> str:
        return str(self.key.verifier_key)

    def state(self, origin: str) -> tuple[int, bytes] | None:
        with self._connect() as conn:
            row = conn.execute("SELECT size, root_hash FROM logs WHERE origin = ?",
                               (origin,)).fetchone()
        return (row[0], bytes(row[1])) if row else None

    def add_checkpoint(self, raw: bytes) -> str:
        """The cosignature line for a valid submission, else :class:`WitnessError`."""
        sub = parse_request(raw)
        try:
            body, _sigs = tlog_check.parse_note(sub.note)
            checkpoint = tlog_check.parse_checkpoint(body)
        except tlog_check.Malformed as exc:
            raise WitnessError(400, "bad_checkpoint", f"not a checkpoint note: {exc}") from None
        conn = self._connect()
        try:
            conn.execute("BEGIN IMMEDIATE")  # the old-size check and the update are atomic
            row = conn.execute("SELECT verifier_key, size, root_hash FROM logs WHERE origin = ?",
                               (checkpoint.origin,)).fetchone()
            if row is None:
                raise WitnessError(404, "unknown_log", f"unknown log {checkpoint.origin!r}")
            try:
                tlog_check.open_checkpoint(sub.note, tlog_check.parse_verifier_key(row[0]))
            except tlog_check.TlogError as exc:
                raise WitnessError(403, "bad_signature", f"not signed by the log's key: {exc}") \
                    from None
            size, root = row[1], bytes(row[2])
            if sub.old > checkpoint.size:
                raise WitnessError(400, "old_too_large", "the old size is above the checkpoint's")
            if sub.old != size:
                raise WitnessError(409, "old_size_mismatch",
                                   f"the newest checkpoint cosigned is of size {size}",
                                   body=f"{size}\n", content_type="text/x.tlog.size")
            if sub.old == 0 and sub.proof:
                raise WitnessError(422, "bad_proof", "the proof from size 0 must be empty")
            if sub.old == checkpoint.size:
                if checkpoint.root != root:
                    raise WitnessError(409, "root_mismatch",
                                       f"a checkpoint of size {size} with another root hash "
                                       "was cosigned: the log forked",
                                       body=f"{size}\n", content_type="text/x.tlog.size")
            elif sub.old and not tlog_check.verify_consistency(
                    sub.old, checkpoint.size, root, checkpoint.root, sub.proof):
                raise WitnessError(422, "bad_proof", f"checkpoint {checkpoint.size} does not "
                                   f"extend the checkpoint {sub.old} cosigned before")
            line = make_cosignature(self.key, body)
            conn.execute("UPDATE logs SET size = ?, root_hash = ?, note = ? WHERE origin = ?",
                         (checkpoint.size, checkpoint.root, sub.note, checkpoint.origin))
            conn.execute("COMMIT")  # persisted before the answer, as the spec requires
            return line
        finally:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            conn.close()
