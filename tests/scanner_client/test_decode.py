"""The scanner client reads barcodes from images and checks them locally.

Through the public interfaces: ``trace-scan decode`` (``scanner_client.cli.main``
and once as a real process), ``scanner_client.decode.decode_image`` and
``scanner_client.codes.parse_code``.  Images come from the deterministic
generator in ``benchmarks.decode_images`` (a small subset, rendered into a
temporary directory) or are drawn here for the odd cases.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip(
    "pyzbar.pyzbar", reason="pyzbar needs the zbar system library (apt-get install libzbar0)"
)
zxingcpp = pytest.importorskip("zxingcpp")

from PIL import Image, ImageDraw  # noqa: E402

from benchmarks.decode_images import KINDS, TEST_SUBSET, zx_to_pil  # noqa: E402
from scanner_client import exitcodes  # noqa: E402
from scanner_client.codes import parse_code  # noqa: E402
from scanner_client.decode import decode_image  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
HARD = [cell for cell in TEST_SUBSET if cell[1] != "clean"]
CODE_KINDS = [kind for kind in KINDS if kind != "none"]


def _symbol(content: str, fmt: str, scale: int = 3, gs1: bool = False) -> Image.Image:
    kwargs = {"gs1": True} if gs1 else {}
    barcode = zxingcpp.create_barcode(content, getattr(zxingcpp.BarcodeFormat, fmt), **kwargs)
    img = zx_to_pil(barcode.to_image(scale=scale))
    if fmt in ("Code128", "EAN13", "UPCA", "UPCE", "EAN8"):
        img = img.resize((img.width, max(img.height, 120)), Image.Resampling.NEAREST)
    return img


def _page(*symbols: Image.Image, gap: int = 60) -> Image.Image:
    width = max(s.width for s in symbols) + 2 * gap
    height = sum(s.height for s in symbols) + gap * (len(symbols) + 1)
    page = Image.new("L", (width, height), 255)
    y = gap
    for s in symbols:
        page.paste(s, (gap, y))
        y += s.height + gap
    return page


def _save(img: Image.Image, path: Path) -> Path:
    img.save(path)
    return path


# --------------------------------------------------------------- round trips


@pytest.mark.parametrize("kind", CODE_KINDS)
def test_each_kind_of_code_round_trips_to_its_identifiers(image_set, trace_scan, kind):
    entry = image_set[(kind, "clean")]
    result = trace_scan("decode", "--json", entry["path"])
    assert result.code == exitcodes.OK, result.err
    [record] = result.records
    assert record["file"] == str(entry["path"])
    assert record["symbology"] == entry["symbology"]
    assert record["text"] == entry["text"]
    assert record["ids"] == entry["ids"]
    assert record["valid"] is True
    assert record["error"] is None


def test_a_gs1_datamatrix_is_read_with_its_application_identifiers(image_set, trace_scan):
    entry = image_set[("gs1-dm", "clean")]
    [record] = trace_scan("decode", "--json", entry["path"]).records
    assert record["symbology"] == "GS1-DataMatrix"
    assert record["symbology_identifier"] == "]d2"
    assert record["decoder"] == "zxing-cpp"  # zbar cannot read DataMatrix
    assert (
        record["text"].startswith("(01)") and "(17)" in record["text"] and "(21)" in record["text"]
    )
    ids = record["ids"]
    assert set(ids) == {"gtin", "expiry", "lot", "serial", "trace_key"}
    assert len(ids["gtin"]) == 14
    assert ids["trace_key"] == f"01/{ids['gtin']}/21/{ids['serial']}"


def test_a_gs1_128_element_string_keeps_its_fnc1_separators_whichever_decoder_reads_it(tmp_path):
    # (10) is variable length and followed by (21): a GS must separate them.
    hri = "(01)09506000134352(17)261231(10)LOT7(21)SN0042"
    path = _save(_page(_symbol(hri, "Code128", gs1=True)), tmp_path / "gs1-128.png")
    results = {}
    for decoder in ("pyzbar", "zxing-cpp"):
        [d] = decode_image(path, decoders=(decoder,))
        results[decoder] = d
        assert d.symbology == "GS1-128"
        assert d.symbology_identifier == "]C1"
        assert d.text == hri
        assert d.raw == "01095060001343521726123110LOT7\x1d21SN0042"
    parsed = parse_code(results["pyzbar"].text, "GS1-128")
    assert parsed.valid
    assert parsed.ids == {
        "gtin": "09506000134352",
        "expiry": "2026-12-31",
        "lot": "LOT7",
        "serial": "SN0042",
        "trace_key": "01/09506000134352/21/SN0042",
    }


def test_a_twenty_digit_code128_is_a_drug_code_but_a_gs1_128_sscc_is_a_logistic_unit(
    tmp_path, trace_scan
):
    drug = _save(_page(_symbol("81234567890123456789", "Code128")), tmp_path / "drug.png")
    sscc = _save(
        _page(_symbol("(00)106141411234567897", "Code128", gs1=True)), tmp_path / "sscc.png"
    )
    result = trace_scan("decode", "--json", drug, sscc)
    assert result.code == exitcodes.OK
    by_file = {Path(r["file"]).name: r for r in result.records}
    assert by_file["drug.png"]["symbology"] == "Code128"
    assert by_file["drug.png"]["ids"] == {
        "drug_code": "81234567890123456789",
        "trace_key": "drug/81234567890123456789",
    }
    assert by_file["sscc.png"]["symbology"] == "GS1-128"
    assert by_file["sscc.png"]["ids"] == {
        "sscc": "106141411234567897",
        "trace_key": "00/106141411234567897",
    }


# ------------------------------------------------------------ UPC handling


@pytest.mark.parametrize("decoder", ["pyzbar", "zxing-cpp"])
def test_a_upc_a_is_reported_as_its_twelve_printed_digits_with_the_gtin_14(
    tmp_path, trace_scan, decoder
):
    path = _save(_page(_symbol("036000291452", "UPCA")), tmp_path / "upca.png")
    [record] = trace_scan("decode", "--json", "--decoder", decoder, path).records
    assert record["symbology"] == "UPC-A"
    assert record["text"] == "036000291452"  # not zbar's/zxing's 13-digit "0036000291452"
    assert record["ids"] == {"gtin": "00036000291452", "trace_key": None}
    assert record["valid"] is True


@pytest.mark.parametrize("decoder", ["pyzbar", "zxing-cpp"])
def test_a_upc_e_is_reported_as_printed_and_expanded_to_its_gtin_14(tmp_path, trace_scan, decoder):
    path = _save(_page(_symbol("01234565", "UPCE")), tmp_path / "upce.png")
    [record] = trace_scan("decode", "--json", "--decoder", decoder, path).records
    assert record["symbology"] == "UPC-E"
    assert record["text"] == "01234565"
    assert record["ids"] == {"gtin": "00012345000065", "trace_key": None}


def test_an_ean13_is_not_also_reported_as_a_phantom_upc_e_inside_it(tmp_path):
    # This perspective-warped EAN-13 made zxing-cpp report a UPC-E read from half of it.
    from benchmarks.decode_images import build_specs, render

    spec = build_specs(per_cell=2, cells=[("ean13", "perspective")])[1]
    img, _ = render(spec)
    found = decode_image(img)
    assert [(d.symbology, d.text) for d in found] == [("EAN-13", spec.text)]


# ------------------------------------------------------- bad check digits


def test_a_gs1_128_with_a_wrong_gtin_check_digit_is_invalid_and_says_which(tmp_path, trace_scan):
    # The zxing-cpp writer does not recompute check digits: the symbol carries the bad GTIN.
    path = _save(
        _page(_symbol("(01)09506000134353(10)ABC123", "Code128", gs1=True)), tmp_path / "bad.png"
    )
    result = trace_scan("decode", "--json", path)
    assert result.code == exitcodes.INVALID_CODE
    [record] = result.records
    assert record["text"] == "(01)09506000134353(10)ABC123"
    assert record["valid"] is False
    assert record["ids"] is None
    assert "AI (01) GTIN check digit" in record["error"]
    assert "expected 2, found 3" in record["error"]


def test_a_digital_link_qr_with_a_wrong_gtin_is_invalid_and_says_which(tmp_path, trace_scan):
    import qrcode

    uri = "https://trace.example.cn/01/06901234567891/21/SN1"  # check digit should be 2
    qr = qrcode.make(uri, box_size=6).get_image().convert("L")
    path = _save(_page(qr), tmp_path / "bad-qr.png")
    result = trace_scan("decode", path)  # human readable output
    assert result.code == exitcodes.INVALID_CODE
    assert "INVALID" in result.out
    assert "GTIN check digit is wrong" in result.out
    assert "expected 2, found 1" in result.out


def test_an_ean13_with_a_wrong_check_digit_is_never_valid():
    parsed = parse_code("4006381333932", "EAN-13")
    assert parsed.valid is False
    assert parsed.ids is None
    assert parsed.error == "GTIN-13 check digit is wrong in 4006381333932: expected 1, found 2"


@pytest.mark.parametrize(
    "text, symbology, expected_error",
    [
        ("]C100106141411234567898", None, "AI (00) SSCC check digit is wrong"),
        ("(01)09506000134352(414)5790000000013", "GS1-128", "AI (414) GLN check digit is wrong"),
        ("01234567", "UPC-E", "UPC-E check digit is wrong in 01234567: expected 5, found 7"),
        ("https://id.gs1.org/01/09506000134353", "QRCode", "AI (01) GTIN check digit is wrong"),
        ("(01)09506000134352(17)261345", "GS1-128", "(17)"),
        ("hello, world", "QRCode", "not a recognised identifier"),
    ],
)
def test_a_bad_identifier_is_rejected_with_a_reason(text, symbology, expected_error):
    parsed = parse_code(text, symbology)
    assert parsed.valid is False
    assert parsed.ids is None
    assert expected_error in parsed.error


@pytest.mark.parametrize(
    "wedge_text, ids",
    [
        # A keyboard-wedge scanner sends the AIM identifier and GS separators.
        (
            "]d201095060001343521726123110LOT7\x1d21SN0042",
            {
                "gtin": "09506000134352",
                "expiry": "2026-12-31",
                "lot": "LOT7",
                "serial": "SN0042",
                "trace_key": "01/09506000134352/21/SN0042",
            },
        ),
        (
            "]Q301095060001343521124013110LOT7",
            {
                "gtin": "09506000134352",
                "production_date": "2024-01-31",
                "lot": "LOT7",
                "trace_key": "01/09506000134352/10/LOT7",
            },
        ),
        ("]e00109506000134352", {"gtin": "09506000134352", "trace_key": None}),
        (
            "]C100106141411234567897\x1d4145790000000012",
            {
                "sscc": "106141411234567897",
                "gln": "5790000000012",
                "trace_key": "00/106141411234567897",
            },
        ),
        ("96385074", {"gtin": "00000096385074", "trace_key": None}),
        (
            "106141411234567897",
            {"sscc": "106141411234567897", "trace_key": "00/106141411234567897"},
        ),
        (
            "]C0SF1234567890123",
            {"waybill": "SF1234567890123", "trace_key": "waybill/SF1234567890123"},
        ),
        (
            "]C081234567890123456789",
            {"drug_code": "81234567890123456789", "trace_key": "drug/81234567890123456789"},
        ),
    ],
)
def test_texts_from_a_keyboard_wedge_scanner_are_parsed_by_their_symbology_identifier(
    wedge_text, ids
):
    parsed = parse_code(wedge_text + "\r\n")
    assert parsed.error is None
    assert parsed.valid is True
    assert parsed.ids == ids


# ------------------------------------------------------------- hard images


@pytest.mark.parametrize("cell", HARD, ids=["-".join(c) for c in HARD])
def test_blurred_rotated_noisy_warped_and_small_images_are_read(image_set, trace_scan, cell):
    entry = image_set[cell]
    result = trace_scan("decode", "--json", entry["path"])
    assert result.code == exitcodes.OK, result.out + result.err
    texts = [(r["symbology"], r["text"]) for r in result.records]
    assert (entry["symbology"], entry["text"]) in texts
    [record] = [r for r in result.records if r["text"] == entry["text"]]
    assert record["ids"] == entry["ids"]


FALLBACK_CELLS = [
    ("ean13", "blur"),
    ("gs1-dm", "blur"),
    ("gs1-128-sscc", "rotate_small"),
    ("ean8", "blur+noise+rotate"),
]


@pytest.mark.parametrize("cell", FALLBACK_CELLS, ids=["-".join(c) for c in FALLBACK_CELLS])
def test_images_the_first_pass_cannot_read_are_read_by_the_fallback_passes(image_set, cell):
    entry = image_set[cell]
    assert decode_image(entry["path"], fallbacks=False) == []
    found = decode_image(entry["path"])
    assert [(d.symbology, d.text) for d in found] == [(entry["symbology"], entry["text"])]
    assert found[0].stage != "original"


def test_pyzbar_alone_misses_the_datamatrix_the_client_reads(image_set):
    path = image_set[("gs1-dm", "small")]["path"]
    assert decode_image(path, decoders=("pyzbar",)) == []
    assert [d.symbology for d in decode_image(path)] == ["GS1-DataMatrix"]


def test_a_pack_with_an_ean13_and_a_gs1_datamatrix_yields_both(tmp_path, trace_scan):
    ean = _symbol("6901234567892", "EAN13")
    dm = _symbol("(01)06901234567892(17)270101(10)B12(21)X1", "DataMatrix", scale=5, gs1=True)
    path = _save(_page(ean, dm), tmp_path / "pack.png")
    result = trace_scan("decode", "--json", path)
    assert result.code == exitcodes.OK
    assert sorted(r["symbology"] for r in result.records) == ["EAN-13", "GS1-DataMatrix"]


def test_the_same_code_twice_in_one_image_is_reported_once(tmp_path):
    qr = _symbol("https://id.gs1.org/01/09506000134352/21/A1", "QRCode", scale=4)
    found = decode_image(_page(qr, qr))
    assert [(d.symbology, d.text) for d in found] == [
        ("QRCode", "https://id.gs1.org/01/09506000134352/21/A1")
    ]


# ------------------------------------------------------- empty and bad input


def test_an_empty_image_says_no_barcode_found(tmp_path, trace_scan):
    img = Image.new("RGB", (640, 480), (200, 180, 150))
    ImageDraw.Draw(img).rectangle((100, 100, 400, 300), fill=(250, 250, 250))
    path = _save(img, tmp_path / "empty.png")
    result = trace_scan("decode", path)
    assert result.code == exitcodes.NOTHING_DECODED
    assert result.out == ""
    assert result.err == f"{path}: no barcode found\n"


def test_a_label_with_text_but_no_barcode_says_no_barcode_found(image_set, trace_scan):
    path = image_set[("none", "clean")]["path"]

    plain = trace_scan("decode", path)
    assert plain.code == exitcodes.NOTHING_DECODED
    assert plain.out == ""
    assert f"{path}: no barcode found" in plain.err

    as_json = trace_scan("decode", "--json", path)
    assert as_json.code == exitcodes.NOTHING_DECODED
    assert as_json.records == [
        {
            "file": str(path),
            "symbology": None,
            "text": None,
            "ids": None,
            "valid": False,
            "error": "no barcode found",
            "symbology_identifier": None,
            "decoder": None,
        }
    ]


def _truncated_png() -> bytes:
    import io

    buf = io.BytesIO()
    Image.effect_noise((200, 200), 50).save(buf, "PNG")
    return buf.getvalue()[: len(buf.getvalue()) // 2]


@pytest.mark.parametrize(
    "name, content, reason",
    [
        ("notes.txt", lambda: b"not an image at all\n", "not an image file"),
        ("broken.png", _truncated_png, "cannot read image"),
    ],
    ids=["text-file", "truncated-png"],
)
def test_a_file_that_is_not_an_image_gives_a_clear_error_and_exit_code_5(
    tmp_path, trace_scan, name, content, reason
):
    path = tmp_path / name
    path.write_bytes(content())
    result = trace_scan("decode", "--json", path)
    assert result.code == exitcodes.INPUT_ERROR == 5
    assert "Traceback" not in result.err
    assert f"trace-scan: error: {path}: {reason}" in result.err
    [record] = result.records
    assert record["valid"] is False and record["text"] is None
    assert reason in record["error"]


def test_a_missing_file_does_not_stop_the_other_files(image_set, tmp_path, trace_scan):
    good = image_set[("ean13", "clean")]["path"]
    result = trace_scan("decode", tmp_path / "missing.jpg", good)
    assert result.code == exitcodes.INPUT_ERROR
    assert "missing.jpg: no such file" in result.err
    assert f"{good}: EAN-13 {image_set[('ean13', 'clean')]['text']}  ok" in result.out


def test_a_bad_command_line_returns_the_usage_exit_code(trace_scan):
    assert trace_scan("decode").code == exitcodes.USAGE
    assert trace_scan("no-such-command").code == exitcodes.USAGE
    assert trace_scan().code == exitcodes.USAGE
    assert trace_scan("--help").code == exitcodes.OK


# ------------------------------------------------------------ real process


def test_the_command_runs_as_a_real_process(image_set):
    dm = image_set[("gs1-dm", "clean")]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    proc = subprocess.run(
        [sys.executable, "-m", "scanner_client", "decode", "--json", str(dm["path"])],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    [record] = [json.loads(line) for line in proc.stdout.splitlines()]
    assert record["ids"] == dm["ids"]

    proc = subprocess.run(
        [sys.executable, "-m", "scanner_client", "decode", str(ROOT / "no-such-file.png")],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env=env,
    )
    assert proc.returncode == exitcodes.INPUT_ERROR
    assert "no such file" in proc.stderr and "Traceback" not in proc.stderr


def test_the_scanner_client_never_imports_the_trace_service():
    code = (
        "import sys\n"
        "import scanner_client.cli, scanner_client.decode, scanner_client.codes\n"
        "import scanner_client.commands.decode\n"
        "from scanner_client.cli import build_parser; build_parser()\n"
        "bad = [m for m in sys.modules if m == 'trace_service' or m.startswith('trace_service.')]\n"
        "assert not bad, bad\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT, env=env
    )
    assert proc.returncode == 0, proc.stderr
