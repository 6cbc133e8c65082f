"""parse_scan: one entry point for scanners; and every error code is produced somewhere."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import trace_service.identifiers as ids
from trace_service.identifiers import DrugCode, GS1Data, parse_scan

GTIN = "09506000134352"
SSCC = "106141412345678908"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("4006381333931", GS1Data(gtin="04006381333931")),
     ("]E04006381333931", GS1Data(gtin="04006381333931", symbology="]E0")),
     ("]E496385074", GS1Data(gtin="00000096385074", symbology="]E4")),
     ("]I119506000134359", GS1Data(gtin="19506000134359", symbology="]I1")),
     (SSCC, GS1Data(sscc=SSCC)),
     (f"00{SSCC}", GS1Data(sscc=SSCC)),
     (f"]C1(01){GTIN}(21)7", GS1Data(gtin=GTIN, serial="7", symbology="]C1")),
     (f"]Q1https://id.gs1.org/01/{GTIN}/21/7", GS1Data(gtin=GTIN, serial="7",
                                                     symbology="]Q1"))],
)
def test_a_scan_is_read_as_the_right_kind_of_gs1_data(text, expected):
    assert parse_scan(text) == expected


def test_a_drug_code_scan_gives_a_drug_code():
    assert parse_scan("]C081234567890123456789") == DrugCode(
        "81234567890123456789", "8123456", "789012345", "6789")


def test_a_damaged_plain_code128_scan_is_reported_as_a_bad_drug_code(rejects):
    rejects(parse_scan, "]C08123456789012345678", "drug_code_length")


def test_an_unparseable_scan_without_gs1_markers_is_unrecognised_with_the_gs1_reason(rejects):
    err = rejects(parse_scan, "12345", "unrecognised_identifier", "Digital Link")
    assert err.details["gs1_error"]["code"] in {"ai_date", "ai_value", "ai_unknown"}


def test_an_unparseable_scan_with_gs1_markers_keeps_its_specific_error(rejects):
    rejects(parse_scan, f"]d201{GTIN}23012", "ai_unknown", "(230)")
    rejects(parse_scan, "0109506000134353", "gtin_check_digit", "AI (01)")


def test_a_non_string_scan_is_a_programming_error():
    with pytest.raises(TypeError):
        parse_scan(None)


# Every error code the package can raise, with one input that produces it.
EVERY_CODE = {
    "check_digit_input": (ids.gs1_check_digit, "12a"),
    "gtin_not_digits": (ids.normalize_gtin, "40063813339X1"),
    "gtin_length": (ids.normalize_gtin, "1234567"),
    "gtin_check_digit": (ids.normalize_gtin, "4006381333932"),
    "sscc_not_digits": (ids.validate_sscc, "10614141234567890A"),
    "sscc_length": (ids.validate_sscc, "1"),
    "sscc_check_digit": (ids.validate_sscc, "106141412345678909"),
    "gln_not_digits": (ids.validate_gln, "950600013436A"),
    "gln_length": (ids.validate_gln, "1"),
    "gln_check_digit": (ids.validate_gln, "9506000134360"),
    "ai_unknown": (ids.parse_element_string, "(05)1"),
    "ai_value": (ids.parse_element_string, "(10)A B"),
    "ai_date": (ids.parse_element_string, "(17)261341"),
    "ai_duplicate": (ids.parse_element_string, "(10)A(10)B"),
    "ai_check_digit": (ids.parse_element_string, "(8018)123456789012345678"),
    "element_string_empty": (ids.parse_element_string, ""),
    "hri_syntax": (ids.parse_element_string, "(1)2"),
    "symbology_not_gs1": (ids.parse_element_string, "]C0123"),
    "symbology_unknown": (ids.parse_element_string, "]@0123"),
    "dl_not_uri": (ids.parse_digital_link, "example.com/01/09506000134352"),
    "dl_percent_encoding": (ids.parse_digital_link, f"https://e.com/01/{GTIN}/10/%"),
    "dl_no_primary_key": (ids.parse_digital_link, "https://e.com/10/ABC"),
    "dl_path_invalid": (ids.parse_digital_link, f"https://e.com/01/{GTIN}/x/y"),
    "dl_qualifier_order": (ids.parse_digital_link, f"https://e.com/01/{GTIN}/21/1/10/A"),
    "dl_qualifier_invalid": (ids.parse_digital_link, f"https://e.com/01/{GTIN}/11/250101"),
    "dl_duplicate_ai": (ids.parse_digital_link, f"https://e.com/01/{GTIN}/21/1?21=1"),
    "dl_key_in_query": (ids.parse_digital_link, f"https://e.com/01/{GTIN}?21=1"),
    "dl_base_url": (lambda b: ids.build_digital_link(b, GTIN), "e.com"),
    "dl_multiple_primary_keys": (lambda s: ids.build_digital_link("https://e.com", GTIN,
                                                                  sscc=s), SSCC),
    "drug_code_not_digits": (ids.parse_drug_code, "8123456789012345678X"),
    "drug_code_length": (ids.parse_drug_code, "8123"),
    "drug_code_prefix": (ids.parse_drug_code, "71234567890123456789"),
    "credit_code_length": (ids.parse_credit_code, "9135"),
    "credit_code_charset": (ids.parse_credit_code, "91350100I000100Y43"),
    "credit_code_authority": (ids.parse_credit_code, "B1350100M000100Y43"),
    "credit_code_org_type": (ids.parse_credit_code, "94350100M000100Y43"),
    "credit_code_region": (ids.parse_credit_code, "9135010AM000100Y43"),
    "credit_code_check": (ids.parse_credit_code, "91350100M000100Y44"),
    "waybill_invalid": (ids.waybill_key, "SF1"),
    "gtin_without_serial_or_lot": (ids.parse_trace_key, GTIN),
    "gs1_no_trace_key": (ids.parse_trace_key, "(414)9506000134369"),
    "unrecognised_identifier": (ids.parse_trace_key, "hello"),
}


@pytest.mark.parametrize("code", sorted(EVERY_CODE))
def test_each_error_code_is_produced_with_a_message_and_json_details(rejects, code):
    func, value = EVERY_CODE[code]
    err = rejects(func, value, code)
    assert err.message.endswith(".")


def test_the_list_of_codes_covers_every_code_written_in_the_source():
    source = "\n".join(p.read_text() for p in Path(ids.__file__).parent.glob("*.py"))
    literal = set(re.findall(r'IdentifierError\(\s*"([a-z0-9_]+)"', source))
    assert len(literal) > 25
    dynamic = {f"{key}_{what}" for key in ("gtin", "sscc", "gln", "ai")
               for what in ("not_digits", "length", "check_digit")}
    dynamic = {c for c in dynamic if not c.startswith("ai_") or c == "ai_check_digit"}
    assert literal - set(EVERY_CODE) == set()
    assert dynamic - set(EVERY_CODE) == set()
