"""The Chinese 20-digit drug traceability code (药品追溯码, formerly 药品电子监管码).

Structure (as printed on Chinese drug packs as Code 128, often grouped in fours):

    8 1 2 3 4 5 6 | 1 2 3 4 5 6 7 8 9 | 1 2 3 4
    product code  | serial             | check code
    (7 digits,     | (9 digits,         | (4 digits)
    药品标识码)      | 单品序列号)          |

What we know and how sure we are:

* 20 digits = 7-digit product identification code + 9-digit serial + 4-digit check code:
  confident; this is how the old CFDA 电子监管码 and today's 20-digit codes issued through
  the 码上放心 platform are described. NMPA's coding rules (NMPAB/T 1002-2019 药品追溯码编码
  要求, as we recall them) fix the ingredients of a code (drug identification code,
  production identification, check digits) but leave the code system itself, and so any
  check calculation, to the issuing scheme.
* The 4-digit check code has **no public algorithm** that we know of: it is assigned by
  the issuing platform (historically the 中信21世纪 电子监管网, now 阿里健康 码上放心) and
  verified by looking the code up there; published descriptions call it a 校验码/防伪码
  without giving a formula. So we **do not verify it** — we never invent a checksum. A
  mistyped digit is therefore only caught by the lookup against issued codes, not here.
* The leading digit: codes of the 电子监管码 family start with ``8`` (moderately confident —
  every published example and field report we know begins with 8, but we have no
  normative text for it). ``DRUG_CODE_LEADING_DIGITS`` holds the accepted first
  digits; widen it if a legitimate code with another leading digit turns up. Enforcing it
  also separates a bare drug code from a 20-digit GS1 string such as ``(00)`` + SSCC.

Accepted input: the 20 digits, with any spaces or hyphens (``8123 4567 …``), full-width
digits (NFKC), and an optional leading ``]C0`` (plain Code 128) or ``]C1`` symbology
identifier. Error codes: ``drug_code_not_digits``, ``drug_code_length``,
``drug_code_prefix``.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

from .errors import IdentifierError, shorten
from .gs1 import clean_typed

__all__ = ["DRUG_CODE_LEADING_DIGITS", "DrugCode", "parse_drug_code"]

#: First digits accepted for a 20-digit drug traceability code (see module docstring).
DRUG_CODE_LEADING_DIGITS = frozenset("8")
_SPACING = re.compile(r"[\s\-‐-―]+")


@dataclass(frozen=True)
class DrugCode:
    """A structurally valid 20-digit drug traceability code."""

    code: str  #: the 20 digits
    product_code: str  #: first 7 digits, product identification code (药品标识码)
    serial: str  #: next 9 digits, serial number of the pack (单品序列号)
    check: str  #: last 4 digits, check code; not verifiable offline (no public algorithm)

    def as_dict(self) -> dict:
        """Return the fields as a JSON-friendly dict."""
        return asdict(self)


def parse_drug_code(text: str) -> DrugCode:
    """Parse a 20-digit drug traceability code; validates structure only (no checksum).

    Strips a ``]C0``/``]C1`` prefix, spaces and hyphens; then requires 20 digits whose
    first digit is in ``DRUG_CODE_LEADING_DIGITS``.
    """
    raw = clean_typed(text)
    body = raw[3:] if raw[:3] in ("]C0", "]C1") else raw
    digits = _SPACING.sub("", body)
    bad = next((i for i, ch in enumerate(digits) if ch not in "0123456789"), None)
    if bad is not None:
        raise IdentifierError(
            "drug_code_not_digits",
            f"Drug traceability code {shorten(raw)!r} must contain only digits; found "
            f"{digits[bad]!r} at position {bad + 1}.",
            value=shorten(raw),
            position=bad + 1,
            found=digits[bad],
        )
    if len(digits) != 20:
        raise IdentifierError(
            "drug_code_length",
            f"Drug traceability code {digits or repr(raw)} has {len(digits)} digits; "
            "expected 20 (7 product + 9 serial + 4 check).",
            value=shorten(digits),
            expected=20,
            found=len(digits),
        )
    if digits[0] not in DRUG_CODE_LEADING_DIGITS:
        allowed = ", ".join(sorted(DRUG_CODE_LEADING_DIGITS))
        raise IdentifierError(
            "drug_code_prefix",
            f"Drug traceability code {digits} starts with {digits[0]}; 20-digit drug codes "
            f"start with {allowed}.",
            value=digits,
            expected=allowed,
            found=digits[0],
        )
    return DrugCode(code=digits, product_code=digits[:7], serial=digits[7:16], check=digits[16:])
