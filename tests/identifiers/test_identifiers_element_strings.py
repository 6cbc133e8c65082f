"""GS1 element strings as scanners deliver them (GS1-128, GS1 DataMatrix, GS1 QR, DataBar)."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from trace_service.identifiers import GS1Data, parse_element_string

GS = "\x1d"
GTIN = "09506000134352"

# Every spelling below carries GTIN 09506000134352, lot ABC, serial 123, expiry 2026-12-31.
SAME_DATA = {
    "bracketed": f"(01){GTIN}(10)ABC(21)123(17)261231",
    "bracketed with blanks": f"(01) {GTIN} (10) ABC (21) 123 (17) 261231",
    "raw, GS after variable fields": f"01{GTIN}10ABC{GS}21123{GS}17261231",
    "raw, fixed-length first, no GS": f"01{GTIN}1726123110ABC{GS}21123",
    "raw, leading FNC1 as GS": f"{GS}01{GTIN}1726123110ABC{GS}21123",
    "raw, trailing GS and CRLF": f"01{GTIN}1726123110ABC{GS}21123{GS}\r\n",
    "raw, GS after a fixed-length field": f"01{GTIN}{GS}17261231{GS}10ABC{GS}21123",
    "]C1 GS1-128": f"]C101{GTIN}1726123110ABC{GS}21123",
    "]d2 GS1 DataMatrix": f"]d201{GTIN}1726123110ABC{GS}21123",
    "]Q3 GS1 QR": f"]Q301{GTIN}1726123110ABC{GS}21123",
    "]e0 GS1 DataBar": f"]e001{GTIN}1726123110ABC{GS}21123",
    "]J1 GS1 DotCode": f"]J101{GTIN}1726123110ABC{GS}21123",
    "]C1 then bracketed": f"]C1(01){GTIN}(17)261231(10)ABC(21)123",
    "<GS> stand-in": f"01{GTIN}1726123110ABC<GS>21123",
    "{GS} stand-in": f"01{GTIN}1726123110ABC{{GS}}21123",
    "[GS] stand-in": f"01{GTIN}1726123110ABC[GS]21123",
    "^] caret stand-in": f"01{GTIN}1726123110ABC^]21123",
    "\\x1d typed as text": f"01{GTIN}1726123110ABC\\x1d21123",
    "\\u001d typed as text": f"01{GTIN}1726123110ABC\\u001d21123",
    "U+241D symbol for GS": f"01{GTIN}1726123110ABC\u241d21123",
    "{FNC1} stand-in": f"{{FNC1}}01{GTIN}1726123110ABC{{FNC1}}21123",
    "[FNC1] stand-in": f"01{GTIN}1726123110ABC[FNC1]21123",
    "^FNC1 stand-in": f"01{GTIN}1726123110ABC^FNC121123",
}


@pytest.mark.parametrize("text", SAME_DATA.values(), ids=SAME_DATA.keys())
def test_every_accepted_spelling_of_a_scan_gives_the_same_gtin_lot_serial_and_expiry(text):
    data = parse_element_string(text)
    assert (data.gtin, data.lot, data.serial, data.expiry) == (
        GTIN, "ABC", "123", dt.date(2026, 12, 31))
    assert data.other == {}


@pytest.mark.parametrize(
    ("text", "symbology"),
    [(SAME_DATA["]C1 GS1-128"], "]C1"), (SAME_DATA["]d2 GS1 DataMatrix"], "]d2"),
     (SAME_DATA["]Q3 GS1 QR"], "]Q3"), (SAME_DATA["]e0 GS1 DataBar"], "]e0"),
     (SAME_DATA["bracketed"], None), (SAME_DATA["raw, GS after variable fields"], None)],
)
def test_a_leading_symbology_identifier_is_stripped_and_recorded(text, symbology):
    assert parse_element_string(text).symbology == symbology


def test_the_gs1_datamatrix_guideline_example_parses():
    data = parse_element_string("(01)09501101530003(17)140704(10)AB-123")
    assert data == GS1Data(gtin="09501101530003", lot="AB-123", expiry=dt.date(2014, 7, 4))


def test_a_variable_length_lot_is_ended_by_gs_and_the_next_ai_is_read():
    data = parse_element_string(f"]d201{GTIN}10LOT-7/A{GS}21SER(1){GS}3103000500")
    assert data.lot == "LOT-7/A"
    assert data.serial == "SER(1)"
    assert data.other == {"3103": "000500"}


def test_a_variable_length_field_without_gs_runs_to_the_end_as_gs1_decoders_read_it():
    assert parse_element_string(f"01{GTIN}10ABC21123").lot == "ABC21123"


def test_fixed_length_ais_need_no_separator_between_them():
    data = parse_element_string(f"01{GTIN}11250101152606301726123100106141412345678908")
    assert data.production_date == dt.date(2025, 1, 1)
    assert data.best_before == dt.date(2026, 6, 30)
    assert data.expiry == dt.date(2026, 12, 31)
    assert data.sscc == "106141412345678908"


@pytest.mark.parametrize(
    ("yymmdd", "date"),
    [("261200", dt.date(2026, 12, 31)), ("260200", dt.date(2026, 2, 28)),
     ("240200", dt.date(2024, 2, 29)), ("250400", dt.date(2025, 4, 30)),
     ("240229", dt.date(2024, 2, 29))],
)
def test_an_expiry_day_of_00_means_the_last_day_of_that_month(yymmdd, date):
    assert parse_element_string(f"(01){GTIN}(17){yymmdd}").expiry == date
    assert parse_element_string(f"01{GTIN}17{yymmdd}").expiry == date


def test_sscc_gln_and_other_ais_are_kept():
    data = parse_element_string(
        "(00)106141412345678908(02)00614141123452(37)25(414)9506000134369(3103)000500")
    assert data.sscc == "106141412345678908"
    assert data.gln == "9506000134369"
    assert data.gtin is None
    assert data.other == {"02": "00614141123452", "37": "25", "3103": "000500"}


def test_the_same_ai_twice_with_the_same_value_is_accepted_once():
    data = parse_element_string(f"(01){GTIN}(10)ABC(10)ABC")
    assert data.lot == "ABC"


def test_as_dict_is_json_friendly_with_iso_dates_and_no_none_fields():
    data = parse_element_string(f"]d2(01){GTIN}(11)250101(17)261200(10)ABC(3103)000500")
    out = data.as_dict()
    assert out == {"gtin": GTIN, "lot": "ABC", "production_date": "2025-01-01",
                   "expiry": "2026-12-31", "other": {"3103": "000500"}, "symbology": "]d2"}
    assert json.loads(json.dumps(out)) == out


@pytest.mark.parametrize(
    ("text", "ai", "expected", "found"),
    [("(01)09506000134353(10)ABC", "01", "2", "3"),
     ("0109506000134353", "01", "2", "3"),
     ("]d2(02)00614141123453(37)1", "02", "2", "3")],
)
def test_a_gtin_ai_with_a_wrong_check_digit_names_the_ai_expected_and_found(
    rejects, text, ai, expected, found
):
    rejects(parse_element_string, text, "gtin_check_digit", f"AI ({ai}) GTIN",
            f"check digit is {found}, expected {expected}", ai=ai, expected=expected,
            found=found)


def test_the_message_for_a_bad_gtin_reads_like_the_specification_asks(rejects):
    err = rejects(parse_element_string, "(01)09506000134353", "gtin_check_digit")
    assert err.message == "AI (01) GTIN 09506000134353: check digit is 3, expected 2."


def test_an_sscc_ai_with_a_wrong_check_digit_names_the_ai(rejects):
    rejects(parse_element_string, "00106141412345678909", "sscc_check_digit",
            "AI (00) SSCC", "check digit is 9, expected 8", ai="00")


def test_a_gln_ai_with_a_wrong_check_digit_names_the_ai(rejects):
    rejects(parse_element_string, f"(01){GTIN}(414)9506000134360", "gln_check_digit",
            "AI (414) GLN", "check digit is 0, expected 9", ai="414")


@pytest.mark.parametrize(
    ("text", "ai"),
    [("(8017)123456789012345678", "8017"), ("(402)12345678901234567", "402"),
     ("(253)9506000134361ABC", "253")],
)
def test_other_keys_with_an_embedded_check_digit_are_verified(rejects, text, ai):
    rejects(parse_element_string, text, "ai_check_digit", f"AI ({ai})", "expected", ai=ai)


def test_a_gtin_in_ai_01_must_be_padded_to_fourteen_digits(rejects):
    rejects(parse_element_string, "(01)4006381333931", "gtin_length", "AI (01)",
            "expected 14", "leading zeros", ai="01")


def test_a_truncated_fixed_length_field_is_rejected(rejects):
    rejects(parse_element_string, "0109506", "gtin_length", "5 digits")


@pytest.mark.parametrize(
    ("text", "ai"),
    [(f"(01){GTIN}(230)X", "230"), (f"01{GTIN}23012", "230"), (f"01{GTIN}0512", "05"),
     ("(05)12345", "05"), ("hello", "hell")],
)
def test_an_unknown_application_identifier_is_rejected_naming_it(rejects, text, ai):
    msg = f"({ai})" if ai.isdigit() else repr(ai)
    rejects(parse_element_string, text, "ai_unknown", msg, ai=ai)


def test_an_unknown_ai_in_a_raw_scan_says_where_it_was_found(rejects):
    rejects(parse_element_string, f"01{GTIN}23012", "ai_unknown", "position 17", position=17)


@pytest.mark.parametrize(
    ("text", "ai", "why"),
    [(f"(01){GTIN}(17)261341", "17", "month 13"),
     (f"(01){GTIN}(17)260230", "17", "day 30"),
     (f"(01){GTIN}(17)230229", "17", "day 29"),
     (f"(01){GTIN}(11)250001", "11", "month 00"),
     (f"(01){GTIN}(15)261232", "15", "day 32"),
     (f"01{GTIN}172612", "17", "6 digits"),
     ("(7003)2613011200", "7003", "month 13")],
)
def test_an_impossible_date_is_rejected_naming_the_ai(rejects, text, ai, why):
    rejects(parse_element_string, text, "ai_date", f"AI ({ai})", why, ai=ai)


@pytest.mark.parametrize(
    ("text", "ai", "why"),
    [(f"(01){GTIN}(10)ABCDEFGHIJKLMNOPQRSTU", "10", "21 characters long, at most 20"),
     (f"(01){GTIN}(21)AB CD", "21", "' ' at position 3"),
     (f"(01){GTIN}(21)AB~CD", "21", "'~' at position 3"),
     (f"(01){GTIN}(21)序列号", "21", "position 1"),
     (f"(01){GTIN}(10)", "10", "empty"),
     (f"(01){GTIN}(17)26AB31", "17", "digits only"),
     ("(3103)00050", "3103", "exactly 6 characters"),
     ("(37)12A", "37", "digits only")],
)
def test_a_value_that_does_not_fit_its_ai_is_rejected_saying_why(rejects, text, ai, why):
    rejects(parse_element_string, text, "ai_value", f"AI ({ai})", why, ai=ai)


def test_one_ai_with_two_different_values_is_rejected(rejects):
    rejects(parse_element_string, f"(01){GTIN}(10)ABC(10)ABD", "ai_duplicate",
            "AI (10)", "'ABC'", "'ABD'", ai="10", values=["ABC", "ABD"])


def test_two_different_gtins_in_one_raw_scan_are_rejected(rejects):
    rejects(parse_element_string, f"01{GTIN}0104006381333931", "ai_duplicate", "AI (01)")


@pytest.mark.parametrize("text", ["]Q1https://id.gs1.org/01/09506000134352", "]C0ABC",
                                  "]E04006381333931", "]d1" + f"01{GTIN}"])
def test_a_symbology_identifier_that_is_not_gs1_is_refused(rejects, text):
    rejects(parse_element_string, text, "symbology_not_gs1", text[:3])


def test_an_unknown_symbology_identifier_is_refused(rejects):
    rejects(parse_element_string, "]@1" + f"01{GTIN}", "symbology_unknown", "]@1")


@pytest.mark.parametrize("text", ["", "   ", GS, "]C1", "\r\n", "<GS>"])
def test_a_scan_without_data_is_refused(rejects, text):
    rejects(parse_element_string, text, "element_string_empty")


@pytest.mark.parametrize("text", ["(1)ABC", "(01", "(99999)1"])
def test_broken_brackets_are_refused(rejects, text):
    rejects(parse_element_string, text, "hri_syntax", "(01)")
