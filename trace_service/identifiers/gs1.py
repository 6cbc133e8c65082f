"""GS1 keys with a check digit: GTIN-8/12/13/14, SSCC and GLN.

The mod-10 check digit (GS1 General Specifications, section 7.9.1) comes from
``biip.checksums``; this module adds the validation people need at a counter or a scanner:
which key, how many digits were expected, which check digit was found and which one the
algorithm gives. Every failure is an :class:`IdentifierError` with a stable code:

* GTIN: ``gtin_not_digits``, ``gtin_length``, ``gtin_check_digit``
* SSCC: ``sscc_not_digits``, ``sscc_length``, ``sscc_check_digit``
* GLN:  ``gln_not_digits``, ``gln_length``, ``gln_check_digit``
* ``check_digit_input`` when :func:`gs1_check_digit` is given something that is not digits.

Human-typed input is NFKC-normalised first (full-width digits from a Chinese input method
become ASCII) and surrounding whitespace is dropped; nothing else is "repaired".
"""

from __future__ import annotations

import re
import unicodedata

from biip.checksums import gs1_standard_check_digit

from .errors import IdentifierError, shorten

__all__ = [
    "gs1_check_digit",
    "normalize_gtin",
    "validate_gln",
    "validate_sscc",
    "verify_key",
]

_ASCII_DIGITS = re.compile(r"[0-9]+")


def gs1_check_digit(digits_without_check: str) -> str:
    """Return the GS1 mod-10 check digit (as a one-character string) for a digit string.

    ``gs1_check_digit("950600013435") == "2"`` (GTIN-13 9506000134352). Raises
    ``IdentifierError("check_digit_input")`` unless given one or more ASCII digits.
    """
    if not isinstance(digits_without_check, str) or not _ASCII_DIGITS.fullmatch(
        digits_without_check
    ):
        raise IdentifierError(
            "check_digit_input",
            f"Cannot compute a GS1 check digit for {shorten(repr(digits_without_check))}: "
            "expected one or more digits 0-9.",
            value=shorten(str(digits_without_check)),
        )
    return str(gs1_standard_check_digit(digits_without_check))


def clean_typed(value: str) -> str:
    """NFKC-normalise and strip a human-typed value; raise ``TypeError`` for non-strings."""
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {type(value).__name__}")
    return unicodedata.normalize("NFKC", value).strip()


def verify_key(
    value: str,
    *,
    kind: str,
    code: str,
    lengths: tuple[int, ...],
    ai: str | None = None,
    hint: str = "",
) -> str:
    """Check that ``value`` is digits, of one of ``lengths``, with a valid GS1 check digit.

    ``kind`` is the key's name in messages ("GTIN", "SSCC", "GLN", "GSRN" …), ``code`` the
    error-code prefix ("gtin" gives ``gtin_not_digits`` / ``gtin_length`` /
    ``gtin_check_digit``), ``ai`` the Application Identifier when the key came from an
    element string or a Digital Link (messages then start with "AI (01) GTIN …") and
    ``hint`` an optional sentence appended to the length message. Returns ``value``.
    """
    label = f"AI ({ai}) {kind}" if ai else kind
    where = {"ai": ai} if ai else {}
    shown = shorten(value)
    bad = next((i for i, ch in enumerate(value) if ch not in "0123456789"), None)
    if bad is not None:
        raise IdentifierError(
            f"{code}_not_digits",
            f"{label} {shown!r} must contain only digits; found {value[bad]!r} "
            f"at position {bad + 1}.",
            value=shown,
            position=bad + 1,
            found=value[bad],
            **where,
        )
    if len(value) not in lengths:
        wanted = _or_list(lengths)
        raise IdentifierError(
            f"{code}_length",
            f"{label} {shown or repr(value)} has {len(value)} digits; expected {wanted}."
            + (f" {hint}" if hint else ""),
            value=shown,
            expected=wanted,
            found=len(value),
            **where,
        )
    expected = str(gs1_standard_check_digit(value[:-1]))
    if value[-1] != expected:
        raise IdentifierError(
            f"{code}_check_digit",
            f"{label} {value}: check digit is {value[-1]}, expected {expected}.",
            value=value,
            expected=expected,
            found=value[-1],
            **where,
        )
    return value


def normalize_gtin(value: str) -> str:
    """Validate a GTIN-8, -12 (UPC-A), -13 (EAN-13) or -14 and return it as 14 digits.

    ``normalize_gtin("4006381333931") == "04006381333931"``. The check digit is verified;
    the result is zero-padded on the left. Codes: ``gtin_not_digits``, ``gtin_length``,
    ``gtin_check_digit``.
    """
    text = clean_typed(value)
    verify_key(text, kind="GTIN", code="gtin", lengths=(8, 12, 13, 14))
    return text.zfill(14)


def validate_sscc(value: str) -> str:
    """Validate an 18-digit SSCC (Serial Shipping Container Code) and return it.

    Codes: ``sscc_not_digits``, ``sscc_length``, ``sscc_check_digit``.
    """
    text = clean_typed(value)
    return verify_key(text, kind="SSCC", code="sscc", lengths=(18,))


def validate_gln(value: str) -> str:
    """Validate a 13-digit GLN (Global Location Number) and return it.

    Codes: ``gln_not_digits``, ``gln_length``, ``gln_check_digit``.
    """
    text = clean_typed(value)
    return verify_key(text, kind="GLN", code="gln", lengths=(13,))


def _or_list(numbers: tuple[int, ...]) -> str:
    """Render ``(8, 12, 13, 14)`` as ``"8, 12, 13 or 14"``."""
    items = [str(n) for n in numbers]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]
