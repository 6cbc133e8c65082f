"""The witness program (tlog_witness) as a real process: what it cosigns, what it refuses."""

from __future__ import annotations

import requests

import tlog_check
from tlog_check.cosignature import verify_cosignature
from tests.witness.harness import MemoryLog, init_witness, running_witness, submission


def post(url: str, body: bytes) -> requests.Response:
    return requests.post(f"{url}/add-checkpoint", data=body, timeout=30)


def body_of(note: str) -> str:
    return tlog_check.parse_note(note)[0]


def test_a_witness_cosigns_checkpoints_that_extend_the_last_one_it_cosigned(tmp_path):
    log = MemoryLog()
    wkey = tlog_check.parse_verifier_key(
        init_witness(tmp_path, "witness.test/w1", log.key.verifier_key))
    log.append(b"a", b"b", b"c")
    with running_witness(tmp_path) as url:
        first = log.checkpoint()
        reply = post(url, submission(0, [], first))
        assert reply.status_code == 200, reply.text
        assert verify_cosignature(reply.text, body_of(first), wkey) > 0
        log.append(*(bytes([i]) for i in range(10)))
        second = log.checkpoint()
        reply = post(url, submission(3, log.proof(3, 13), second))
        assert reply.status_code == 200, reply.text
        assert reply.text.startswith("\u2014 witness.test/w1 ")
        verify_cosignature(reply.text, body_of(second), wkey)
        # The same checkpoint again is cosigned again; the same size with another root is a fork.
        assert post(url, submission(13, [], second)).status_code == 200


def test_a_witness_refuses_an_inconsistent_checkpoint_and_keeps_the_one_it_had(tmp_path):
    log = MemoryLog()
    init_witness(tmp_path, "witness.test/w1", log.key.verifier_key)
    log.append(*(bytes([i]) for i in range(5)))
    with running_witness(tmp_path) as url:
        assert post(url, submission(0, [], log.checkpoint())).status_code == 200
        # A fork: entry 2 rewritten and the log grown, signed by the log's own key.
        forked = MemoryLog(log.key.name, log.key.private)
        forked.append(*log.leaves)
        forked.leaves[2] = b"rewritten"
        forked.append(b"x", b"y")
        reply = post(url, submission(5, forked.proof(5, 7), forked.checkpoint()))
        assert reply.status_code == 422, reply.text
        assert reply.headers["Trace-Witness-Error"] == "bad_proof"
        # A proof of the honest log does not carry the forked checkpoint either.
        log.append(b"x", b"y")
        reply = post(url, submission(5, log.proof(5, 7), forked.checkpoint()))
        assert reply.status_code == 422
        # Same size, another root: 409 with the size it holds.
        same_size = MemoryLog(log.key.name, log.key.private)
        same_size.append(b"0", b"1", b"2", b"3", b"4")
        reply = post(url, submission(5, [], same_size.checkpoint()))
        assert reply.status_code == 409 and reply.text == "5\n"
        # The honest extension is still accepted: nothing was stored from the refusals.
        assert post(url, submission(5, log.proof(5, 7), log.checkpoint())).status_code == 200


def test_a_witness_refuses_a_checkpoint_signed_by_another_key(tmp_path):
    log = MemoryLog()
    init_witness(tmp_path, "witness.test/w1", log.key.verifier_key)
    impostor = MemoryLog(log.key.name)  # same log id, another key
    impostor.append(b"a")
    with running_witness(tmp_path) as url:
        reply = post(url, submission(0, [], impostor.checkpoint()))
        assert reply.status_code == 403, reply.text
        assert reply.headers["Trace-Witness-Error"] == "bad_signature"
        log.append(b"a")
        assert post(url, submission(0, [], log.checkpoint())).status_code == 200


def test_a_witness_answers_a_wrong_old_size_with_the_size_it_holds(tmp_path):
    log = MemoryLog()
    init_witness(tmp_path, "witness.test/w1", log.key.verifier_key)
    log.append(b"a", b"b", b"c", b"d")
    with running_witness(tmp_path) as url:
        assert post(url, submission(0, [], log.checkpoint(2))).status_code == 200
        reply = post(url, submission(0, [], log.checkpoint()))
        assert reply.status_code == 409
        assert reply.headers["Content-Type"] == "text/x.tlog.size"
        assert reply.text == "2\n"
        assert post(url, submission(5, [], log.checkpoint())).status_code == 400  # old > size
        assert post(url, submission(2, log.proof(2, 4), log.checkpoint())).status_code == 200
        other = MemoryLog("other.test/log")
        other.append(b"a")
        assert post(url, submission(0, [], other.checkpoint())).status_code == 404
        assert post(url, b"not a submission").status_code == 400


def test_a_witness_keeps_its_state_across_restarts(tmp_path):
    log = MemoryLog()
    init_witness(tmp_path, "witness.test/w1", log.key.verifier_key)
    log.append(b"a", b"b", b"c")
    with running_witness(tmp_path) as url:
        assert post(url, submission(0, [], log.checkpoint())).status_code == 200
    init_witness(tmp_path, "witness.test/w1", log.key.verifier_key)  # init again: state kept
    with running_witness(tmp_path) as url:
        reply = post(url, submission(0, [], log.checkpoint()))
        assert reply.status_code == 409 and reply.text == "3\n"
