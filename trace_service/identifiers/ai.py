"""GS1 Application Identifiers: lookup and strict validation of one AI's value.

The AI table (formats, regular expressions, which AIs need an FNC1 separator) is biip's,
which is generated from GS1's machine-readable syntax dictionary; dates are decoded by
``biip.gs1_element_strings`` (so ``DD=00`` means the last day of the month and the
two-digit year follows the GS1 sliding window, General Specifications 7.12). This module
adds the checks and the messages:

* ``ai_unknown``  — not an AI in the GS1 table (the message names it);
* ``ai_value``    — wrong length or characters for the AI's format (says which);
* ``ai_date``     — a date AI (11, 12, 13, 15, 16, 17, 7003 …) that is not a real date;
* ``gtin_*`` / ``sscc_*`` / ``gln_*`` — the key AIs 01/02/03/8006, 00, 410–417 (their
  messages name the AI, the check digit found and the one expected);
* ``ai_check_digit`` — other AIs whose value embeds a GS1 check digit (GSRN 8017/8018,
  GSIN 402, GDTI 253, GCN 255, GRAI 8003).
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass
from functools import lru_cache

from biip import ParseError
from biip.gs1_application_identifiers import GS1ApplicationIdentifier
from biip.gs1_element_strings import GS1ElementString

from .errors import IdentifierError, shorten
from .gs1 import verify_key

__all__ = ["Element", "ai_info", "ai_length_at", "check_element", "fixed_length"]

#: AIs biip decodes as a date (YYMMDD) or date+time (YYMMDDHH[MM[SS]]).
DATE_AIS = frozenset(
    {"11", "12", "13", "15", "16", "17", "4324", "4325", "4326", "7003", "7006", "7007",
     "7011", "8008"}
)
#: AI -> (kind, error-code prefix, accepted lengths) for keys validated as a whole value.
_WHOLE_KEYS = {
    "01": ("GTIN", "gtin"), "02": ("GTIN", "gtin"), "03": ("GTIN", "gtin"),
    "00": ("SSCC", "sscc"),
    **{f"41{d}": ("GLN", "gln") for d in "01234567"},
}
#: AI -> (kind, start, end, code prefix): value[start:end] ends with a GS1 check digit.
_EMBEDDED_KEYS = {
    "8006": ("GTIN", 0, 14, "gtin"),
    "8017": ("GSRN", 0, 18, "ai"), "8018": ("GSRN", 0, 18, "ai"),
    "402": ("GSIN", 0, 17, "ai"),
    "253": ("GDTI", 0, 13, "ai"),
    "255": ("GCN", 0, 13, "ai"),
    "8003": ("GRAI", 1, 14, "ai"),
}
#: GS1 AI encodable character set 82 (General Specifications figure 7.11-1).
CSET82 = frozenset(
    "!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"
)


@dataclass(frozen=True)
class Element:
    """One validated element string: AI, raw value and, for date AIs, the decoded date."""

    ai: str
    value: str
    date: dt.date | None = None


@lru_cache(maxsize=1)
def _table() -> dict[str, GS1ApplicationIdentifier]:
    """Return biip's AI table (biip has no public iterator over it; pinned biip>=5,<6)."""
    from biip.gs1_application_identifiers import _GS1_APPLICATION_IDENTIFIERS

    return dict(_GS1_APPLICATION_IDENTIFIERS)


@lru_cache(maxsize=1)
def _lengths_by_prefix() -> dict[str, int]:
    """Map the first two digits of an AI to its length (GS1 fixes it per prefix)."""
    lengths: dict[str, set[int]] = {}
    for code in _table():
        lengths.setdefault(code[:2], set()).add(len(code))
    return {prefix: max(found) for prefix, found in lengths.items()}


def ai_info(ai: str) -> GS1ApplicationIdentifier | None:
    """Return biip's description of AI ``ai`` (e.g. ``"17"``), or ``None`` if unknown."""
    return _table().get(ai)


def ai_length_at(text: str, pos: int) -> int | None:
    """Return how many digits the AI starting at ``text[pos]`` has, or ``None`` if unknown."""
    return _lengths_by_prefix().get(text[pos : pos + 2])


def fixed_length(info: GS1ApplicationIdentifier) -> int:
    """Return the data length of a predefined-length AI (e.g. 14 for AI 01)."""
    return sum(int(n) for n in re.findall(r"[NXYZ](\d+)", info.format.split("+", 1)[1]))


def unknown_ai_error(ai: str, *, position: int | None = None) -> IdentifierError:
    """Build the ``ai_unknown`` error for AI ``ai`` (optionally at a 1-based position)."""
    where = f" at position {position}" if position else ""
    return IdentifierError(
        "ai_unknown",
        f"Unknown GS1 Application Identifier ({ai}){where}: it is not in the GS1 table.",
        ai=ai,
        **({"position": position} if position else {}),
    )


def check_element(ai: str, value: str) -> Element:
    """Validate one AI and its value strictly and return the :class:`Element`.

    Raises :class:`IdentifierError` (``ai_unknown``, ``ai_value``, ``ai_date``,
    ``gtin_*``, ``sscc_*``, ``gln_*``, ``ai_check_digit``).
    """
    info = ai_info(ai)
    if info is None:
        raise unknown_ai_error(ai)
    if ai in _WHOLE_KEYS:
        kind, code = _WHOLE_KEYS[ai]
        length = fixed_length(info)
        hint = "Pad a shorter GTIN with leading zeros." if kind == "GTIN" else ""
        verify_key(value, kind=kind, code=code, lengths=(length,), ai=ai, hint=hint)
    if not re.fullmatch(info.pattern, ai + value):
        if ai in DATE_AIS and value.isascii() and value.isdigit():
            raise _date_error(ai, value, fixed_length(info))
        raise IdentifierError(
            "ai_value",
            f"AI ({ai}) {info.data_title} value {shorten(value)!r} is not valid: "
            f"{_value_problem(info, value)}.",
            ai=ai,
            value=shorten(value),
            format=info.format,
        )
    if ai in _EMBEDDED_KEYS:
        kind, start, end, code = _EMBEDDED_KEYS[ai]
        try:
            verify_key(value[start:end], kind=kind, code=code, lengths=(end - start,), ai=ai)
        except IdentifierError as exc:
            exc.details["value"] = shorten(value)
            raise
    date = None
    if ai in DATE_AIS:
        try:
            date = GS1ElementString.parse(ai + value).date
        except ParseError:
            raise _date_error(ai, value, fixed_length(info)) from None
    return Element(ai, value, date)


def _value_problem(info: GS1ApplicationIdentifier, value: str) -> str:
    """Explain in a few words why ``value`` does not fit the AI's format."""
    parts = re.findall(r"([NXYZ])(\.\.)?(\d+)", info.format.split("+", 1)[1])
    longest = sum(int(n) for _, _, n in parts)
    numeric = all(kind == "N" for kind, _, _ in parts)
    if not value:
        return "the value is empty"
    if len(value) > longest:
        return f"it is {len(value)} characters long, at most {longest} are allowed"
    for i, ch in enumerate(value):
        if numeric and ch not in "0123456789":
            return f"it must be digits only, found {ch!r} at position {i + 1}"
        if ch not in CSET82:
            return (
                f"{ch!r} at position {i + 1} is not allowed "
                "(GS1 AI encodable character set 82)"
            )
    if all(not dots for _, dots, _ in parts) and len(value) != longest:
        return f"it must be exactly {longest} characters long, found {len(value)}"
    return f"it does not match the GS1 format {info.format}"


def _date_error(ai: str, value: str, length: int) -> IdentifierError:
    """Build the ``ai_date`` error naming the AI and what is wrong with the date."""
    info = ai_info(ai)
    title = info.data_title if info else "date"
    reason = "it is not a valid YYMMDD date"
    if len(value) != length:
        reason = f"it must be exactly {length} digits, found {len(value)}"
    else:
        month, day = int(value[2:4]), int(value[4:6])
        year = 2000 + int(value[:2])
        if not 1 <= month <= 12:
            reason = f"month {value[2:4]} does not exist"
        elif day > calendar.monthrange(year, month)[1]:
            reason = f"day {value[4:6]} does not exist in month {value[2:4]}"
        elif len(value) > 6:
            reason = "it is not a valid YYMMDD date and time"
    return IdentifierError(
        "ai_date",
        f"AI ({ai}) {title} {value!r} is not a valid date: {reason}.",
        ai=ai,
        value=shorten(value),
    )
