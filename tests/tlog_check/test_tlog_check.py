"""tlog_check: the one implementation of the checks; cosignatures as tlog-cosignature says."""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

import tlog_check
from tlog_check.cosignature import CosignatureKey, cosignatures_in

BODY = "log.test/log\n3\n" + base64.b64encode(b"\x07" * 32).decode() + "\n"


def test_a_cosignature_signs_the_v1_header_and_the_checkpoint_body_under_a_type_4_key_id():
    key = CosignatureKey("witness.test/w1", Ed25519PrivateKey.generate())
    line = tlog_check.make_cosignature(key, BODY, timestamp=1_700_000_000)
    name, blob = line[len("\u2014 "):-1].split(" ")
    raw = base64.b64decode(blob)
    assert name == "witness.test/w1" and len(raw) == 4 + 8 + 64
    assert raw[:4] == hashlib.sha256(b"witness.test/w1\n\x04" + key.public_bytes).digest()[:4]
    assert int.from_bytes(raw[4:12], "big") == 1_700_000_000
    message = b"cosignature/v1\ntime 1700000000\n" + BODY.encode()
    key.private.public_key().verify(raw[12:], message)  # raises if not
    assert tlog_check.verify_cosignature(line, BODY, key.verifier_key) == 1_700_000_000
    parsed = tlog_check.parse_verifier_key(str(key.verifier_key))
    assert parsed == key.verifier_key and str(parsed).split("+")[1] == raw[:4].hex()


def test_a_cosignature_does_not_verify_over_another_body_or_as_a_log_signature():
    key = CosignatureKey("witness.test/w1", Ed25519PrivateKey.generate())
    line = tlog_check.make_cosignature(key, BODY)
    with pytest.raises(tlog_check.NotVerified) as exc:
        tlog_check.verify_cosignature(line, BODY.replace("\n3\n", "\n4\n"), key.verifier_key)
    assert exc.value.code == "bad_signature"
    as_log_key = tlog_check.VerifierKey(key.name, key.public_bytes)  # type 0x01
    with pytest.raises(tlog_check.NotVerified):
        tlog_check.verify_note(BODY + "\n" + line, as_log_key)
    note = BODY + "\n" + line
    assert cosignatures_in(note, [key.verifier_key]) == {key.name: pytest.approx(
        tlog_check.verify_cosignature(line, BODY, key.verifier_key))}


@pytest.mark.parametrize("note", [
    "no blank line\n", BODY + "\n", BODY + "\nnot a signature\n", BODY + "\n\u2014 name !!\n",
    BODY + "\n\u2014 name " + base64.b64encode(b"abcd").decode() + "\n", BODY.rstrip("\n"),
])
def test_malformed_notes_are_refused_with_a_stable_code(note):
    with pytest.raises(tlog_check.Malformed) as exc:
        tlog_check.parse_note(note)
    assert exc.value.code == "malformed_note"


@pytest.mark.parametrize("body", ["log\n03\n" + BODY.split("\n")[2] + "\n", "log\n3\nAAAA\n",
                                  "log\n3\n", "log\n-1\n" + BODY.split("\n")[2] + "\n"])
def test_malformed_checkpoint_bodies_are_refused(body):
    with pytest.raises(tlog_check.Malformed):
        tlog_check.parse_checkpoint(body)
