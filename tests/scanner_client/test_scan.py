"""``trace-scan scan``: instant feedback per code, queued before it is shown, offline."""

from __future__ import annotations

import json

import pytest

from scanner_client import exitcodes
from scanner_client.queue import Queue
from tests.helpers import sscc

PARCEL = sscc(42)
OTHER = sscc(43)


def queued(home) -> list:
    with Queue(home / "queue.sqlite3") as q:
        return q.peek(100)


def test_a_wedge_session_gives_one_feedback_line_per_code(scan_home, trace_scan, wedge):
    bad = PARCEL[:-1] + str((int(PARCEL[-1]) + 1) % 10)
    wedge(f"]C100{PARCEL}", f"]C100{PARCEL}", f"]C100{bad}", "09506000134352",
          "(01)09506000134352(10)ABC", "(01)09506000134352(21)S1", "SF1234567890", "", "héllo!")
    r = trace_scan("scan", "--step", "arrive", "--staff", "W042", "--no-upload", "--no-bell")
    lines = r.out.splitlines()
    assert lines[0] == f"OK queued  00/{PARCEL}  (arrive #1)"
    assert lines[1].startswith(f"DUPLICATE (scanned 0s ago)  00/{PARCEL}")
    assert lines[2].startswith(f"BAD CHECK DIGIT: AI (00) SSCC check digit is wrong in {bad}: "
                               f"expected {PARCEL[-1]}, found {bad[-1]}")
    assert lines[3].startswith("UNKNOWN CODE  09506000134352  names a product")
    assert lines[4].startswith("UNKNOWN CODE  01/09506000134352/10/ABC  names a lot")
    assert lines[5] == "OK queued  01/09506000134352/21/S1  (arrive #2)"
    assert lines[6] == "OK queued  waybill/SF1234567890  (arrive #3)"
    assert lines[7].startswith("UNKNOWN CODE  héllo!") and len(lines) == 8
    assert r.code == exitcodes.INVALID_CODE  # some codes were refused
    assert "3 queued (0 flagged), 1 duplicate, 4 refused; 3 waiting" in r.err
    scans = queued(scan_home)
    assert [(s.trace_key, s.code_text, s.staff_no) for s in scans] == [
        (f"00/{PARCEL}", f"]C100{PARCEL}", "W042"),
        ("01/09506000134352/21/S1", "(01)09506000134352(21)S1", "W042"),
        ("waybill/SF1234567890", "SF1234567890", "W042")]


def test_a_logistics_label_with_an_sscc_and_a_content_gtin_is_the_parcel(
        scan_home, trace_scan, wedge):
    wedge(f"(00){PARCEL}(01)09506000134352(21)S1")
    r = trace_scan("scan", "--step", "arrive", "--no-upload")
    assert r.out.startswith(f"OK queued  00/{PARCEL}")


def test_recalled_and_blocked_goods_are_queued_but_flagged_with_a_bell(
        scan_home, trace_scan, wedge):
    with Queue(scan_home / "queue.sqlite3") as q:
        q.replace_blocklist([("01/09506000134352/10/L1", "lot", "recalled", "2026-11-01"),
                             (f"00/{OTHER}", "parcel", "blocked", None),
                             ("01/09506000134352/21/S9", "unit", "expired", None)])
    wedge("(01)09506000134352(10)L1(21)S1", f"{OTHER}", "(01)09506000134352(21)S9", PARCEL)
    r = trace_scan("scan", "--step", "depart", "--no-upload")
    lines = r.out.splitlines()
    assert lines[0].startswith("RECALLED  01/09506000134352/21/S1  lot 01/09506000134352/10/L1 "
                               "recalled since 2026-11-01; queued")
    assert lines[1].startswith(f"BLOCKED  00/{OTHER}  carries recalled or expired goods")
    assert lines[2].startswith("BLOCKED  01/09506000134352/21/S9  unit")
    assert lines[3].startswith(f"OK queued  00/{PARCEL}")
    assert r.err.count("\a") == 3 and r.code == exitcodes.OK
    assert len(queued(scan_home)) == 4


def test_json_feedback_carries_the_scan_id_and_sequence(scan_home, trace_scan, wedge):
    wedge(PARCEL)
    r = trace_scan("scan", "--step", "arrive", "--no-upload", "--json")
    (record,) = [json.loads(line) for line in r.out.splitlines()]
    (scan,) = queued(scan_home)
    assert record == {"status": "ok", "text": PARCEL, "key": f"00/{PARCEL}", "id": scan.id,
                      "seq": 1, "detail": None}


def test_the_step_comes_from_the_option_or_the_environment(scan_home, trace_scan, wedge,
                                                           monkeypatch):
    wedge(PARCEL)
    r = trace_scan("scan", "--no-upload")
    assert r.code == exitcodes.CONFIG_ERROR and "no step" in r.err
    monkeypatch.setenv("TRACE_SCAN_STEP", "receipt")
    wedge(PARCEL)
    assert trace_scan("scan", "--no-upload").code == 0
    assert queued(scan_home)[0].step == "receipt"


def test_without_a_server_scanning_still_works_offline(scan_home, trace_scan, wedge):
    wedge(PARCEL)
    r = trace_scan("scan", "--step", "arrive")
    assert r.code == 0 and "scans are only queued" in r.err and len(queued(scan_home)) == 1


# ------------------------------------------------------------------- images

zxingcpp = pytest.importorskip("zxingcpp")


def sscc_image(path, sscc18: str):
    from PIL import Image

    from benchmarks.decode_images import zx_to_pil

    barcode = zxingcpp.create_barcode(f"(00){sscc18}", zxingcpp.BarcodeFormat.Code128, gs1=True)
    img = zx_to_pil(barcode.to_image(scale=3))
    img = img.resize((img.width, 120))
    page = Image.new("L", (img.width + 100, img.height + 100), 255)
    page.paste(img, (50, 50))
    page.save(path)
    return path


def test_codes_in_image_files_are_queued(scan_home, trace_scan, tmp_path):
    pytest.importorskip("pyzbar.pyzbar")
    image = sscc_image(tmp_path / "label.png", PARCEL)
    blank = tmp_path / "blank.png"
    from PIL import Image

    Image.new("L", (200, 200), 255).save(blank)
    r = trace_scan("scan", "--step", "arrive", "--no-upload", "--image", image, blank,
                   tmp_path / "missing.png")
    assert r.out.splitlines() == [f"label.png: OK queued  00/{PARCEL}  (arrive #1)"]
    assert "blank.png: no barcode found" in r.err and "missing.png" in r.err
    assert r.code == exitcodes.INPUT_ERROR  # the most severe of the three
    assert [s.code_text for s in queued(scan_home)] == [f"(00){PARCEL}"]


def test_a_watched_folder_processes_each_snapshot_once_and_moves_it(
        scan_home, trace_scan, tmp_path):
    pytest.importorskip("pyzbar.pyzbar")
    folder = tmp_path / "snapshots"
    folder.mkdir()
    sscc_image(folder / "a.png", PARCEL)
    sscc_image(folder / "b.png", OTHER)
    (folder / "notes.txt").write_text("not an image")
    (folder / "broken.png").write_bytes(b"\x89PNG garbage")
    # b.png was processed before a crash that happened before it could be moved:
    with Queue(scan_home / "queue.sqlite3") as q:
        st = (folder / "b.png").stat()
        q.remember_file(f"b.png:{st.st_size}:{st.st_mtime_ns}")
    r = trace_scan("scan", "--step", "arrive", "--no-upload", "--watch", folder, "--once")
    assert r.out.splitlines() == [f"a.png: OK queued  00/{PARCEL}  (arrive #1)"]
    assert sorted(p.name for p in (folder / "done").iterdir()) == ["a.png", "b.png"]
    assert [p.name for p in (folder / "failed").iterdir()] == ["broken.png"]
    assert (folder / "notes.txt").exists()
    assert [s.trace_key for s in queued(scan_home)] == [f"00/{PARCEL}"]
