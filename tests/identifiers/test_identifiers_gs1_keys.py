"""GTIN, SSCC, GLN and the GS1 mod-10 check digit."""

from __future__ import annotations

import pickle

import pytest

from trace_service.identifiers import (
    IdentifierError,
    gs1_check_digit,
    normalize_gtin,
    validate_gln,
    validate_sscc,
)

VALID_GTINS = [
    # (as printed, GTIN-14)
    ("96385074", "00000096385074"),  # GTIN-8 (biip / GS1 example)
    ("76123450", "00000076123450"),  # GTIN-8
    ("036000291452", "00036000291452"),  # UPC-A
    ("123456789012", "00123456789012"),  # UPC-A
    ("4006381333931", "04006381333931"),  # EAN-13
    ("5901234123457", "05901234123457"),  # EAN-13
    ("9506000134352", "09506000134352"),  # GS1's example GTIN as EAN-13
    ("09506000134352", "09506000134352"),  # GS1's example GTIN-14
    ("19506000134359", "19506000134359"),  # GTIN-14 with packaging indicator 1
    ("09501101530003", "09501101530003"),  # GS1 DataMatrix guideline example
    ("09520123456788", "09520123456788"),
]


@pytest.mark.parametrize(("printed", "gtin14"), VALID_GTINS)
def test_a_valid_gtin_of_any_length_is_normalised_to_fourteen_digits(printed, gtin14):
    assert normalize_gtin(printed) == gtin14


@pytest.mark.parametrize(("printed", "gtin14"), VALID_GTINS)
def test_normalising_a_gtin14_again_gives_the_same_gtin14(printed, gtin14):
    assert normalize_gtin(normalize_gtin(printed)) == gtin14


def test_surrounding_blanks_and_full_width_digits_typed_by_people_are_accepted():
    assert normalize_gtin("  4006381333931\r\n") == "04006381333931"
    assert normalize_gtin("４００６３８１３３３９３１") == "04006381333931"


@pytest.mark.parametrize(
    ("value", "expected", "found"),
    [
        ("4006381333932", "1", "2"),
        ("036000291453", "2", "3"),
        ("96385075", "4", "5"),
        ("09506000134353", "2", "3"),
    ],
)
def test_a_gtin_with_a_wrong_check_digit_is_rejected_naming_expected_and_found(
    rejects, value, expected, found
):
    err = rejects(
        normalize_gtin, value, "gtin_check_digit",
        f"check digit is {found}, expected {expected}", value,
        expected=expected, found=found,
    )
    assert "ai" not in err.details


@pytest.mark.parametrize("value", ["1234567", "40063813339", "400638133393112", ""])
def test_a_gtin_of_a_length_gs1_does_not_define_is_rejected(rejects, value):
    rejects(normalize_gtin, value, "gtin_length", "8, 12, 13 or 14", found=len(value))


@pytest.mark.parametrize(
    ("value", "char", "position"),
    [("40063813339X1", "X", 12), ("4006-381333931", "-", 5), ("40063813 33931", " ", 9)],
)
def test_a_gtin_with_a_non_digit_is_rejected_naming_the_character_and_position(
    rejects, value, char, position
):
    rejects(normalize_gtin, value, "gtin_not_digits", repr(char), f"position {position}",
            position=position, found=char)


@pytest.mark.parametrize("value", ["106141412345678908", "106141411234567897",
                                   "123456789012345675", "376123450000010008"])
def test_a_valid_sscc_is_returned_unchanged(value):
    assert validate_sscc(value) == value


def test_an_sscc_with_a_wrong_check_digit_is_rejected_naming_expected_and_found(rejects):
    rejects(validate_sscc, "106141412345678909", "sscc_check_digit",
            "SSCC 106141412345678909: check digit is 9, expected 8",
            expected="8", found="9")


@pytest.mark.parametrize("value", ["10614141234567890", "1061414123456789088"])
def test_an_sscc_that_is_not_eighteen_digits_is_rejected(rejects, value):
    rejects(validate_sscc, value, "sscc_length", "expected 18")


def test_an_sscc_with_a_letter_is_rejected(rejects):
    rejects(validate_sscc, "10614141234567890A", "sscc_not_digits", "'A'", "position 18")


@pytest.mark.parametrize("value", ["9506000134369", "0614141000005"])
def test_a_valid_gln_is_returned_unchanged(value):
    assert validate_gln(value) == value


def test_a_gln_with_a_wrong_check_digit_is_rejected_naming_expected_and_found(rejects):
    rejects(validate_gln, "9506000134360", "gln_check_digit",
            "check digit is 0, expected 9", expected="9", found="0")


def test_a_gln_of_the_wrong_length_is_rejected(rejects):
    rejects(validate_gln, "950600013436", "gln_length", "expected 13")


def test_a_gln_with_a_letter_is_rejected(rejects):
    rejects(validate_gln, "95060001343G9", "gln_not_digits", "'G'")


@pytest.mark.parametrize(
    ("payload", "check"),
    [("950600013435", "2"), ("9638507", "4"), ("03600029145", "2"),
     ("10614141234567890", "8"), ("950110153100", "0"), ("9501234", "6")],
)
def test_the_gs1_check_digit_follows_the_mod_10_algorithm(payload, check):
    assert gs1_check_digit(payload) == check


@pytest.mark.parametrize("payload", ["", "12a4", "１２３", None])
def test_the_check_digit_of_something_that_is_not_digits_is_refused(rejects, payload):
    rejects(gs1_check_digit, payload, "check_digit_input", "digits 0-9")


def test_a_non_string_gtin_is_a_programming_error_not_an_identifier_error():
    with pytest.raises(TypeError):
        normalize_gtin(4006381333931)


def test_an_identifier_error_is_a_value_error_that_pickles_with_code_and_details():
    err = IdentifierError("gtin_length", "GTIN 1 has 1 digits; expected 14.", found=1)
    assert isinstance(err, ValueError)
    clone = pickle.loads(pickle.dumps(err))
    assert (clone.code, clone.message, clone.details) == (err.code, err.message, err.details)
    assert err.as_dict() == {"code": "gtin_length", "message": err.message,
                             "details": {"found": 1}}
    assert "gtin_length" in repr(err)
