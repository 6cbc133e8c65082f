"""The 18-character unified social credit code (统一社会信用代码), GB 32100-2015.

Layout::

    9  1  350100  M000100Y4  3
    |  |  |       |          +- position 18: check character (校验码)
    |  |  |       +------------ positions 9-17: organisation identifier (主体标识码)
    |  |  +-------------------- positions 3-8: administrative division code (行政区划码)
    |  +----------------------- position 2: organisation type (机构类别代码)
    +-------------------------- position 1: registration authority (登记管理部门代码)

Character set: ``0-9`` and ``A-Z`` without ``I O S V Z`` (31 characters, valued 0-30).
Check character: weights ``3**i mod 31`` = 1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8,
24, 10, 30, 28 over positions 1-17; ``c = 31 - (sum mod 31)``, and 31 becomes ``0``.
``91350100M000100Y43`` is the standard's own example.

Authority and type codes (GB 32100-2015 table, plus the later additions ``A`` for the
military and ``N`` for agriculture / rural collective economic organisations, included
from memory of the amendment; widen ``AUTHORITY_TYPES`` if a new code appears):
1 机构编制 (1 机关, 2 事业单位, 3 群众团体, 9 其他), 2 外交 (1, 9), 3 司法行政 (1 律师事务所,
2 公证处, 3 基层法律服务所, 4 司法鉴定机构, 5 仲裁委员会, 9 其他), 4 文化 (1, 9), 5 民政
(1 社会团体, 2 民办非企业单位, 3 基金会, 9 其他), 6 旅游 (1, 2, 9), 7 宗教 (1, 2, 9),
8 工会 (1, 9), 9 工商 (1 企业, 2 个体工商户, 3 农民专业合作社), A 军队 (1, 9), N 农业
(1, 2, 3, 9), Y 其他 (1).

Input is NFKC-normalised (full-width characters become ASCII), upper-cased, and spaces
are removed. Error codes: ``credit_code_length``, ``credit_code_charset``,
``credit_code_authority``, ``credit_code_org_type``, ``credit_code_region``,
``credit_code_check``.
"""

from __future__ import annotations

import re

from .errors import IdentifierError, shorten
from .gs1 import clean_typed

__all__ = ["AUTHORITY_TYPES", "credit_code_check_char", "parse_credit_code"]

CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
#: Registration authority code -> allowed organisation type codes.
AUTHORITY_TYPES: dict[str, str] = {
    "1": "1239",
    "2": "19",
    "3": "123459",
    "4": "19",
    "5": "1239",
    "6": "129",
    "7": "129",
    "8": "19",
    "9": "123",
    "A": "19",
    "N": "1239",
    "Y": "1",
}


def credit_code_check_char(first17: str) -> str:
    """Return the GB 32100 check character for the first 17 characters of a code."""
    total = sum(CHARSET.index(ch) * w for ch, w in zip(first17, WEIGHTS, strict=True))
    return CHARSET[(31 - total % 31) % 31]


def parse_credit_code(text: str) -> str:
    """Validate a unified social credit code and return it normalised (18 chars, upper).

    Checks length, character set (naming position and character), registration
    authority, organisation type, the 6-digit division code and the check character.
    """
    code = re.sub(r"\s+", "", clean_typed(text)).upper()
    if len(code) != 18:
        raise IdentifierError(
            "credit_code_length",
            f"Unified social credit code {shorten(code)!r} has {len(code)} characters; "
            "expected 18.",
            value=shorten(code),
            expected=18,
            found=len(code),
        )
    for i, ch in enumerate(code):
        if ch not in CHARSET:
            excluded = " (I, O, S, V and Z are never used)" if ch in "IOSVZ" else ""
            raise IdentifierError(
                "credit_code_charset",
                f"Unified social credit code {code}: character {ch!r} at position {i + 1} "
                f"is not allowed{excluded}; allowed are 0-9 and A-Z except I, O, S, V, Z.",
                value=code,
                position=i + 1,
                found=ch,
            )
    authority, org_type = code[0], code[1]
    if authority not in AUTHORITY_TYPES:
        raise IdentifierError(
            "credit_code_authority",
            f"Unified social credit code {code}: {authority!r} is not a registration "
            f"authority code (allowed: {', '.join(AUTHORITY_TYPES)}).",
            value=code,
            found=authority,
            expected=list(AUTHORITY_TYPES),
        )
    if org_type not in AUTHORITY_TYPES[authority]:
        raise IdentifierError(
            "credit_code_org_type",
            f"Unified social credit code {code}: organisation type {org_type!r} does not "
            f"exist for registration authority {authority!r} "
            f"(allowed: {', '.join(AUTHORITY_TYPES[authority])}).",
            value=code,
            found=org_type,
            expected=list(AUTHORITY_TYPES[authority]),
        )
    if not code[2:8].isdigit():
        raise IdentifierError(
            "credit_code_region",
            f"Unified social credit code {code}: positions 3-8 ({code[2:8]}) must be the "
            "6-digit administrative division code.",
            value=code,
            found=code[2:8],
        )
    expected = credit_code_check_char(code[:17])
    if code[17] != expected:
        raise IdentifierError(
            "credit_code_check",
            f"Unified social credit code {code}: check character is {code[17]}, "
            f"expected {expected}.",
            value=code,
            expected=expected,
            found=code[17],
        )
    return code
