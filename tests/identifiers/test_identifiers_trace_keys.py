"""Trace keys: canonical strings, and parse_trace_key for whatever a user or scanner typed."""

from __future__ import annotations

import pytest

from trace_service.identifiers import (
    TraceKeyRef,
    build_digital_link,
    drug_unit_key,
    lot_key,
    parse_trace_key,
    sscc_key,
    unit_key,
    waybill_key,
)

GTIN = "09506000134352"
GS = "\x1d"
SSCC = "106141412345678908"
DRUG = "81234567890123456789"


def test_the_canonical_key_strings_have_the_documented_shapes():
    assert unit_key(GTIN, "123") == TraceKeyRef("unit", f"01/{GTIN}/21/123", gtin=GTIN,
                                                serial="123")
    assert lot_key(GTIN, "ABC") == TraceKeyRef("lot", f"01/{GTIN}/10/ABC", gtin=GTIN,
                                               lot="ABC")
    assert drug_unit_key(DRUG) == TraceKeyRef("unit", f"drug/{DRUG}", drug_code=DRUG)
    assert sscc_key(SSCC) == TraceKeyRef("parcel", f"00/{SSCC}", sscc=SSCC)
    assert waybill_key("sf1234567890") == TraceKeyRef("parcel", "waybill/SF1234567890",
                                                      waybill="SF1234567890")


def test_a_short_gtin_is_padded_in_the_key():
    assert unit_key("4006381333931", "1").key == "01/04006381333931/21/1"


def test_as_dict_leaves_out_empty_fields():
    assert sscc_key(SSCC).as_dict() == {"kind": "parcel", "key": f"00/{SSCC}", "sscc": SSCC}


UNITS = [(GTIN, "123"), (GTIN, "A/B"), ("4006381333931", "x(y)%2F"), ("96385074", "0"),
         ("036000291452", "ABCDEFGHIJKLMNOPQRST"), (GTIN, "21/10/X")]


@pytest.mark.parametrize(("gtin", "serial"), UNITS)
def test_a_unit_key_parses_back_to_itself(gtin, serial):
    ref = unit_key(gtin, serial)
    assert parse_trace_key(ref.key) == ref


@pytest.mark.parametrize(("gtin", "lot"), UNITS)
def test_a_lot_key_parses_back_to_itself(gtin, lot):
    ref = lot_key(gtin, lot)
    assert parse_trace_key(ref.key) == ref


@pytest.mark.parametrize(
    "ref",
    [sscc_key(SSCC), sscc_key("376123450000010008"), drug_unit_key(DRUG),
     waybill_key("SF1234567890"), waybill_key("JD-0001-2345"), waybill_key("YT" + "9" * 38)],
    ids=lambda r: r.key,
)
def test_parcel_and_drug_keys_parse_back_to_themselves(ref):
    assert parse_trace_key(ref.key) == ref


@pytest.mark.parametrize(("gtin", "serial"), UNITS)
def test_a_unit_reaches_the_same_key_from_element_string_digital_link_and_key(gtin, serial):
    ref = unit_key(gtin, serial)
    gtin14 = ref.gtin
    assert parse_trace_key(f"(01){gtin14}(21){serial}") == ref
    assert parse_trace_key(f"]d201{gtin14}21{serial}{GS}") == ref
    assert parse_trace_key(build_digital_link("https://id.example.com", gtin,
                                              serial=serial)) == ref


@pytest.mark.parametrize(
    ("text", "kind", "key"),
    [(f"(01){GTIN}(10)ABC(21)123", "unit", f"01/{GTIN}/21/123"),
     (f"(01){GTIN}(17)261231(10)ABC", "lot", f"01/{GTIN}/10/ABC"),
     (f"]C1(00){SSCC}", "parcel", f"00/{SSCC}"),
     (f"00{SSCC}", "parcel", f"00/{SSCC}"),
     (f"(00){SSCC}(01){GTIN}(21)1", "parcel", f"00/{SSCC}"),
     (f"https://id.gs1.org/01/{GTIN}/10/ABC/21/12345?17=180426", "unit",
      f"01/{GTIN}/21/12345"),
     (f"https://id.gs1.org/01/{GTIN}/10/ABC", "lot", f"01/{GTIN}/10/ABC"),
     (f"https://id.gs1.org/00/{SSCC}", "parcel", f"00/{SSCC}"),
     (SSCC, "parcel", f"00/{SSCC}"),
     (DRUG, "unit", f"drug/{DRUG}"),
     ("8123 4567 8901 2345 6789", "unit", f"drug/{DRUG}"),
     (f"]C0{DRUG}", "unit", f"drug/{DRUG}"),
     ("waybill:sf1234567890", "parcel", "waybill/SF1234567890"),
     ("WAYBILL/SF 1234 5678 90", "parcel", "waybill/SF1234567890"),
     ("01/4006381333931/21/1", "unit", "01/04006381333931/21/1")],
)
def test_every_accepted_form_gives_the_expected_kind_and_key(text, kind, key):
    ref = parse_trace_key(text)
    assert (ref.kind, ref.key) == (kind, key)


def test_a_serial_wins_over_a_lot_and_the_lot_is_kept_for_information():
    ref = parse_trace_key(f"(01){GTIN}(10)ABC(21)123")
    assert (ref.kind, ref.serial, ref.lot) == ("unit", "123", "ABC")


def test_an_sscc_wins_over_gtin_and_serial_on_a_logistics_label():
    ref = parse_trace_key(f"(00){SSCC}(01){GTIN}(21)1")
    assert (ref.kind, ref.sscc, ref.gtin, ref.serial) == ("parcel", SSCC, GTIN, "1")


@pytest.mark.parametrize(
    "text",
    ["4006381333931", "036000291452", "96385074", GTIN, f"(01){GTIN}", f"01{GTIN}",
     "]E04006381333931", f"https://id.gs1.org/01/{GTIN}", f"01/{GTIN}",
     f"(01){GTIN}(17)261231"],
)
def test_a_gtin_alone_is_refused_because_it_names_a_product_not_an_item(rejects, text):
    err = rejects(parse_trace_key, text, "gtin_without_serial_or_lot",
                  "names a product, not a traceable item", "(21)", "(10)")
    assert len(err.details["gtin"]) == 14


@pytest.mark.parametrize("text", ["(414)9506000134369", "https://id.gs1.org/414/9506000134369"])
def test_gs1_data_without_a_traceable_key_is_refused(rejects, text):
    rejects(parse_trace_key, text, "gs1_no_trace_key", "(21)", "(00)")


@pytest.mark.parametrize(
    "text",
    ["hello", "", "   ", "SF1234567890", "12345", "01/09506000134352/17/261231",
     "01/09506000134352/21", "drug", "1234567", "ABC-123"],
)
def test_garbage_is_refused_with_the_list_of_accepted_forms(rejects, text):
    err = rejects(parse_trace_key, text, "unrecognised_identifier", "GS1 element string",
                  "Digital Link", "20-digit drug", "SSCC", "waybill")
    assert "gs1_error" not in err.details or "code" in err.details["gs1_error"]


@pytest.mark.parametrize(
    ("text", "code"),
    [("4006381333932", "gtin_check_digit"), ("106141412345678909", "sscc_check_digit"),
     ("00/106141412345678909", "sscc_check_digit"),
     (f"(01){GTIN}(21)A B", "ai_value"), (f"01/{GTIN}/21/A B", "ai_value"),
     (f"01/{GTIN}/10/", "ai_value"), ("01/09506000134353/21/1", "gtin_check_digit"),
     ("drug/8123", "drug_code_length"), ("71234567890123456789", "drug_code_prefix"),
     ("drug/71234567890123456789", "drug_code_prefix"), ("waybill:SF#1234", "waybill_invalid"),
     (f"https://id.gs1.org/01/{GTIN}/21/1/10/A", "dl_qualifier_order"),
     (f"(01){GTIN}(17)261341(21)1", "ai_date")],
)
def test_a_bad_identifier_is_refused_with_the_specific_reason(rejects, text, code):
    rejects(parse_trace_key, text, code)


@pytest.mark.parametrize(
    ("number", "why"),
    [("SF123", "5 characters"), ("X" * 41, "41 characters"), ("SF#12345", "'#'"),
     ("-SF12345", "begin and end"), ("SF12345-", "begin and end"), ("顺丰12345678", "'顺'")],
)
def test_a_malformed_waybill_number_is_refused_saying_why(rejects, number, why):
    rejects(waybill_key, number, "waybill_invalid", why, "6 to 40")


def test_unit_and_lot_keys_validate_their_serial_and_lot_as_gs1_ais(rejects):
    rejects(lambda s: unit_key(GTIN, s), "A" * 21, "ai_value", "AI (21)", ai="21")
    rejects(lambda lot: lot_key(GTIN, lot), "A B", "ai_value", "AI (10)", ai="10")
    rejects(lambda g: unit_key(g, "1"), "09506000134353", "gtin_check_digit")
