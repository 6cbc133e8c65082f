"""The unified social credit code (统一社会信用代码), GB 32100-2015."""

from __future__ import annotations

import pytest

from trace_service.identifiers import parse_credit_code
from trace_service.identifiers.credit_code import credit_code_check_char

STANDARD_EXAMPLE = "91350100M000100Y43"  # the example given in GB 32100-2015 itself
# Published codes of large companies (each passes the check independently; if the
# attributions are wrong, the codes are still valid test data):
PUBLISHED = [
    "91440300708461136T",  # 深圳市腾讯计算机系统有限公司
    "914403001922038216",  # 华为技术有限公司
    "91330100799655058B",  # 阿里巴巴（中国）有限公司
    "91110000802100433B",  # 北京百度网讯科技有限公司
]
# Computed with the GB 32100 algorithm for each authority / type combination:
COMPUTED = [
    "91110108MA01ABCDEN",  # 9 工商 / 1 企业
    "92440300MA5F000017",  # 9 工商 / 2 个体工商户
    "93330100MA2H00001H",  # 9 工商 / 3 农民专业合作社
    "121000004000000010",  # 1 机构编制 / 2 事业单位
    "51100000500000001A",  # 5 民政 / 1 社会团体
    "N2330100MA2H000017",  # N 农业 / 2 村级集体经济组织
    "Y1110000000000001U",  # Y 其他 / 1
]


@pytest.mark.parametrize("code", [STANDARD_EXAMPLE, *PUBLISHED, *COMPUTED])
def test_a_valid_credit_code_is_returned_unchanged(code):
    assert parse_credit_code(code) == code


@pytest.mark.parametrize(
    "typed", ["91350100m000100y43", " 9135 0100 M000 100Y 43 ", "９１３５０１００Ｍ０００１００Ｙ４３"],
)
def test_a_credit_code_is_upper_cased_and_stripped_of_spaces(typed):
    assert parse_credit_code(typed) == STANDARD_EXAMPLE


@pytest.mark.parametrize("code", [STANDARD_EXAMPLE, *PUBLISHED, *COMPUTED])
def test_the_check_character_is_31_minus_the_weighted_sum_mod_31(code):
    assert credit_code_check_char(code[:17]) == code[17]


def test_a_check_value_of_31_maps_to_zero():
    assert credit_code_check_char("12100000400000001") == "0"


@pytest.mark.parametrize(
    ("code", "expected", "found"),
    [("91350100M000100Y44", "3", "4"), ("91440300708461136A", "T", "A"),
     ("91350100M000100Y34", None, "4")],
)
def test_a_wrong_check_character_is_rejected_naming_expected_and_found(rejects, code,
                                                                       expected, found):
    err = rejects(parse_credit_code, code, "credit_code_check", f"check character is {found}",
                  found=found)
    assert f"expected {err.details['expected']}" in err.message
    if expected:
        assert err.details["expected"] == expected


@pytest.mark.parametrize("code", ["91350100M000100Y4", "91350100M000100Y433", ""])
def test_a_credit_code_that_is_not_18_characters_is_rejected(rejects, code):
    rejects(parse_credit_code, code, "credit_code_length", "expected 18", found=len(code))


@pytest.mark.parametrize(
    ("code", "char", "position"),
    [("91350100I000100Y43", "I", 9), ("91350100O000100Y43", "O", 9),
     ("9135010SM000100Y43", "S", 8), ("91350100M000100V43", "V", 16),
     ("91350100M000100Y4Z", "Z", 18), ("91350100M0001-0Y43", "-", 14)],
)
def test_a_character_outside_the_31_character_set_is_rejected_naming_position_and_char(
    rejects, code, char, position
):
    rejects(parse_credit_code, code, "credit_code_charset", repr(char),
            f"position {position}", found=char, position=position)


@pytest.mark.parametrize("first", ["0", "B", "C", "X"])
def test_an_unknown_registration_authority_is_rejected(rejects, first):
    code = first + STANDARD_EXAMPLE[1:17]
    code += credit_code_check_char(code)
    rejects(parse_credit_code, code, "credit_code_authority", repr(first), found=first)


@pytest.mark.parametrize(("prefix", "bad"), [("94", "4"), ("98", "8"), ("1A", "A"),
                                             ("Y2", "2"), ("55", "5")])
def test_an_organisation_type_the_authority_does_not_have_is_rejected(rejects, prefix, bad):
    code = prefix + STANDARD_EXAMPLE[2:17]
    code += credit_code_check_char(code)
    rejects(parse_credit_code, code, "credit_code_org_type", repr(bad), found=bad)


def test_a_division_code_that_is_not_six_digits_is_rejected(rejects):
    code = "9135010AM000100Y4"
    code += credit_code_check_char(code)
    rejects(parse_credit_code, code, "credit_code_region", "35010A",
            found="35010A")
