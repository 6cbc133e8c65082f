"""The Chinese 20-digit drug traceability code (药品追溯码): structure only, no checksum."""

from __future__ import annotations

import pytest

from trace_service.identifiers import DrugCode, parse_drug_code
from trace_service.identifiers import drug_code as drug_code_module

CODE = "81234567890123456789"


@pytest.mark.parametrize(
    "text",
    [CODE, f"  {CODE}\r\n", "8123 4567 8901 2345 6789", "81234-567890123-456789",
     f"]C0{CODE}", f"]C1{CODE}", "８１２３４５６７８９０１２３４５６７８９"],
)
def test_a_drug_code_is_accepted_with_spacing_hyphens_full_width_digits_or_a_code128_prefix(
    text,
):
    assert parse_drug_code(text).code == CODE


def test_a_drug_code_splits_into_7_digit_product_9_digit_serial_and_4_digit_check():
    assert parse_drug_code(CODE) == DrugCode(
        code=CODE, product_code="8123456", serial="789012345", check="6789")
    assert parse_drug_code(CODE).as_dict() == {
        "code": CODE, "product_code": "8123456", "serial": "789012345", "check": "6789"}


@pytest.mark.parametrize("last4", ["0000", "6789", "9999", "1234"])
def test_the_check_code_is_not_verified_because_no_public_algorithm_exists(last4):
    code = CODE[:16] + last4
    assert parse_drug_code(code).check == last4


def test_the_module_says_honestly_that_the_check_code_is_not_verified():
    doc = drug_code_module.__doc__
    assert "no public algorithm" in doc
    assert "do not verify" in doc


@pytest.mark.parametrize("text", ["8123456789012345678", "812345678901234567890", "", "8"])
def test_a_drug_code_that_is_not_20_digits_long_is_rejected(rejects, text):
    rejects(parse_drug_code, text, "drug_code_length", "expected 20",
            found=len(text), expected=20)


@pytest.mark.parametrize(
    ("text", "char", "position"),
    [("8123456789012345678X", "X", 20), ("81234567.90123456789", ".", 9),
     ("]Q181234567890123456789", "]", 1)],
)
def test_a_drug_code_with_a_non_digit_is_rejected_naming_it(rejects, text, char, position):
    rejects(parse_drug_code, text, "drug_code_not_digits", repr(char),
            f"position {position}", found=char, position=position)


@pytest.mark.parametrize("first", "012345679")
def test_a_20_digit_code_not_starting_with_8_is_rejected(rejects, first):
    rejects(parse_drug_code, first + CODE[1:], "drug_code_prefix", f"starts with {first}",
            found=first, expected="8")
