"""Offline check of the trace service's log proofs, trusting nothing but its public key.

    trace-scan verify BUNDLE.json --public-key KEY

``BUNDLE.json`` is the response of ``GET /api/v1/log/proofs/inclusion`` (an event, its
inclusion proof and the signed checkpoint; ``"format": "trace-inclusion-proof/v1"``) or
of ``GET /api/v1/log/proofs/consistency`` (two signed checkpoints and the proof that the
second extends the first; ``"format": "trace-consistency-proof/v1"``). ``KEY`` is the
response of ``GET /api/v1/log/public-key`` saved as a file, the ``verifier_key`` string
from it (``<log id>+<key id>+<base64>``, as a file or inline) or a PEM public key; get it
once, from a source you trust, and keep it.

An inclusion bundle verifies when the checkpoint note carries a valid Ed25519 signature
of the log's key, the event content hashes (RFC 6962: SHA-256(0x00 || UTF-8 bytes)) to a
leaf that the audit path leads to the checkpoint's root at the given index and size, and
the content names the bundle's event id. The service is not contacted and not imported:
this module shares only the wire format with it (docs/integrity.md). The hashing, proof
and signed-note checks are those of ``tlog_check``, the one small package (needing only
``cryptography``) that the service and the witness use too.

Exit codes: 0 verified; 2 bad command line; 5 an input cannot be read or is malformed;
10 the proof does NOT verify (the message says which check failed).
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import os
import sys
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

import tlog_check
from tlog_check import (  # noqa: F401  (re-exported: the client's verifier API)
    EMPTY_ROOT, leaf_hash, node_hash, root_from_inclusion_proof, verify_consistency,
)

NAME = "verify"
HELP = "check a log proof bundle (event + inclusion proof + signed checkpoint) offline"

OK = 0
USAGE = 2
INPUT_ERROR = 5
NOT_VERIFIED = 10
"""The bundle was read but does not verify: changed content, wrong proof, bad signature."""

INCLUSION = "trace-inclusion-proof/v1"
CONSISTENCY = "trace-consistency-proof/v1"
SIGNATURE_PREFIX = tlog_check.SIGNATURE_PREFIX
ALG_ED25519 = tlog_check.ALG_ED25519


class InputError(ValueError):
    """An input is unreadable or malformed."""


class NotVerified(ValueError):
    """A check failed."""


# --- keys and signed notes (the checks themselves are tlog_check's) ----------------------------


@dataclass(frozen=True)
class VerifierKey:
    public_key: bytes        # 32 raw bytes
    name: str | None = None  # the log id, when the key says it

    def key_id(self, name: str) -> bytes:
        return tlog_check.key_id(name, self.public_key, ALG_ED25519)


def load_key(text: str) -> VerifierKey:
    """A key from /log/public-key JSON, a ``name+keyid+base64`` verifier key, or PEM."""
    text = text.strip()
    if text.startswith("{"):
        try:
            data = json.loads(text)
            vkey = data.get("verifier_key")
            if vkey:
                return load_key(vkey)
            return VerifierKey(_b64(data["public_key"], 32, "public_key"), data.get("log_id"))
        except (ValueError, KeyError, TypeError, AttributeError):
            raise InputError("the key file is JSON but not a /log/public-key response") from None
    if text.startswith("-----BEGIN"):
        try:
            key = serialization.load_pem_public_key(text.encode())
        except ValueError:
            raise InputError("the PEM key cannot be read") from None
        if not isinstance(key, Ed25519PublicKey):
            raise InputError("the PEM key is not an Ed25519 public key")
        return VerifierKey(key.public_bytes(serialization.Encoding.Raw,
                                            serialization.PublicFormat.Raw))
    if text.count("+") < 2:
        raise InputError("the key is neither JSON, PEM nor a <name>+<hash>+<base64> verifier key")
    try:
        parsed = tlog_check.parse_verifier_key(text)
    except tlog_check.Malformed as exc:
        raise InputError(str(exc)) from None
    if parsed.alg != ALG_ED25519:
        raise InputError("the verifier key is not an Ed25519 key")
    return VerifierKey(parsed.public_key, parsed.name)


Checkpoint = tlog_check.Checkpoint


def open_checkpoint(note: str, key: VerifierKey) -> Checkpoint:
    """Check the note's signature with ``key`` and return what it says.

    A key without a name (PEM, bare public key) is taken to be named by the note's origin,
    as the service names its key by the log id.
    """
    if not isinstance(note, str):
        raise InputError("the checkpoint note is not a string")
    try:
        body, _signatures = tlog_check.parse_note(note)
        checkpoint = tlog_check.parse_checkpoint(body)
    except tlog_check.Malformed as exc:
        raise InputError(f"the checkpoint is not a valid signed note: {exc}") from None
    if key.name is not None and checkpoint.origin != key.name:
        raise NotVerified(f"the checkpoint is of log {checkpoint.origin!r}, "
                          f"the key of log {key.name!r}")
    try:
        tlog_check.open_checkpoint(note, tlog_check.VerifierKey(checkpoint.origin,
                                                                key.public_key))
    except tlog_check.NotVerified as exc:
        if exc.code == "no_signature":
            raise NotVerified("the checkpoint carries no signature by this key") from None
        raise NotVerified("the checkpoint's signature is not valid for this key") from None
    return checkpoint


# --- bundles ------------------------------------------------------------------------------------


def _b64(value, length: int | None, what: str) -> bytes:
    try:
        raw = base64.b64decode(value, validate=True)
    except (ValueError, binascii.Error, TypeError):
        raise InputError(f"{what} is not base64") from None
    if length is not None and len(raw) != length:
        raise InputError(f"{what} must hold {length} bytes")
    return raw


def _field(bundle: dict, name: str, kind):
    value = bundle.get(name)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise InputError(f"the bundle lacks a valid {name!r}")
    return value


def verify_inclusion_bundle(bundle: dict, key: VerifierKey) -> str:
    """Raise NotVerified/InputError, or return a one-line description of what verified."""
    content = _field(bundle, "content", str)
    event_id = _field(bundle, "event_id", str)
    seq = _field(bundle, "seq", int)
    index = _field(bundle, "leaf_index", int)
    size = _field(bundle, "tree_size", int)
    proof = [_b64(h, 32, "a proof hash") for h in _field(bundle, "proof", list)]
    checkpoint = open_checkpoint(_field(bundle, "checkpoint", str), key)
    if seq != index:
        raise NotVerified(f"seq {seq} and leaf index {index} differ")
    if size != checkpoint.size:
        raise NotVerified(f"the proof is for size {size}, the checkpoint for {checkpoint.size}")
    try:
        named = json.loads(content).get("event_id")
    except (ValueError, AttributeError):
        raise NotVerified("the content is not a JSON object") from None
    if named != event_id:
        raise NotVerified(f"the content is of event {named!r}, not {event_id!r}")
    leaf = leaf_hash(content.encode("utf-8"))
    if "leaf_hash" in bundle and _b64(bundle["leaf_hash"], 32, "leaf_hash") != leaf:
        raise NotVerified("the content does not hash to the bundle's leaf_hash")
    root = root_from_inclusion_proof(index, size, leaf, proof)
    if root is None:
        raise NotVerified(f"the proof does not fit leaf {index} of a tree of {size}")
    if root != checkpoint.root:
        raise NotVerified("the content and the proof do not lead to the checkpoint's root")
    when = f", signed {checkpoint.time}" if checkpoint.time else ""
    return (f"event {event_id} is entry {index} of log {checkpoint.origin} at checkpoint "
            f"{checkpoint.size}{when}")


def verify_consistency_bundle(bundle: dict, key: VerifierKey) -> str:
    first = open_checkpoint(_field(bundle, "first_checkpoint", str), key)
    second = open_checkpoint(_field(bundle, "second_checkpoint", str), key)
    proof = [_b64(h, 32, "a proof hash") for h in _field(bundle, "proof", list)]
    if first.origin != second.origin:
        raise NotVerified("the two checkpoints are of different logs")
    if (bundle.get("first"), bundle.get("second")) != (first.size, second.size):
        raise NotVerified("the bundle's sizes are not the checkpoints' sizes")
    if not verify_consistency(first.size, second.size, first.root, second.root, proof):
        raise NotVerified(f"checkpoint {second.size} does not extend checkpoint {first.size}: "
                          "the log was rewritten between them")
    return (f"checkpoint {second.size} of log {second.origin} extends checkpoint "
            f"{first.size}: nothing logged before was changed or removed")


def verify_bundle(bundle, key: VerifierKey) -> str:
    if not isinstance(bundle, dict):
        raise InputError("the bundle is not a JSON object")
    kind = bundle.get("format")
    if kind == INCLUSION:
        return verify_inclusion_bundle(bundle, key)
    if kind == CONSISTENCY:
        return verify_consistency_bundle(bundle, key)
    raise InputError(f"unknown bundle format {kind!r}")


# --- command line --------------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("bundle", nargs="+", help="proof bundle file(s) (JSON)")
    parser.add_argument("--public-key", "-k", required=True, metavar="KEY",
                        help="the log's public key: a file (/log/public-key JSON, verifier "
                             "key or PEM) or a verifier key string")


def _read_key(value: str) -> VerifierKey:
    """The key from a file, or given inline as a verifier key string."""
    if not os.path.exists(value) and "+" in value:
        return load_key(value)
    try:
        with open(value, encoding="utf-8") as handle:
            return load_key(handle.read())
    except OSError as exc:
        raise InputError(f"cannot read the key {value}: {exc.strerror}") from None


def run(args: argparse.Namespace) -> int:
    try:
        key = _read_key(args.public_key)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return INPUT_ERROR
    worst = OK  # the most severe outcome: NOT_VERIFIED > INPUT_ERROR > OK
    for path in args.bundle:
        try:
            with open(path, encoding="utf-8") as handle:
                bundle = json.load(handle)
            print(f"{path}: verified: {verify_bundle(bundle, key)}")
        except OSError as exc:
            print(f"{path}: error: cannot read it: {exc.strerror}", file=sys.stderr)
            worst = max(worst, INPUT_ERROR)
        except NotVerified as exc:
            print(f"{path}: NOT VERIFIED: {exc}", file=sys.stderr)
            worst = max(worst, NOT_VERIFIED)
        except ValueError as exc:  # malformed JSON or bundle (InputError)
            print(f"{path}: error: {exc}", file=sys.stderr)
            worst = max(worst, INPUT_ERROR)
    return worst


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="trace-scan verify", description=HELP)
    add_arguments(parser)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return USAGE if exc.code else OK
    return run(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
