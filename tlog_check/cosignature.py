"""Witness cosignatures (C2SP ``tlog-cosignature``, ``cosignature/v1``).

A witness that has checked a checkpoint (signed by the log, consistent with the last one
it saw) signs, with Ed25519, the message::

    cosignature/v1\\n
    time <seconds since the Unix epoch, decimal>\\n
    <checkpoint body>

and adds a signature line to the note under its own key name. The line's blob is the key
id — SHA-256(name || 0x0A || 0x04 || public key)[:4] — then the timestamp as 8 bytes big
endian, then the 64-byte signature. Type 0x04 keeps a cosignature from ever being taken
for a log signature (0x01) of the same key, and the time says when the witness saw it.
"""

from __future__ import annotations

import time as _time
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tlog_check.errors import Malformed, NotVerified
from tlog_check.note import (
    ALG_COSIGNATURE_V1, NoteSignature, VerifierKey, check_key_name, format_signature_line,
    key_id, parse_note,
)


def cosignature_message(body: str, timestamp: int) -> bytes:
    if not 0 <= timestamp < 1 << 63:
        raise Malformed("a cosignature's time is a non-negative 63-bit number", "bad_time")
    return f"cosignature/v1\ntime {timestamp}\n{body}".encode()


@dataclass(frozen=True)
class CosignatureKey:
    """A witness's private key and name."""

    name: str
    private: Ed25519PrivateKey

    def __post_init__(self):
        check_key_name(self.name)

    @property
    def public_bytes(self) -> bytes:
        return self.private.public_key().public_bytes(serialization.Encoding.Raw,
                                                      serialization.PublicFormat.Raw)

    @property
    def verifier_key(self) -> VerifierKey:
        return VerifierKey(self.name, self.public_bytes, ALG_COSIGNATURE_V1)


def make_cosignature(key: CosignatureKey, body: str, timestamp: int | None = None) -> str:
    """The cosignature line (with its newline) of ``key`` over the checkpoint ``body``."""
    when = int(_time.time()) if timestamp is None else timestamp
    signature = key.private.sign(cosignature_message(body, when))
    blob = key_id(key.name, key.public_bytes, ALG_COSIGNATURE_V1) + when.to_bytes(8, "big")
    return format_signature_line(key.name, blob + signature)


def verify_cosignature(signature: NoteSignature | str, body: str, key: VerifierKey) -> int:
    """The timestamp of a valid cosignature by ``key`` over ``body``; NotVerified if not.

    ``signature`` is a parsed line or the line's text (with or without its newline).
    """
    if key.alg != ALG_COSIGNATURE_V1:
        raise NotVerified("a cosignature is checked with a cosignature/v1 (0x04) key",
                          "wrong_key_type")
    if isinstance(signature, str):
        _body, parsed = parse_note("x\n\n" + signature.rstrip("\n") + "\n")
        signature = parsed[0]
    if signature.name != key.name or signature.key_id != key.key_id:
        raise NotVerified(f"not a cosignature by {key.name}", "no_signature")
    if len(signature.signature) != 72:
        raise NotVerified("a cosignature/v1 holds 4 + 8 + 64 bytes", "bad_signature")
    when = int.from_bytes(signature.signature[:8], "big")
    if when >= 1 << 63 or not key.verify_raw(cosignature_message(body, when),
                                             signature.signature[8:]):
        raise NotVerified(f"the cosignature by {key.name} is not valid", "bad_signature")
    return when


def cosignatures_in(note: str, keys: list[VerifierKey]) -> dict[str, int]:
    """{witness name: timestamp} of the valid cosignatures in ``note`` by ``keys``."""
    body, signatures = parse_note(note)
    out = {}
    for key in keys:
        for sig in signatures:
            try:
                out[key.name] = verify_cosignature(sig, body, key)
                break
            except NotVerified:
                continue
    return out
