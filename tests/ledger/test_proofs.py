"""/api/v1/log: proofs from the API verify in the independent verifier, and fail after any edit."""

from __future__ import annotations

import base64
import json
import subprocess
import sys

import pytest

from scanner_client import verify as offline
from tests.chain.flows import deliver, ship
from tests.helpers import error_of
from tests.ledger.conftest import entries, save


@pytest.fixture
def key_file(client, tmp_path):
    response = client.get("/api/v1/log/public-key")
    assert response.status_code == 200
    return save(tmp_path / "log-key.json", response.get_json())


def bundle_of(caller, event_id, **params):
    return caller.ok("GET", "/api/v1/log/proofs/inclusion", event_id=event_id, **params)


def check(tmp_path, key_file, bundle, name="bundle.json") -> int:
    return offline.main([save(tmp_path / name, bundle), "--public-key", key_file])


def test_public_key_and_checkpoints_need_no_api_key(history, client, app):
    key = client.get("/api/v1/log/public-key").get_json()
    assert key["log_id"] == app.config["LOG_ID"] and key["algorithm"] == "ed25519"
    assert len(base64.b64decode(key["public_key"])) == 32
    assert key["verifier_key"].startswith(f"{key['log_id']}+{key['key_id']}+")
    latest = client.get("/api/v1/log/checkpoints/latest")
    assert latest.status_code == 200, latest.get_json()
    body = latest.get_json()
    assert body["note"].startswith(f"{key['log_id']}\n{body['size']}\n{body['root_hash']}\ntime ")
    assert "\n\n\u2014 " + key["log_id"] + " " in body["note"]
    again = client.get(f"/api/v1/log/checkpoints/{body['size']}").get_json()
    assert again == body


def test_the_latest_checkpoint_is_refreshed_only_after_the_interval(history, client, app, world):
    first = client.get("/api/v1/log/checkpoints/latest").get_json()
    ship(world)
    assert client.get("/api/v1/log/checkpoints/latest").get_json() == first
    app.config["LOG_CHECKPOINT_INTERVAL_SECONDS"] = 0
    fresh = client.get("/api/v1/log/checkpoints/latest").get_json()
    assert fresh["size"] > first["size"]


def test_every_event_s_proof_bundle_verifies_offline_with_only_the_public_key(
        history, sql, tmp_path, key_file, capsys):
    log = entries(sql)
    for seq, _pk, event_id in log:
        bundle = bundle_of(history.inspector, event_id)
        assert bundle["seq"] == bundle["leaf_index"] == seq
        assert bundle["tree_size"] == len(log)
        assert check(tmp_path, key_file, bundle) == offline.OK, capsys.readouterr().err
    assert f"is entry {len(log) - 1} of log" in capsys.readouterr().out


def test_a_bundle_verifies_against_an_older_checkpoint_too(history, tmp_path, key_file, sql):
    log = entries(sql)
    old = bundle_of(history.inspector, log[3][2])  # signs a checkpoint at the current size
    ship(history)
    newer = bundle_of(history.inspector, entries(sql)[-1][2])
    assert newer["tree_size"] > old["tree_size"]
    again = bundle_of(history.inspector, log[3][2], size=old["tree_size"])
    assert again == old
    assert check(tmp_path, key_file, again) == offline.OK
    latest = bundle_of(history.inspector, log[3][2], size=newer["tree_size"])
    assert check(tmp_path, key_file, latest) == offline.OK


def _edits(bundle):
    """Every way of changing a bundle a forger might try, each a new bundle."""
    content = bundle["content"]
    i = content.index('"biz_step":"') + len('"biz_step":"')
    flipped = content[:i] + chr(ord(content[i]) ^ 1) + content[i + 1:]
    proof0 = base64.b64decode(bundle["proof"][0])
    body, sig = bundle["checkpoint"].split("\n\n")
    lines = body.split("\n")
    other_root = base64.b64encode(bytes(32)).decode()
    raw_sig = base64.b64decode(sig.split(" ")[2])
    yield "one byte of the content", {**bundle, "content": flipped,
                                      "leaf_hash": offline_leaf(flipped)}
    yield "a proof hash", {**bundle, "proof": [base64.b64encode(bytes([proof0[0] ^ 1])
                                                                + proof0[1:]).decode()]
                           + bundle["proof"][1:]}
    yield "a dropped proof hash", {**bundle, "proof": bundle["proof"][:-1]}
    yield "the leaf index", {**bundle, "seq": bundle["seq"] ^ 1, "leaf_index": bundle["seq"] ^ 1}
    yield "the tree size", {**bundle, "tree_size": bundle["tree_size"] + 1}
    yield "the checkpoint root", {**bundle, "checkpoint": "\n".join(
        lines[:2] + [other_root] + lines[3:]) + "\n\n" + sig}
    yield "the checkpoint size", {**bundle, "checkpoint": "\n".join(
        lines[:1] + [str(int(lines[1]) + 1)] + lines[2:]) + "\n\n" + sig}
    yield "the checkpoint signature", {**bundle, "checkpoint": body + "\n\n" + sig.rsplit(" ", 1)[0]
                                       + " " + base64.b64encode(raw_sig[:4] + bytes(64)).decode()
                                       + "\n"}
    yield "the event id", {**bundle, "event_id": "00000000-0000-4000-8000-000000000000"}


def offline_leaf(content: str) -> str:
    return base64.b64encode(offline.leaf_hash(content.encode())).decode()


def test_any_edit_to_a_bundle_makes_the_offline_verifier_fail(history, sql, tmp_path, key_file,
                                                              capsys):
    bundle = bundle_of(history.inspector, entries(sql)[6][2])
    assert check(tmp_path, key_file, bundle) == offline.OK
    for what, edited in _edits(bundle):
        code = check(tmp_path, key_file, edited)
        assert code == offline.NOT_VERIFIED, (what, capsys.readouterr())
        assert "NOT VERIFIED" in capsys.readouterr().err, what


def test_a_bundle_checked_with_another_log_s_key_fails(history, sql, tmp_path):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    bundle = bundle_of(history.inspector, entries(sql)[0][2])
    other = Ed25519PrivateKey.generate().public_key().public_bytes(
        Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    (tmp_path / "other.pem").write_bytes(other)
    code = offline.main([save(tmp_path / "b.json", bundle), "-k", str(tmp_path / "other.pem")])
    assert code == offline.NOT_VERIFIED


def test_the_verifier_key_string_and_a_pem_key_work_as_well_as_the_json(history, sql, client,
                                                                        tmp_path):
    key = client.get("/api/v1/log/public-key").get_json()
    bundle = save(tmp_path / "b.json", bundle_of(history.inspector, entries(sql)[1][2]))
    (tmp_path / "key.pem").write_text(key["public_key_pem"])
    assert offline.main([bundle, "-k", key["verifier_key"]]) == offline.OK
    assert offline.main([bundle, "-k", str(tmp_path / "key.pem")]) == offline.OK
    assert offline.main([bundle, "-k", str(tmp_path / "missing.json")]) == offline.INPUT_ERROR
    (tmp_path / "junk.json").write_text("{not json")
    assert offline.main([str(tmp_path / "junk.json"), "-k", key["verifier_key"]]) == \
        offline.INPUT_ERROR
    assert offline.main([]) == offline.USAGE


def test_consistency_proofs_between_checkpoints_verify_and_a_rewritten_log_does_not(
        history, client, sql, tmp_path, key_file, capsys):
    log = entries(sql)
    first = bundle_of(history.inspector, log[2][2])["tree_size"]
    ship(history)
    second = bundle_of(history.inspector, entries(sql)[-1][2])["tree_size"]
    response = client.get("/api/v1/log/proofs/consistency",
                          query_string={"first": first, "second": second})
    assert response.status_code == 200, response.get_json()
    proof = response.get_json()
    assert proof["proof"]
    assert check(tmp_path, key_file, proof) == offline.OK, capsys.readouterr().err
    same = client.get("/api/v1/log/proofs/consistency",
                      query_string={"first": second, "second": second}).get_json()
    assert same["proof"] == [] and check(tmp_path, key_file, same) == offline.OK
    forged = {**proof, "proof": list(reversed(proof["proof"]))}
    assert check(tmp_path, key_file, forged) == offline.NOT_VERIFIED
    swapped = {**proof, "first_checkpoint": proof["second_checkpoint"],
               "second_checkpoint": proof["first_checkpoint"]}
    assert check(tmp_path, key_file, swapped) == offline.NOT_VERIFIED


def test_inclusion_proofs_need_trail_read_and_show_only_what_the_trail_shows(
        history, sql, client):
    event_id = entries(sql)[-1][2]  # a receipt: the merchant's goods, the carrier's parcel
    anonymous = client.get("/api/v1/log/proofs/inclusion", query_string={"event_id": event_id})
    assert anonymous.status_code == 401
    device = history.device.get("/api/v1/log/proofs/inclusion", event_id=event_id)
    assert device.status_code == 403 and error_of(device)["code"] == "permission_denied"
    assert history.merchant.get("/api/v1/log/proofs/inclusion",
                                event_id=event_id).status_code == 200
    assert history.carrier.get("/api/v1/log/proofs/inclusion",
                               event_id=event_id).status_code == 200
    other = history.pharmacy.get("/api/v1/log/proofs/inclusion", event_id=event_id)
    assert other.status_code == 404 and error_of(other)["code"] == "event_not_in_log"


def test_unknown_events_and_sizes_are_404_and_impossible_ones_422(history, sql, client):
    inspector = history.inspector
    log = entries(sql)
    unknown = inspector.get("/api/v1/log/proofs/inclusion", event_id="nope")
    assert unknown.status_code == 404 and error_of(unknown)["code"] == "event_not_in_log"
    size = bundle_of(inspector, log[0][2])["tree_size"]
    assert inspector.get("/api/v1/log/proofs/inclusion", event_id=log[0][2],
                         size=size + 100).status_code == 404
    ship(history)
    late = entries(sql)[-1][2]
    too_small = inspector.get("/api/v1/log/proofs/inclusion", event_id=late, size=size)
    assert too_small.status_code == 422
    assert error_of(too_small)["code"] == "event_after_checkpoint"
    assert client.get("/api/v1/log/checkpoints/99999").status_code == 404
    backwards = client.get("/api/v1/log/proofs/consistency",
                           query_string={"first": size, "second": 1})
    assert backwards.status_code == 422 and error_of(backwards)["code"] == "bad_sizes"
    missing = client.get("/api/v1/log/proofs/consistency", query_string={"first": "x"})
    assert missing.status_code == 422


def test_the_offline_verifier_never_imports_the_service():
    code = ("import sys, scanner_client.verify as v; "
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
            "('trace_service', 'flask', 'sqlalchemy')); print(bad); sys.exit(1 if bad else 0)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_proofs_are_served_for_events_recorded_through_every_step(history, sql, tmp_path,
                                                                  key_file):
    _order, parcel = ship(history)
    assert deliver(history, parcel).status_code == 201
    bundle = bundle_of(history.inspector, entries(sql)[-1][2])
    assert json.loads(bundle["content"])["biz_step"] == "receipt"
    assert check(tmp_path, key_file, bundle) == offline.OK
