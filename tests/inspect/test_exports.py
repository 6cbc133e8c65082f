"""Exports: CSV for Excel, JSON, and the evidence bundle checked offline."""

from __future__ import annotations

import csv
import io
import json
import zipfile

import pytest

from scanner_client import evidence as offline
from scanner_client import verify as single
from tests.chain.flows import MILK_LOT
from tests.inspect.conftest import scan, upload


def download(caller, path, **params):
    response = caller.get(path, **params)
    assert response.status_code == 200, response.get_json()
    assert "attachment" in response.headers["Content-Disposition"]
    return response


def rows_of(response):
    data = response.get_data()
    assert data.startswith(b"\xef\xbb\xbf") and b"\r\n" in data
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def test_a_trail_csv_opens_in_excel_sorts_and_has_stable_columns(history):
    path = "/api/v1/inspect/exports/trail.csv"
    response = download(history.inspector, path, key=history.ids["parcel_a"])
    assert response.mimetype == "text/csv"
    rows = rows_of(response)
    assert rows[0][:4] == ["n", "event_id", "biz_step", "disposition"]
    assert [r[2] for r in rows[1:]] == ["packing", "dispatch", "arrive", "receipt"]
    assert {r[rows[0].index("integrity")] for r in rows[1:]} == {"verified"}
    backwards = rows_of(download(history.inspector, path, key=history.ids["parcel_a"],
                                 sort="biz_step", order="desc"))
    assert [r[2] for r in backwards[1:]] == ["receipt", "packing", "dispatch", "arrive"]
    assert history.inspector.get(path, key=history.ids["parcel_a"], sort="nope").status_code == 422


def test_a_trace_csv_holds_every_movement_and_no_personal_data(history):
    response = download(history.inspector, "/api/v1/inspect/exports/trace.csv", key=MILK_LOT)
    rows = rows_of(response)
    header = rows[0]
    assert header[:3] == ["hop", "line_id", "item_key"] and "position" in header
    assert sorted(r[header.index("order_id")] for r in rows[1:]) == sorted(
        [history.ids["order_a"], history.ids["order_b"]])
    text = response.get_data(as_text=True)
    for personal in ("李娜", "王芳", "13912345678", "13700001111", "朝阳区"):
        assert personal not in text
    back = rows_of(download(history.inspector, "/api/v1/inspect/exports/trace.csv",
                            key=MILK_LOT, part="backward"))
    assert back[0] == ["hop", "relation", "kind", "ref", "name", "details"]
    whole = json.loads(download(history.inspector, "/api/v1/inspect/exports/trace.json",
                                key=MILK_LOT).get_data())
    assert len(whole["forward"]["items"]) == 2 and whole["backward"]["items"]
    trail = json.loads(download(history.inspector, "/api/v1/inspect/exports/trail.json",
                                key=MILK_LOT).get_data())
    assert trail["checkpoint"].count("\n") >= 5 and len(trail["steps"]) >= 8


def test_cells_that_excel_would_run_as_formulas_are_defused():
    from trace_service.inspect.exports import csv_bytes

    rows = [["=HYPERLINK(\"x\")", "-1+1"], ["plain", None]]
    data = csv_bytes(["a", "b"], rows).decode("utf-8-sig")
    assert "'=HYPERLINK" in data and "'-1+1" in data and "plain," in data


@pytest.fixture
def bundle(history, client, tmp_path):
    upload(history.device_b, scan(history.ids["parcel_b"], "depart", 2))
    response = download(history.inspector, "/api/v1/inspect/exports/evidence.zip",
                        key=history.ids["parcel_b"])
    assert response.mimetype == "application/zip"
    key = tmp_path / "log-key.json"
    key.write_text(json.dumps(client.get("/api/v1/log/public-key").get_json()))
    return response.get_data(), str(key)


def _zip(files: dict) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return out.getvalue()


def _files(data: bytes) -> dict:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def check(tmp_path, data, key, name="evidence.zip") -> int:
    path = tmp_path / name
    path.write_bytes(data)
    return offline.main([str(path), "--public-key", key])


def test_the_evidence_bundle_verifies_offline_with_only_the_public_key(bundle, tmp_path, capsys):
    data, key = bundle
    assert check(tmp_path, data, key) == offline.OK, capsys.readouterr().err
    out = capsys.readouterr().out
    assert "4 step(s) of 00/" in out and "manifest signed" in out
    files = _files(data)
    manifest = json.loads(files["manifest.json"])
    assert {f["path"] for f in manifest["files"]} == set(files) - {"manifest.json", "manifest.sig"}
    for entry in manifest["events"]:  # each event alone, with the log's own verifier
        path = tmp_path / "one.json"
        path.write_bytes(files[entry["file"]])
        assert single.main([str(path), "--public-key", key]) == single.OK


def _edited(files: dict, name: str, old: bytes, new: bytes) -> dict:
    assert old in files[name], name
    return dict(files, **{name: files[name].replace(old, new, 1)})


def test_the_evidence_bundle_fails_after_any_edit(bundle, tmp_path, capsys):
    data, key = bundle
    files = _files(data)
    event_file = next(n for n in files if n.startswith("events/") and "arrive" in
                      json.loads(files[n])["content"])
    manifest = json.loads(files["manifest.json"])
    edits = {
        "event content": _edited(files, event_file, b'arrive', b'depart'),
        "trail csv": _edited(files, "trail.csv", b"Shanghai", b"Beijing"),
        "trail json": _edited(files, "trail.json", b"SH hub", b"HZ hub"),
        "checkpoint": _edited(files, "checkpoint.txt", b"\n", b"\n\n"),
        "manifest": _edited(files, "manifest.json", b'"tree_size": ', b'"tree_size": 1'),
        "a file removed": {k: v for k, v in files.items() if k != "trail.csv"},
        "a file added": dict(files, **{"extra.txt": b"planted"}),
        "an event removed": {k: v for k, v in files.items() if k != event_file},
        "signature removed": {k: v for k, v in files.items() if k != "manifest.sig"},
    }
    assert manifest["events"]
    for what, changed in edits.items():
        code = check(tmp_path, _zip(changed), key, name=f"{what}.zip".replace(" ", "-"))
        assert code == offline.NOT_VERIFIED, (what, capsys.readouterr())
    err = capsys.readouterr().err
    assert "NOT VERIFIED" in err and "trail.csv was changed" in err
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    other_key = tmp_path / "other.pem"
    other_key.write_bytes(Ed25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    assert check(tmp_path, data, str(other_key)) == offline.NOT_VERIFIED
