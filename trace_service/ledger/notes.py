"""Checkpoints as signed notes (C2SP ``signed-note`` + ``tlog-checkpoint``), Ed25519.

A checkpoint note is UTF-8 text. The *body* is what is signed::

    <log id>\\n                          origin line, e.g. "trace.example.com/log"
    <tree size, decimal>\\n
    <root hash, standard base64>\\n
    time <YYYY-MM-DDTHH:MM:SS.mmmZ>\\n     extension line: when it was signed (UTC)

then one empty line and one signature line per signer::

    \\n
    \\u2014 <key name> <base64(key id (4 bytes) || Ed25519 signature of the body (64 bytes))>\\n

The key name is the log id. The key id is the first four bytes of
SHA-256(key name || "\\n" || 0x01 || 32-byte Ed25519 public key), as in the Go checksum
database (``golang.org/x/mod/sumdb/note``); the *verifier key* string
``<name>+<key id, 8 hex digits>+<base64(0x01 || public key)>`` carries all a verifier
needs. Any signed-note verifier that knows that key can check our checkpoints.
"""

from __future__ import annotations

import base64
import datetime as dt
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

import tlog_check

ALG_ED25519 = tlog_check.ALG_ED25519
SIGNATURE_PREFIX = tlog_check.SIGNATURE_PREFIX


def format_time(value: dt.datetime) -> str:
    value = value.astimezone(dt.timezone.utc)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def checkpoint_body(log_id: str, size: int, root: bytes, issued_at: dt.datetime) -> str:
    return (f"{log_id}\n{size}\n{base64.b64encode(root).decode()}\n"
            f"time {format_time(issued_at)}\n")


def key_id(name: str, public_key: bytes) -> bytes:
    return tlog_check.key_id(name, public_key, ALG_ED25519)


def check_key_name(name: str) -> None:
    if not name or any(c.isspace() or c == "+" for c in name):
        raise ValueError(f"log id {name!r} must be non-empty, without spaces or '+'")


@dataclass(frozen=True)
class LogKey:
    """The log's signing key, named by the log id."""

    name: str
    private: Ed25519PrivateKey

    @property
    def public_bytes(self) -> bytes:
        return self.private.public_key().public_bytes(serialization.Encoding.Raw,
                                                      serialization.PublicFormat.Raw)

    @property
    def public_pem(self) -> str:
        return self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()

    def key_id_for(self, name: str | None = None) -> bytes:
        return key_id(name or self.name, self.public_bytes)

    @property
    def verifier_key(self) -> str:
        return (f"{self.name}+{self.key_id_for().hex()}+"
                f"{base64.b64encode(bytes([ALG_ED25519]) + self.public_bytes).decode()}")

    def sign(self, body: str) -> bytes:
        return self.private.sign(body.encode())

    def verify(self, body: str, signature: bytes) -> bool:
        try:
            self.private.public_key().verify(signature, body.encode())
        except InvalidSignature:
            return False
        return True


def signed_note(body: str, key_name: str, key: LogKey, signature: bytes) -> str:
    blob = base64.b64encode(key.key_id_for(key_name) + signature).decode()
    return f"{body}\n{SIGNATURE_PREFIX}{key_name} {blob}\n"


def generate_private_pem() -> bytes:
    return Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption())


def load_private_key(text: str | bytes) -> Ed25519PrivateKey:
    """An Ed25519 private key from PKCS#8 PEM, or from the base64 of its 32-byte seed."""
    raw = text.encode() if isinstance(text, str) else text
    raw = raw.strip()
    if raw.startswith(b"-----BEGIN"):
        key = serialization.load_pem_private_key(raw, password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError("the log signing key must be an Ed25519 key")
        return key
    try:
        seed = base64.b64decode(raw, validate=True)
    except ValueError:
        raise ValueError("the log signing key is neither PEM nor base64") from None
    if len(seed) != 32:
        raise ValueError("a base64 log signing key must hold exactly 32 bytes (the seed)")
    return Ed25519PrivateKey.from_private_bytes(seed)


def split_note(note: str) -> tuple[str, list[tuple[str, bytes, bytes]]]:
    """(body, [(key name, key id, signature)]) of a signed note; ValueError if malformed."""
    body, signatures = tlog_check.parse_note(note)
    return body, [(s.name, s.key_id, s.signature) for s in signatures]


def note_signed_by(note: str, key: LogKey) -> bool:
    """Whether ``note`` carries a valid signature by ``key`` under the note's origin name
    (checked by :func:`tlog_check.verify_note`, as every outside verifier does)."""
    try:
        body, _signatures = tlog_check.parse_note(note)
        origin = body.split("\n", 1)[0]
        tlog_check.verify_note(note, tlog_check.VerifierKey(origin, key.public_bytes))
    except tlog_check.TlogError:
        return False
    return True
