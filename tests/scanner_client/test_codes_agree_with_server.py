"""The scanner's local parsing names the same trace key the server will (or both refuse)."""

import pytest

from scanner_client.codes import parse_code
from trace_service.identifiers import IdentifierError, gs1_check_digit, parse_trace_key

SSCC = "069012340000000016"
GTIN = "0" + "690123456789" + gs1_check_digit("690123456789")

CASES = [
    f"]C100{SSCC}",
    f"(00){SSCC}(01){GTIN}(21)S1",
    f"(01){GTIN}(21)S1",
    f"(01){GTIN}(10)L1",
    f"]d201{GTIN}21X9\x1d10L2",
    "81234560000010016919",
    "11234560000010016919",
    "waybill/SX100200301CN",
    f"https://id.example.com/01/{GTIN}/21/S7",
    f"00{SSCC}",
    SSCC,
    SSCC[:-1] + "9",
]


def server_key(text):
    try:
        return parse_trace_key(text).key
    except IdentifierError:
        return None


@pytest.mark.parametrize("text", CASES)
def test_the_client_and_the_server_read_a_code_as_the_same_trace_key(text):
    parsed = parse_code(text)
    client = parsed.ids.get("trace_key") if parsed.valid and parsed.ids else None
    assert client == server_key(text)


def test_a_label_with_an_sscc_and_a_serial_is_a_parcel_label():
    parsed = parse_code(f"(00){SSCC}(01){GTIN}(21)S1")
    assert parsed.ids["trace_key"] == f"00/{SSCC}"


def test_twenty_digits_not_led_by_8_are_not_a_drug_code():
    parsed = parse_code("11234560000010016919")
    assert not parsed.valid and "start with 8" in parsed.error
