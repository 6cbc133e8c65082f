"""Offline check of an evidence bundle from the trace service, trusting only its public key.

    python -m scanner_client.evidence BUNDLE.zip --public-key KEY

A bundle (``"format": "trace-evidence-bundle/v1"``, from
``GET /api/v1/inspect/exports/evidence.zip``) is a zip of:

``manifest.json``   the bundle's subject, the events, and every other file with its
                    SHA-256 and size
``manifest.sig``    a signed note by the log's key (the same Ed25519 key and signed-note
                    format as the log's checkpoints) whose body is two lines:
                    ``trace-evidence-bundle/v1`` and ``sha256 <hex of manifest.json>``
``checkpoint.txt``  the signed checkpoint every proof leads to
``events/*.json``   one ``trace-inclusion-proof/v1`` bundle per event
``trail.json``      the trail as shown to the inspector; ``trail.csv``; ``README.txt``
``public-key.json`` the service's key, for reference only

It verifies when, with ``KEY`` (the same forms ``trace-scan verify`` takes): the manifest
signature is valid; the zip holds exactly the manifest's files, each with its SHA-256
and size; the checkpoint is signed by ``KEY``; every event's proof verifies against that
checkpoint (``scanner_client.verify``: content hash, audit path, signature); the events
of the manifest are the files' events, at their sequence numbers; and every step of
``trail.json`` carries exactly the verified content of its event. Any added, removed or
changed byte fails one of these checks.

Exit codes (as ``trace-scan verify``): 0 verified; 2 bad command line; 5 an input cannot
be read or is malformed; 10 the bundle does NOT verify (the message says which check).
This module shares only the wire format with the service and never imports it.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import io
import json
import sys
import zipfile

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from scanner_client.verify import (
    INPUT_ERROR, NOT_VERIFIED, OK, SIGNATURE_PREFIX, USAGE, InputError, NotVerified,
    VerifierKey, _read_key, open_checkpoint, verify_inclusion_bundle,
)

FORMAT = "trace-evidence-bundle/v1"
SIGNED = ("manifest.json", "manifest.sig")
MAX_MEMBER_BYTES = 64 * 1024 * 1024


def _members(archive: zipfile.ZipFile) -> dict[str, bytes]:
    names = archive.namelist()
    if len(names) != len(set(names)):
        raise NotVerified("the zip holds two files under one name")
    out = {}
    for info in archive.infolist():
        if info.is_dir():
            continue
        name = info.filename
        if name.startswith("/") or ".." in name.split("/") or "\\" in name:
            raise NotVerified(f"the zip holds a file outside the bundle: {name!r}")
        if info.file_size > MAX_MEMBER_BYTES:
            raise InputError(f"{name} is larger than {MAX_MEMBER_BYTES} bytes")
        out[name] = archive.read(info)
    return out


def check_manifest_signature(manifest: bytes, note: bytes, key: VerifierKey) -> str:
    """The log id that signed the manifest; NotVerified unless ``key`` signed it."""
    try:
        text = note.decode("utf-8")
    except UnicodeDecodeError:
        raise NotVerified("manifest.sig is not UTF-8 text") from None
    body, sep, sigs = text.partition("\n\n")
    if not sep or not sigs.endswith("\n"):
        raise NotVerified("manifest.sig is not a signed note")
    body += "\n"
    expected = f"{FORMAT}\nsha256 {hashlib.sha256(manifest).hexdigest()}\n"
    if body != expected:
        raise NotVerified("manifest.sig does not sign this manifest.json (SHA-256 differs)")
    public = Ed25519PublicKey.from_public_bytes(key.public_key)
    for line in sigs[:-1].split("\n"):
        if not line.startswith(SIGNATURE_PREFIX):
            raise NotVerified("manifest.sig has a malformed signature line")
        name, _, blob = line[len(SIGNATURE_PREFIX):].partition(" ")
        try:
            raw = base64.b64decode(blob, validate=True)
        except (ValueError, binascii.Error):
            raise NotVerified("manifest.sig has a malformed signature line") from None
        if len(raw) != 68 or (key.name is not None and name != key.name):
            continue
        if raw[:4] != key.key_id(name):
            continue
        try:
            public.verify(raw[4:], body.encode())
        except InvalidSignature:
            raise NotVerified("manifest.sig's signature is not valid for this key") from None
        return name
    raise NotVerified("manifest.sig carries no signature by this key")


def _json(data: bytes, what: str):
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise NotVerified(f"{what} is not valid JSON") from None


def verify_bundle(data: bytes, key: VerifierKey) -> str:
    """Raise NotVerified / InputError, or return a one-line description."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise InputError("the file is not a zip archive") from None
    with archive:
        files = _members(archive)
    for name in SIGNED:
        if name not in files:
            raise NotVerified(f"the bundle has no {name}")
    log_id = check_manifest_signature(files["manifest.json"], files["manifest.sig"], key)
    manifest = _json(files["manifest.json"], "manifest.json")
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise InputError(f"manifest.json is not a {FORMAT} manifest")
    listed = {f["path"]: f for f in manifest.get("files", [])}
    present = set(files) - set(SIGNED)
    if present - set(listed):
        raise NotVerified(f"files not in the manifest: {', '.join(sorted(present - set(listed)))}")
    if set(listed) - present:
        raise NotVerified(f"files missing: {', '.join(sorted(set(listed) - present))}")
    for path, entry in sorted(listed.items()):
        body = files[path]
        if hashlib.sha256(body).hexdigest() != entry.get("sha256") or len(body) != entry.get(
                "bytes"):
            raise NotVerified(f"{path} was changed: its SHA-256 is not the manifest's")
    events = manifest.get("events", [])
    if events and "checkpoint.txt" not in files:
        raise NotVerified("the bundle has events but no checkpoint.txt")
    checkpoint = None
    if "checkpoint.txt" in files:
        note = files["checkpoint.txt"].decode("utf-8", "replace")
        checkpoint = open_checkpoint(note, key)
        if checkpoint.size != manifest.get("tree_size"):
            raise NotVerified("the checkpoint's size is not the manifest's tree_size")
    contents = {}
    for entry in events:
        path = entry.get("file")
        if path not in files:
            raise NotVerified(f"the manifest names a missing event file {path!r}")
        proof = _json(files[path], path)
        try:
            verify_inclusion_bundle(proof, key)
        except NotVerified as exc:
            raise NotVerified(f"{path}: {exc}") from None
        if proof.get("checkpoint") != note:
            raise NotVerified(f"{path} leads to another checkpoint than checkpoint.txt")
        if (proof.get("event_id"), proof.get("seq")) != (entry.get("event_id"), entry.get("seq")):
            raise NotVerified(f"{path} is not the event the manifest says")
        contents[proof["event_id"]] = json.loads(proof["content"])
    if "trail.json" in files:
        _check_trail(_json(files["trail.json"], "trail.json"), contents, manifest)
    subject = manifest.get("subject", {}).get("key")
    left_out = len(manifest.get("events_left_out", []))
    more = f"; {left_out} later step(s) not yet under a checkpoint" if left_out else ""
    return (f"{len(events)} step(s) of {subject} are entries of log {log_id} at checkpoint "
            f"{manifest.get('tree_size')}; manifest signed; every file intact{more}")


def _check_trail(trail, contents: dict, manifest: dict) -> None:
    steps = trail.get("steps") if isinstance(trail, dict) else None
    if not isinstance(steps, list):
        raise NotVerified("trail.json has no steps")
    left_out = {e.get("event_id") for e in manifest.get("events_left_out", [])}
    shown = [s.get("event_id") for s in steps]
    if [e for e in shown if e not in left_out] != [e["event_id"] for e in manifest["events"]]:
        raise NotVerified("trail.json does not show exactly the bundle's events, in order")
    for step in steps:
        if step.get("event_id") in contents and step.get("content") != contents[step["event_id"]]:
            raise NotVerified(f"trail.json shows event {step['event_id']} with other content "
                              "than its proof")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scanner_client.evidence",
                                     description="check an evidence bundle offline")
    parser.add_argument("bundle", nargs="+", help="evidence bundle(s) (.zip)")
    parser.add_argument("--public-key", "-k", required=True, metavar="KEY",
                        help="the log's public key: a file (/log/public-key JSON, verifier key "
                             "or PEM) or a verifier key string")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return USAGE if exc.code else OK
    try:
        key = _read_key(args.public_key)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return INPUT_ERROR
    worst = OK
    for path in args.bundle:
        try:
            with open(path, "rb") as handle:
                data = handle.read()
            print(f"{path}: verified: {verify_bundle(data, key)}")
        except OSError as exc:
            print(f"{path}: error: cannot read it: {exc.strerror}", file=sys.stderr)
            worst = max(worst, INPUT_ERROR)
        except NotVerified as exc:
            print(f"{path}: NOT VERIFIED: {exc}", file=sys.stderr)
            worst = max(worst, NOT_VERIFIED)
        except ValueError as exc:
            print(f"{path}: error: {exc}", file=sys.stderr)
            worst = max(worst, INPUT_ERROR)
    return worst


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
