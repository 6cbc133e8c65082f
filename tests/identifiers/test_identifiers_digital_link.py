"""GS1 Digital Link URIs: strict parsing and building that round-trips."""

from __future__ import annotations

import datetime as dt

import pytest

from trace_service.identifiers import GS1Data, build_digital_link, parse_digital_link

GTIN = "09506000134352"


def test_the_digital_link_standard_example_with_lot_serial_and_expiry_parses():
    data = parse_digital_link("https://id.gs1.org/01/09506000134352/10/ABC/21/12345?17=180426")
    assert data == GS1Data(gtin=GTIN, lot="ABC", serial="12345", expiry=dt.date(2018, 4, 26))


def test_an_sscc_digital_link_with_attributes_in_the_query_parses():
    data = parse_digital_link(
        "https://id.gs1.org/00/106141412345678908?02=00614141123452&37=25&10=ABC123")
    assert data.sscc == "106141412345678908"
    assert data.lot == "ABC123"
    assert data.other == {"02": "00614141123452", "37": "25"}


@pytest.mark.parametrize(
    "uri",
    [f"https://id.gs1.org/01/{GTIN}/21/123",
     f"http://id.gs1.org/01/{GTIN}/21/123",
     f"https://example.com/01/{GTIN}/21/123",
     f"https://example.com:8443/01/{GTIN}/21/123",
     f"https://brand.example.cn/products/qr/01/{GTIN}/21/123",
     f"https://example.com/01/{GTIN}/21/123/",
     f"https://example.com/01/{GTIN}/21/123#section",
     "https://example.com/01/9506000134352/21/123",
     f"https://example.com/01/{GTIN}/21/123?linkType=gs1:pip&s=1&context=x",
     f"  https://example.com/01/{GTIN}/21/123\r\n",
     f"]Q1https://example.com/01/{GTIN}/21/123",
     f"HTTPS://Example.COM/01/{GTIN}/21/123",
     f"https://example.com/gtin/{GTIN}/ser/123"],
)
def test_any_host_prefix_and_ignorable_extras_give_the_same_gtin_and_serial(uri):
    data = parse_digital_link(uri)
    assert (data.gtin, data.serial, data.lot) == (GTIN, "123", None)


@pytest.mark.parametrize(
    ("short", "gtin14"),
    [("96385074", "00000096385074"), ("036000291452", "00036000291452"),
     ("4006381333931", "04006381333931"), ("614141123452", "00614141123452")],
)
def test_a_short_gtin_in_the_path_is_padded_to_fourteen_digits(short, gtin14):
    assert parse_digital_link(f"https://id.gs1.org/01/{short}").gtin == gtin14


def test_all_three_key_qualifiers_in_order_are_accepted():
    data = parse_digital_link(f"https://example.com/01/{GTIN}/22/V1/10/L1/21/S1")
    assert (data.lot, data.serial, data.other) == ("L1", "S1", {"22": "V1"})


def test_query_string_data_attributes_are_validated_and_kept():
    data = parse_digital_link(
        f"https://example.com/01/{GTIN}/10/ABC?11=250101&15=260600&17=261200&3103=000500")
    assert data.production_date == dt.date(2025, 1, 1)
    assert data.best_before == dt.date(2026, 6, 30)
    assert data.expiry == dt.date(2026, 12, 31)
    assert data.other == {"3103": "000500"}


@pytest.mark.parametrize(
    ("segment", "value"),
    [("A%2FB", "A/B"), ("A%2BB", "A+B"), ("%28x%29", "(x)"), ("A%25", "A%"),
     ("a-b.c_d", "a-b.c_d"), ("A+B", "A+B")],
)
def test_path_values_are_percent_decoded_after_splitting_on_slashes(segment, value):
    assert parse_digital_link(f"https://example.com/01/{GTIN}/10/{segment}").lot == value


def test_a_plus_in_the_query_is_a_plus_not_a_space():
    data = parse_digital_link("https://example.com/00/106141412345678908?10=A+B&90=C%2BD")
    assert (data.lot, data.other) == ("A+B", {"90": "C+D"})


def test_other_primary_keys_are_supported():
    gln = parse_digital_link("https://example.com/414/9506000134369/254/DOCK-1")
    assert (gln.gln, gln.other) == ("9506000134369", {"254": "DOCK-1"})
    assert parse_digital_link("https://example.com/sscc/106141412345678908").sscc == (
        "106141412345678908")


@pytest.mark.parametrize(
    ("uri", "expected", "found"),
    [("https://id.gs1.org/01/09506000134353", "2", "3"),
     ("https://id.gs1.org/01/4006381333932/21/1", "1", "2")],
)
def test_a_gtin_with_a_wrong_check_digit_is_rejected_naming_the_ai(rejects, uri, expected,
                                                                     found):
    rejects(parse_digital_link, uri, "gtin_check_digit", "AI (01)",
            f"check digit is {found}, expected {expected}", ai="01")


def test_an_sscc_with_a_wrong_check_digit_is_rejected(rejects):
    rejects(parse_digital_link, "https://id.gs1.org/00/106141412345678909",
            "sscc_check_digit", "AI (00)", "expected 8")


def test_a_gtin_of_an_impossible_length_is_rejected(rejects):
    rejects(parse_digital_link, "https://id.gs1.org/01/12345/21/1", "gtin_length",
            "8, 12, 13 or 14")


@pytest.mark.parametrize(
    "uri",
    [f"https://id.gs1.org/01/{GTIN}/21/12345/10/ABC",
     f"https://id.gs1.org/01/{GTIN}/10/ABC/22/V1",
     f"https://id.gs1.org/10/ABC/01/{GTIN}"],
)
def test_key_qualifiers_out_of_order_are_rejected(rejects, uri):
    rejects(parse_digital_link, uri, "dl_qualifier_order", "(01) → (22) → (10) → (21)")


@pytest.mark.parametrize(
    ("uri", "ai"),
    [(f"https://id.gs1.org/01/{GTIN}/21/1/21/2", "21"),
     (f"https://id.gs1.org/01/{GTIN}/10/A/10/A", "10"),
     (f"https://id.gs1.org/01/{GTIN}/10/ABC?10=ABC", "10"),
     (f"https://id.gs1.org/01/{GTIN}?01={GTIN}", "01"),
     (f"https://id.gs1.org/01/{GTIN}?17=261231&17=261231", "17")],
)
def test_an_ai_repeated_in_path_or_query_is_rejected(rejects, uri, ai):
    rejects(parse_digital_link, uri, "dl_duplicate_ai", f"AI ({ai})", ai=ai)


@pytest.mark.parametrize(
    "uri", ["https://id.gs1.org/", "https://id.gs1.org/10/ABC/21/123",
            "https://id.gs1.org/products/123", "https://id.gs1.org/ARFKk4XB0CDKWcnpq"],
)
def test_a_uri_without_a_primary_key_is_rejected(rejects, uri):
    rejects(parse_digital_link, uri, "dl_no_primary_key", "/01/")


@pytest.mark.parametrize(
    "uri",
    ["id.gs1.org/01/09506000134352", "ftp://id.gs1.org/01/09506000134352",
     "https:///01/09506000134352", "https://id.gs1.org/01/0950600 0134352",
     "(01)09506000134352", "", "urn:epc:id:sgtin:9506000.013435.1"],
)
def test_something_that_is_not_an_http_uri_is_rejected(rejects, uri):
    rejects(parse_digital_link, uri, "dl_not_uri", "Digital Link")


@pytest.mark.parametrize(
    "uri",
    [f"https://id.gs1.org/01/{GTIN}/00/106141412345678908",
     f"https://id.gs1.org/01/{GTIN}/foo/bar",
     f"https://id.gs1.org/01/{GTIN}/21",
     "https://id.gs1.org/01"],
)
def test_a_path_with_a_second_key_a_stray_segment_or_a_missing_value_is_rejected(rejects,
                                                                                 uri):
    rejects(parse_digital_link, uri, "dl_path_invalid")


def test_an_ai_that_is_not_a_qualifier_of_the_key_is_rejected_in_the_path(rejects):
    rejects(parse_digital_link, f"https://id.gs1.org/01/{GTIN}/17/261231",
            "dl_qualifier_invalid", "AI (17)", "(01)", ai="17")


@pytest.mark.parametrize(("query", "ai"), [("10=ABC", "10"), ("21=1", "21"),
                                           ("414=9506000134369", "414")])
def test_a_key_or_key_qualifier_in_the_query_string_is_rejected(rejects, query, ai):
    rejects(parse_digital_link, f"https://id.gs1.org/01/{GTIN}?{query}", "dl_key_in_query",
            f"AI ({ai})", ai=ai)


def test_an_unknown_numeric_ai_in_the_query_is_rejected(rejects):
    rejects(parse_digital_link, f"https://id.gs1.org/01/{GTIN}?23=1", "ai_unknown", "(23)")


@pytest.mark.parametrize("uri", [f"https://id.gs1.org/01/{GTIN}/10/A%zz",
                                 f"https://id.gs1.org/01/{GTIN}?17=%2"])
def test_a_broken_percent_escape_is_rejected(rejects, uri):
    rejects(parse_digital_link, uri, "dl_percent_encoding", "%25")


@pytest.mark.parametrize(
    ("uri", "code", "ai"),
    [(f"https://id.gs1.org/01/{GTIN}?17=261341", "ai_date", "17"),
     (f"https://id.gs1.org/01/{GTIN}/10/%C3%A9", "ai_value", "10"),
     (f"https://id.gs1.org/01/{GTIN}/21/A%20B", "ai_value", "21"),
     (f"https://id.gs1.org/01/{GTIN}/10/ABCDEFGHIJKLMNOPQRSTU", "ai_value", "10")],
)
def test_values_are_validated_like_element_strings(rejects, uri, code, ai):
    rejects(parse_digital_link, uri, code, f"AI ({ai})", ai=ai)


ROUND_TRIPS = [
    dict(gtin="09506000134352"),
    dict(gtin="9506000134352", lot="ABC"),
    dict(gtin="96385074", serial="12345"),
    dict(gtin="036000291452", lot="L1", serial="S/1"),
    dict(gtin="4006381333931", lot="A/B+C%", serial="x(y)!*'\"?:;<=>,&"),
    dict(gtin="09506000134352", lot="ABC", query={"17": "261231", "3103": "000500"}),
    dict(gtin="09506000134352", serial="1", query={"11": "250101", "15": "260600"}),
    dict(sscc="106141412345678908"),
    dict(sscc="106141412345678908", query={"02": "00614141123452", "37": "25"}),
]


@pytest.mark.parametrize("base", ["https://id.gs1.org", "https://example.com/dl/",
                                  "http://localhost:5000/r/qr"])
@pytest.mark.parametrize("kwargs", ROUND_TRIPS)
def test_build_then_parse_gives_back_the_same_data(base, kwargs):
    kwargs = dict(kwargs)
    gtin = kwargs.pop("gtin", None)
    uri = build_digital_link(base, gtin, **kwargs)
    data = parse_digital_link(uri)
    assert data.gtin == (None if gtin is None else gtin.zfill(14))
    assert data.lot == kwargs.get("lot")
    for ai, value in (kwargs.get("query") or {}).items():
        if ai not in ("11", "15", "17"):
            assert data.other[ai] == value
    assert data.serial == kwargs.get("serial")
    assert data.sscc == kwargs.get("sscc")
    assert uri.startswith(base.rstrip("/") + "/0")
    assert parse_digital_link(build_digital_link(base, gtin, **kwargs)) == data


def test_build_writes_the_gtin_as_fourteen_digits_and_percent_encodes_values():
    uri = build_digital_link("https://example.com/", "4006381333931", lot="A/B", serial="1+1",
                             query={"17": "261231", "linkType": "gs1:pip"})
    assert uri == ("https://example.com/01/04006381333931/10/A%2FB/21/1%2B1"
                   "?17=261231&linkType=gs1%3Apip")


def test_build_sorts_query_ais_and_keeps_other_parameters_after_them():
    uri = build_digital_link("https://e.com", GTIN,
                             query={"s": "1", "3103": "000500", "17": "261231"})
    assert uri.endswith("?17=261231&3103=000500&s=1")


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [(dict(gtin=None), "dl_no_primary_key"),
     (dict(gtin=GTIN, sscc="106141412345678908"), "dl_multiple_primary_keys"),
     (dict(sscc="106141412345678908", lot="A"), "dl_qualifier_invalid"),
     (dict(gtin="09506000134353"), "gtin_check_digit"),
     (dict(sscc="106141412345678909"), "sscc_check_digit"),
     (dict(gtin=GTIN, serial="A B"), "ai_value"),
     (dict(gtin=GTIN, query={"17": "261341"}), "ai_date"),
     (dict(gtin=GTIN, query={"10": "ABC"}), "dl_key_in_query"),
     (dict(gtin=GTIN, query={"23": "x"}), "ai_unknown")],
)
def test_build_refuses_what_parse_would_refuse(rejects, kwargs, code):
    kwargs = dict(kwargs)
    gtin = kwargs.pop("gtin", None)
    rejects(lambda base: build_digital_link(base, gtin, **kwargs), "https://e.com", code)


@pytest.mark.parametrize("base", ["example.com", "ftp://e.com", "https://e.com/?a=1",
                                  "https://e.com/#x", None])
def test_build_refuses_a_base_url_that_is_not_plain_http(rejects, base):
    rejects(lambda b: build_digital_link(b, GTIN), base, "dl_base_url")
