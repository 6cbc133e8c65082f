"""Labels: every kind decodes back to the same identifiers with the scanner client
(``scanner_client.decode``), as PNG and SVG; sheets; options; the API and the CLI."""

from __future__ import annotations

import io
import re

import pytest
from click.testing import CliRunner
from PIL import Image, ImageDraw

from scanner_client.codes import parse_code
from scanner_client.decode import decode_image
from tests.helpers import Caller, error_of
from trace_service.labels import sheets, symbols
from trace_service.labels.content import Subject, symbol_for
from trace_service.public.resolve import from_digital_link

BASE = "https://trace.example.com"
GTIN = "06909876543212"
DRUG_CODE = "81234560000010016919"
SSCC = "069012340000000016"


def rasterise_svg(svg: str, scale: int = 1) -> Image.Image:
    """Draw our SVGs (rectangles as ``M x y h w v h h -w z`` paths) into a bitmap."""
    width, height = (int(v) for v in re.search(r'width="(\d+)" height="(\d+)"', svg).groups())
    img = Image.new("L", (width * scale, height * scale), 255)
    draw = ImageDraw.Draw(img)
    path = re.search(r'<path fill="#000" d="([^"]*)"', svg).group(1)
    for x, y, w, h in re.findall(r"M(\d+) (\d+)h(\d+)v(\d+)h-\d+z", path):
        x, y, w, h = int(x), int(y), int(w), int(h)
        draw.rectangle((x * scale, y * scale, (x + w) * scale - 1, (y + h) * scale - 1), fill=0)
    return img


def decoded_ids(image: Image.Image) -> list[dict]:
    found = decode_image(image)
    assert found, "nothing decoded"
    out = []
    for d in found:
        parsed = parse_code(d.text, d.symbology, d.symbology_identifier)
        if parsed.valid:
            out.append(parsed.ids)
        else:  # our own /drug/ and /waybill/ URLs are not GS1: resolve them like the server
            out.append({"url": d.text})
    return out


UNIT = Subject(gtin=GTIN, lot="B2611007", serial="SN0001",
               expiry=__import__("datetime").date(2028, 10, 22))
CASES = [
    # (subject, symbology, expected ids (subset), with_expiry)
    (UNIT, "qr", {"gtin": GTIN, "lot": "B2611007", "serial": "SN0001",
                  "trace_key": f"01/{GTIN}/21/SN0001"}, False),
    (UNIT, "qr", {"expiry": "2028-10-22", "trace_key": f"01/{GTIN}/21/SN0001"}, True),
    (UNIT, "datamatrix", {"gtin": GTIN, "lot": "B2611007", "serial": "SN0001",
                          "expiry": "2028-10-22"}, True),
    (UNIT, "gs1-128", {"trace_key": f"01/{GTIN}/21/SN0001", "lot": "B2611007"}, False),
    (Subject(gtin=GTIN, lot="B2611007"), "qr", {"trace_key": f"01/{GTIN}/10/B2611007"}, False),
    (Subject(gtin=GTIN, lot="B2611007"), "datamatrix",
     {"trace_key": f"01/{GTIN}/10/B2611007"}, False),
    (Subject(gtin=GTIN, lot="A/B-1"), "gs1-128", {"lot": "A/B-1"}, False),
    (Subject(sscc=SSCC), "qr", {"sscc": SSCC, "trace_key": f"00/{SSCC}"}, False),
    (Subject(sscc=SSCC), "gs1-128", {"sscc": SSCC, "trace_key": f"00/{SSCC}"}, False),
    (Subject(sscc=SSCC), "datamatrix", {"sscc": SSCC}, False),
    (Subject(gtin=GTIN), "ean13", {"gtin": GTIN, "trace_key": None}, False),
    (Subject(drug_code=DRUG_CODE), "code128", {"drug_code": DRUG_CODE,
                                               "trace_key": f"drug/{DRUG_CODE}"}, False),
    (Subject(waybill="SX100200301CN"), "code128", {"waybill": "SX100200301CN"}, False),
]


@pytest.mark.parametrize("fmt", ["png", "svg"])
@pytest.mark.parametrize("subject, symbology, expected, with_expiry", CASES)
def test_every_label_kind_decodes_back_to_the_same_identifiers(subject, symbology, expected,
                                                               with_expiry, fmt):
    symbol = symbol_for(subject, symbology, BASE, with_expiry)
    if fmt == "png":
        image = Image.open(io.BytesIO(symbols.png(symbol, size=4)))
    else:
        image = rasterise_svg(symbols.svg(symbol, size=4))
    (ids,) = decoded_ids(image)
    assert {k: ids.get(k) for k in expected} == expected, ids


@pytest.mark.parametrize("subject, key", [
    (Subject(drug_code=DRUG_CODE), f"drug/{DRUG_CODE}"),
    (Subject(waybill="SX100200301CN"), "waybill/SX100200301CN"),
])
def test_qr_codes_of_drug_codes_and_waybills_open_their_public_pages(subject, key, app):
    symbol = symbol_for(subject, "qr", BASE)
    (ids,) = decoded_ids(Image.open(io.BytesIO(symbols.png(symbol))))
    assert ids["url"] == f"{BASE}/{key}"
    response = app.test_client().get(ids["url"][len(BASE):], headers={"Accept":
                                                                      "application/json"})
    assert response.status_code == 404  # nothing registered in this empty database…
    assert response.get_json()["error"]["details"]["key"] == key  # …but the key is right


def test_a_qr_digital_link_resolves_on_the_server_to_the_same_key():
    symbol = symbol_for(UNIT, "qr", BASE, with_expiry=True)
    text = decode_image(Image.open(io.BytesIO(symbols.png(symbol))))[0].text
    target = from_digital_link(text[len(BASE):])
    assert target.key == f"01/{GTIN}/21/SN0001" and target.lot == "B2611007"
    assert target.expiry.isoformat() == "2028-10-22"


def test_qr_options_change_size_margin_and_error_correction():
    symbol = symbol_for(UNIT, "qr", BASE)
    small = Image.open(io.BytesIO(symbols.png(symbol, size=2, margin=1, ec="L")))
    big = Image.open(io.BytesIO(symbols.png(symbol, size=10, margin=4, ec="H")))
    modules_l = small.width // 2 - 2
    modules_h = big.width // 10 - 8
    assert modules_h > modules_l  # more error correction needs a bigger symbol
    assert small.getpixel((0, 0)) == 255 and small.getpixel((2, 2)) == 0  # 1-module margin
    with pytest.raises(symbols.SymbolError):
        symbols.png(symbol, ec="X")


def test_symbols_that_cannot_carry_the_data_are_refused():
    with pytest.raises(symbols.SymbolError):
        symbol_for(Subject(gtin="16909876543219"), "ean13", BASE)  # a GTIN-14
    with pytest.raises(symbols.SymbolError):
        symbol_for(Subject(drug_code=DRUG_CODE), "gs1-128", BASE)
    with pytest.raises(symbols.SymbolError):
        symbol_for(UNIT, "code128", BASE)
    with pytest.raises(ValueError):
        symbol_for(Subject(gtin="06909876543213"), "qr", BASE)  # bad check digit


def test_a_sheet_of_a_serial_range_decodes_to_every_serial():
    labels = [symbol_for(Subject(gtin=GTIN, lot="B2611007", serial=f"SN{n:04d}"), "qr", BASE)
              for n in range(1, 31)]
    pages = sheets.pages(labels, *sheets.grid_for("qr", None, None))
    assert len(pages) == 2 and pages[0].size == sheets.A4_PX
    serials = {ids["serial"] for page in pages for ids in decoded_ids(page) if "serial" in ids}
    assert serials == {f"SN{n:04d}" for n in range(1, 31)}
    pdf = sheets.pdf(pages)
    assert pdf.startswith(b"%PDF") and b"/Count 2" in pdf


@pytest.mark.parametrize("symbology", ["datamatrix", "gs1-128"])
def test_sheets_of_other_symbologies_decode_too(symbology):
    labels = [symbol_for(Subject(gtin=GTIN, lot="B2611007", serial=f"S{n}"), symbology, BASE)
              for n in range(1, 9)]
    (page,) = sheets.pages(labels, *sheets.grid_for(symbology, None, None))
    assert {ids["serial"] for ids in decoded_ids(page) if "serial" in ids} == {
        f"S{n}" for n in range(1, 9)}


# --- the API --------------------------------------------------------------------------------


def test_a_merchant_prints_a_qr_for_its_unit_and_it_opens_the_consumer_page(app, client, demo):
    pharmacy = Caller(client, demo["keys"]["pharmacy"])
    response = pharmacy.get("/api/v1/labels/symbols/qr", key="01/06909876543212/21/SN0001",
                            expiry="true")
    assert response.status_code == 200 and response.mimetype == "image/png"
    text = decode_image(Image.open(io.BytesIO(response.data)))[0].text
    assert text == (app.config["PUBLIC_BASE_URL"] + "/01/06909876543212/10/B2611007/21/SN0001"
                    "?17=" + text.rsplit("=", 1)[1])
    page = client.get(text[len(app.config["PUBLIC_BASE_URL"]):],
                      headers={"Accept": "application/json"})
    assert page.status_code == 200 and page.get_json()["key"].endswith("SN0001")


def test_the_label_api_serves_svg_and_every_symbology(client, demo):
    admin = Caller(client, demo["keys"]["admin"])
    for symbology, params in (("datamatrix", {"key": "(01)06909876543212(21)SN0001"}),
                              ("gs1-128", {"key": "00/069012340000000016"}),
                              ("ean13", {"gtin": "6909876543212"}),
                              ("code128", {"key": "drug/" + DRUG_CODE}),
                              ("qr", {"key": "waybill/SX100200301CN"})):
        response = admin.get(f"/api/v1/labels/symbols/{symbology}", format="svg", **params)
        assert response.status_code == 200, (symbology, response.get_json())
        assert response.mimetype == "image/svg+xml"
        assert decode_image(rasterise_svg(response.get_data(as_text=True), 2)), symbology


def test_a_merchant_cannot_print_another_makers_product(client, demo):
    food = Caller(client, demo["keys"]["merchant"])
    response = food.get("/api/v1/labels/symbols/qr", gtin="6909876543212")
    assert response.status_code == 403
    assert error_of(response)["code"] == "not_your_product"
    # Another party's pack is answered like an unknown one: its existence is not revealed.
    response = food.get("/api/v1/labels/symbols/qr", key="01/06909876543212/21/SN0001")
    assert response.status_code == 404
    assert error_of(response)["code"] == "unknown_trace_key"
    carrier = Caller(client, demo["keys"]["carrier"])
    assert carrier.get("/api/v1/labels/symbols/qr", gtin=GTIN).status_code == 403


def test_label_requests_with_bad_input_say_what_is_wrong(client, demo):
    admin = Caller(client, demo["keys"]["admin"])
    assert error_of(admin.get("/api/v1/labels/symbols/aztec", gtin=GTIN))["code"] == \
        "unknown_symbology"
    assert error_of(admin.get("/api/v1/labels/symbols/qr"))["code"] == "key_or_gtin"
    bad = admin.get("/api/v1/labels/symbols/qr", key="01/06909876543213/21/SN0001")
    assert error_of(bad)["code"] == "gtin_check_digit"
    assert admin.get("/api/v1/labels/symbols/qr", gtin=GTIN, size=99).status_code == 422
    assert error_of(admin.get("/api/v1/labels/symbols/ean13", key="drug/" + DRUG_CODE))[
        "code"] == "cannot_draw"


def test_a_sheet_for_a_serial_range_comes_as_pdf_or_png_pages(client, demo):
    pharmacy = Caller(client, demo["keys"]["pharmacy"])
    body = {"symbology": "qr", "gtin": GTIN, "lot": "B2611007",
            "serials": {"prefix": "SN", "start": 1, "end": 30, "width": 4}}
    pdf = pharmacy.post("/api/v1/labels/sheets", body)
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert pdf.data.startswith(b"%PDF")
    page2 = pharmacy.post("/api/v1/labels/sheets", dict(body, format="png", page=2))
    assert page2.mimetype == "image/png"
    # (zxing-cpp may add a phantom Micro QR read on a full page: only GS1 reads count)
    found = {ids["serial"] for ids in decoded_ids(Image.open(io.BytesIO(page2.data)))
             if "serial" in ids}
    assert found == {f"SN{n:04d}" for n in range(25, 31)}
    assert error_of(pharmacy.post("/api/v1/labels/sheets", dict(body, format="png", page=3)))[
        "code"] == "no_such_page"
    copies = pharmacy.post("/api/v1/labels/sheets", {"symbology": "datamatrix", "gtin": GTIN,
                                                     "lot": "B2611007", "copies": 5,
                                                     "format": "png"})
    assert copies.status_code == 200
    both = pharmacy.post("/api/v1/labels/sheets", dict(body, copies=3))
    assert error_of(both)["code"] == "serials_or_copies"
    too_many = pharmacy.post("/api/v1/labels/sheets", dict(body, serials={"start": 1,
                                                                          "end": 5000}))
    assert too_many.status_code == 422
    unknown_lot = pharmacy.post("/api/v1/labels/sheets", dict(body, lot="NOPE"))
    assert error_of(unknown_lot)["code"] == "lot_not_found"


# --- the CLI --------------------------------------------------------------------------------


def test_the_labels_command_writes_a_qr_of_a_url_and_a_sheet(app, demo, tmp_path,
                                                             monkeypatch):
    from trace_service import cli

    monkeypatch.setattr(cli, "create_app", lambda: app)
    main = cli.main
    runner = CliRunner()
    url = "http://127.0.0.1:8000/01/06909876543212/10/B2611007/21/SN0001"
    out = tmp_path / "qr.png"
    result = runner.invoke(main, ["labels", "qr", url, "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert decode_image(out)[0].text == url
    svg = tmp_path / "qr.svg"
    assert runner.invoke(main, ["labels", "qr", "01/06909876543212/21/SN0001", "-o",
                                str(svg)]).exit_code == 0
    assert svg.read_text().startswith("<?xml")
    sheet = tmp_path / "sheet.png"
    result = runner.invoke(main, ["labels", "sheet", "--gtin", GTIN, "--lot", "B2611007",
                                  "--serials", "SN0001-SN0008", "--symbology", "gs1-128",
                                  "-o", str(sheet)])
    assert result.exit_code == 0, result.output
    assert len(decode_image(sheet)) == 8
    bad = runner.invoke(main, ["labels", "symbol", "qr", "01/06909876543213/21/X", "-o",
                               str(tmp_path / "x.png")])
    assert bad.exit_code == 1 and "gtin_check_digit" in bad.output
