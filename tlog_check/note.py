"""Signed notes (C2SP ``signed-note``) and their verifier keys, Ed25519 only.

A note is UTF-8 text: the body (one or more lines, each ending in a newline), one empty
line, then one or more signature lines ``\u2014 <key name> <base64(key id || signature)>``.
The key id is the first four bytes of SHA-256(key name || 0x0A || signature type ||
public key); type 0x01 is a plain Ed25519 signature of the body, 0x04 a witness
cosignature (:mod:`tlog_check.cosignature`). A *verifier key* string
``<name>+<key id, 8 hex>+<base64(type || public key)>`` carries everything a verifier
needs (the form Go's ``golang.org/x/mod/sumdb/note`` reads).

Verifiers must ignore signatures by keys they do not know, so a note may gain lines (a
witness's cosignature) without breaking anyone who checks only the log's own signature.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from tlog_check.errors import Malformed, NotVerified

ALG_ED25519 = 0x01
ALG_COSIGNATURE_V1 = 0x04
SIGNATURE_PREFIX = "\u2014 "
MAX_SIGNATURES = 100  # the spec lets verifiers reject more; it bounds the work per note


def key_id(name: str, public_key: bytes, alg: int = ALG_ED25519) -> bytes:
    """First 4 bytes of SHA-256(name || 0x0A || alg || public key)."""
    return hashlib.sha256(name.encode() + b"\n" + bytes([alg]) + public_key).digest()[:4]


def check_key_name(name: str) -> None:
    """A key name is non-empty UTF-8 without whitespace or '+' (signed-note)."""
    if not name or any(c.isspace() or c == "+" for c in name):
        raise Malformed(f"key name {name!r} must be non-empty, without spaces or '+'",
                        "bad_key_name")


@dataclass(frozen=True)
class VerifierKey:
    """A public key by name: what a verifier trusts."""

    name: str
    public_key: bytes  # 32 raw Ed25519 bytes
    alg: int = ALG_ED25519

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, self.public_key, self.alg)

    def __str__(self) -> str:
        blob = base64.b64encode(bytes([self.alg]) + self.public_key).decode()
        return f"{self.name}+{self.key_id.hex()}+{blob}"

    def verify_raw(self, message: bytes, signature: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, message)
        except InvalidSignature:
            return False
        return True


def parse_verifier_key(text: str) -> VerifierKey:
    """``<name>+<hex key id>+<base64(alg || key)>``, checking the id matches."""
    parts = text.strip().split("+", 2)  # the base64 may itself contain '+'
    if len(parts) != 3:
        raise Malformed("a verifier key reads <name>+<key id>+<base64 key>", "bad_verifier_key")
    name, hash_hex, blob = parts
    check_key_name(name)
    try:
        raw = base64.b64decode(blob, validate=True)
    except (ValueError, binascii.Error):
        raise Malformed("the verifier key's key is not base64", "bad_verifier_key") from None
    if len(raw) != 33 or raw[0] not in (ALG_ED25519, ALG_COSIGNATURE_V1):
        raise Malformed("the verifier key is not an Ed25519 or cosignature/v1 key",
                        "bad_verifier_key")
    key = VerifierKey(name, raw[1:], raw[0])
    if key.key_id.hex() != hash_hex.lower():
        raise Malformed("the verifier key's id does not match its name and key",
                        "bad_verifier_key")
    return key


@dataclass(frozen=True)
class NoteSignature:
    name: str
    key_id: bytes
    signature: bytes  # what follows the key id: 64 bytes (Ed25519) or 72 (cosignature/v1)

    @property
    def line(self) -> str:
        return format_signature_line(self.name, self.key_id + self.signature)


def format_signature_line(name: str, blob: bytes) -> str:
    """One signature line, with its newline."""
    return f"{SIGNATURE_PREFIX}{name} {base64.b64encode(blob).decode()}\n"


def parse_note(note: str) -> tuple[str, list[NoteSignature]]:
    """(body, signatures) of a signed note; :class:`Malformed` when it is not one.

    The body is every byte up to and including the newline of its last line; the
    signatures start after the last empty line (as Go's note package splits).
    """
    if not isinstance(note, str):
        raise Malformed("the note is not text", "malformed_note")
    if not note.endswith("\n"):
        raise Malformed("a signed note ends with a newline", "malformed_note")
    cut = note.rfind("\n\n")
    if cut < 0:
        raise Malformed("not a signed note: no empty line before the signatures",
                        "malformed_note")
    body, sigs = note[:cut + 1], note[cut + 2:]
    if any(ord(c) < 0x20 and c != "\n" for c in note):
        raise Malformed("a signed note holds no control characters", "malformed_note")
    lines = sigs[:-1].split("\n")
    if not sigs or len(lines) > MAX_SIGNATURES:
        raise Malformed("a signed note carries 1 to 100 signatures", "malformed_note")
    out = []
    for line in lines:
        if not line.startswith(SIGNATURE_PREFIX):
            raise Malformed(f"not a signature line: {line[:40]!r}", "malformed_note")
        name, sep, blob = line[len(SIGNATURE_PREFIX):].partition(" ")
        if not sep or not name or " " in blob:
            raise Malformed("a signature line reads '\u2014 <name> <base64>'", "malformed_note")
        try:
            raw = base64.b64decode(blob, validate=True)
        except (ValueError, binascii.Error):
            raise Malformed("a signature is not base64", "malformed_note") from None
        if len(raw) < 5:
            raise Malformed("a signature holds a key id and at least one byte",
                            "malformed_note")
        out.append(NoteSignature(name, raw[:4], raw[4:]))
    return body, out


def signatures_by(signatures: list[NoteSignature], key: VerifierKey) -> list[NoteSignature]:
    return [s for s in signatures if s.name == key.name and s.key_id == key.key_id]


def verify_note(note: str, key: VerifierKey) -> str:
    """The body of ``note`` once a valid Ed25519 signature by ``key`` is found in it.

    :class:`NotVerified` (code ``no_signature`` or ``bad_signature``) otherwise; lines of
    other keys are ignored, as the spec asks.
    """
    if key.alg != ALG_ED25519:
        raise NotVerified("a note's own signature is made with an Ed25519 (0x01) key",
                          "wrong_key_type")
    body, signatures = parse_note(note)
    mine = signatures_by(signatures, key)
    if not mine:
        raise NotVerified(f"the note carries no signature by key {key.name}+"
                          f"{key.key_id.hex()}", "no_signature")
    for sig in mine:
        if len(sig.signature) == 64 and key.verify_raw(body.encode(), sig.signature):
            return body
    raise NotVerified(f"the signature by key {key.name}+{key.key_id.hex()} is not valid",
                      "bad_signature")
