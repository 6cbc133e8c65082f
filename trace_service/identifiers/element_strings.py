"""Parse GS1 element strings the way scanners deliver them (GS1-128, GS1 DataMatrix, GS1 QR).

Accepted input (leading/trailing whitespace such as a wedge scanner's CR/LF is dropped):

* bracketed HRI: ``(01)09506000134352(10)ABC(21)123`` (blanks around the bracketed AIs
  are ignored; a blank inside a value is an error, GS1 character set 82 has no space);
* raw, with FNC1 transmitted as ASCII 29 (GS, ``"\\x1d"``) after each variable-length
  field: ``010950600013435210ABC\\x1d21123``; predefined-length AIs (00, 01, 11, 17 …)
  need no separator, a separator after them is tolerated;
* an optional leading symbology identifier, recorded in ``GS1Data.symbology``: GS1 data
  is signalled by ``]C1`` (GS1-128), ``]e0`` (GS1 DataBar), ``]d2`` (GS1 DataMatrix),
  ``]Q3`` (GS1 QR) and ``]J1`` (GS1 DotCode); any other identifier (``]Q1``, ``]C0``,
  ``]E0`` …) says the data is *not* a GS1 element string and is refused
  (``symbology_not_gs1``); an unknown one gives ``symbology_unknown``;
* a leading FNC1 (sent by some scanners as a first GS) and a trailing GS are ignored;
* textual stand-ins for GS, because people paste scans from logs and docs:
  ``<GS>``, ``{GS}``, ``[GS]``, ``^]`` (caret notation), ``\\x1d`` / ``\\u001d`` typed as
  text, ``␝`` (U+241D), ``{FNC1}``, ``[FNC1]`` and ``^FNC1``. All of them except ``<GS>``
  use characters outside GS1 character set 82, so they can never be part of real data.
  ``<GS>`` is made only of set-82 characters; it is still treated as a separator (a lot
  number containing the text "<GS>" is not a realistic risk, a pasted log line is).

Raw strings are read the GS1 way: the AI length follows from its first two digits, a
predefined-length AI takes exactly its length, a variable-length AI runs to the next GS or
the end. A variable-length field that is not terminated by GS therefore swallows what
follows (``10ABC21123`` is lot ``ABC21123``), exactly as a GS1 decoder would read it.
"""

from __future__ import annotations

import re

from biip import ParseError
from biip.symbology import GS1Symbology, SymbologyIdentifier

from .ai import Element, ai_info, ai_length_at, check_element, fixed_length, unknown_ai_error
from .errors import IdentifierError, shorten
from .gs1_data import GS1Data, gs1data_from_elements

__all__ = ["GS", "GS1_MESSAGE_SYMBOLOGIES", "parse_element_string", "split_symbology"]

GS = "\x1d"
#: Textual stand-ins for the GS / FNC1 separator, longest first.
GS_STAND_INS = (
    "\\u001d", "\\u001D", "{FNC1}", "[FNC1]", "^FNC1", "\\x1d", "\\x1D",
    "<GS>", "{GS}", "[GS]", "^]", "\u241d",
)
#: Symbology identifiers whose data is a GS1 element string.
GS1_MESSAGE_SYMBOLOGIES = frozenset(
    f"]{s.value}" for s in GS1Symbology.with_gs1_messages()
)
_HRI_AI = re.compile(r"\((\d{2,4})\)")


def split_symbology(text: str) -> tuple[str | None, str]:
    """Split a leading symbology identifier (``"]C1"``, ``"]d2"`` …) off ``text``.

    Returns ``(identifier or None, rest)``. Raises ``symbology_unknown`` if ``text`` starts
    with ``"]"`` but no ISO/IEC 15424 identifier follows.
    """
    if not text.startswith("]"):
        return None, text
    if text[1:2] == "J" and text[2:3].isdigit():  # DotCode: GS1 uses ]J1, biip lacks "J"
        return text[:3], text[3:]
    try:
        sym = SymbologyIdentifier.extract(text)
    except (ParseError, IndexError, ValueError):
        raise IdentifierError(
            "symbology_unknown",
            f"The scan starts with {shorten(text[:3])!r}, which is not a known symbology "
            "identifier (expected e.g. ]C1, ]d2, ]Q3, ]e0).",
            value=shorten(text[:3]),
        ) from None
    return sym.value, text[len(sym.value):]


def normalise_separators(text: str) -> str:
    """Replace every accepted textual GS stand-in by a real GS (ASCII 29)."""
    for stand_in in GS_STAND_INS:
        text = text.replace(stand_in, GS)
    return text


def parse_element_string(text: str) -> GS1Data:
    """Parse a scanned GS1 element string (bracketed, raw with GS, with/without ``]C1``…).

    Strict: unknown AI -> ``ai_unknown``; the same AI twice with different values ->
    ``ai_duplicate``; bad check digit in AI 01/00/414 -> ``gtin_check_digit`` /
    ``sscc_check_digit`` / ``gln_check_digit`` naming the AI, expected and found; bad date
    in 11/15/17 -> ``ai_date``; wrong length or characters -> ``ai_value``; nothing to
    parse -> ``element_string_empty``; bracket syntax errors -> ``hri_syntax``; a non-GS1
    or unknown symbology identifier -> ``symbology_not_gs1`` / ``symbology_unknown``.
    """
    if not isinstance(text, str):
        raise TypeError(f"expected a string, got {type(text).__name__}")
    symbology, body = split_symbology(text.strip())
    if symbology is not None and symbology not in GS1_MESSAGE_SYMBOLOGIES:
        raise IdentifierError(
            "symbology_not_gs1",
            f"The symbology identifier {symbology} says this scan is not GS1 data; GS1 "
            "element strings come with ]C1, ]e0, ]d2, ]Q3 or ]J1.",
            symbology=symbology,
        )
    body = normalise_separators(body).strip().strip(GS)
    if not body:
        raise IdentifierError(
            "element_string_empty", "The scan holds no GS1 data.", value=shorten(text)
        )
    if body.startswith("("):
        elements = _tokenise_hri(body)
    else:
        elements = _tokenise_raw(body)
    return gs1data_from_elements(elements, symbology=symbology)


def _tokenise_hri(body: str) -> list[Element]:
    """Split bracketed ``(AI)value(AI)value`` text into validated elements."""
    matches = list(_HRI_AI.finditer(body))
    if not matches or matches[0].start() != 0:
        raise IdentifierError(
            "hri_syntax",
            f"Bracketed GS1 data must start with an AI in brackets such as (01); "
            f"got {shorten(body)!r}.",
            value=shorten(body),
        )
    elements = []
    for i, match in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(body)
        value = body[match.end():end].strip().replace(GS, "")
        elements.append(check_element(match.group(1), value))
    return elements


def _tokenise_raw(body: str) -> list[Element]:
    """Split a raw FNC1/GS-separated element string into validated elements."""
    elements = []
    pos = 0
    while pos < len(body):
        if body[pos] == GS:
            pos += 1
            continue
        ai = _ai_at(body, pos)
        info = ai_info(ai)
        start = pos + len(ai)
        end = body.find(GS, start)
        end = len(body) if end < 0 else end
        if not info.separator_required:
            end = min(end, start + fixed_length(info))
        elements.append(check_element(ai, body[start:end]))
        pos = end
    return elements


def _ai_at(body: str, pos: int) -> str:
    """Return the known AI starting at ``body[pos]`` or raise ``ai_unknown``."""
    for length in (2, 3, 4):
        candidate = body[pos : pos + length]
        if len(candidate) == length and ai_info(candidate) is not None:
            return candidate
    head = body[pos : pos + 2]
    if not (head.isascii() and head.isdigit() and len(head) == 2):
        raise IdentifierError(
            "ai_unknown",
            f"Expected a GS1 Application Identifier (2 to 4 digits) at position {pos + 1}, "
            f"found {shorten(body[pos:pos + 4])!r}.",
            ai=shorten(body[pos : pos + 4]),
            position=pos + 1,
        )
    length = ai_length_at(body, pos) or 2
    raise unknown_ai_error(body[pos : pos + length], position=pos + 1)
