"""``parse_scan``: one entry point for whatever a scanner or a person delivers.

Dispatch, in this order (the ambiguity between bare digit strings is settled by length):

1. empty input -> ``unrecognised_identifier``;
2. a URI (``scheme://…``, optionally after a symbology identifier such as ``]Q1``) ->
   :func:`parse_digital_link`;
3. ``]C0`` (plain Code 128) -> :func:`parse_drug_code` (the only non-GS1 Code 128 we read);
4. 20 digits once spaces/hyphens are dropped -> :func:`parse_drug_code` (which insists on
   a leading 8) when there is no symbology identifier and the digits do not start with
   ``00``, or after ``]C1`` when they start with 8. ``00`` + 18 digits is the far more
   common raw GS1-128 SSCC scan, so it is read as an element string;
5. ``]E0`` / ``]E4`` (EAN/UPC) or ``]I1`` (ITF-14) -> a bare GTIN (``GS1Data(gtin=…)``);
6. no identifier and digits only: 8, 12, 13 or 14 digits -> a bare GTIN; 18 digits -> a
   bare SSCC; any other length -> an unbracketed element string;
7. anything else -> :func:`parse_element_string`. When the text carries no GS1 marker
   (no GS1 symbology identifier, no bracket, no GS) and does not start with AI 00 or 01,
   a failure is reported as ``unrecognised_identifier`` (with the GS1 reason in
   ``details["gs1_error"]``) rather than as a puzzling AI error.
"""

from __future__ import annotations

import re

from .digital_link import parse_digital_link
from .drug_code import DRUG_CODE_LEADING_DIGITS, DrugCode, parse_drug_code
from .element_strings import (
    GS,
    GS1_MESSAGE_SYMBOLOGIES,
    normalise_separators,
    parse_element_string,
    split_symbology,
)
from .errors import IdentifierError, shorten
from .gs1 import normalize_gtin, validate_sscc
from .gs1_data import GS1Data

__all__ = ["ACCEPTED_SCAN_FORMS", "parse_scan", "unrecognised"]

ACCEPTED_SCAN_FORMS = (
    "a GS1 element string such as (01)09506000134352(21)123 or the raw scan with GS "
    "separators, a GS1 Digital Link URI such as https://id.gs1.org/01/09506000134352/21/123, "
    "a 20-digit drug traceability code, an 18-digit SSCC, or a GTIN"
)
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://")
_GTIN_SYMBOLOGIES = frozenset({"]E0", "]E4", "]I1"})
_SPACING = re.compile(r"[\s\-]+")


def unrecognised(text: str, forms: str = ACCEPTED_SCAN_FORMS, **details) -> IdentifierError:
    """Build the ``unrecognised_identifier`` error listing the accepted ``forms``."""
    return IdentifierError(
        "unrecognised_identifier",
        f"{shorten(text, 60)!r} is not an identifier we recognise; expected {forms}.",
        value=shorten(text),
        **details,
    )


def parse_scan(text: str) -> GS1Data | DrugCode:
    """Parse one scan or typed code into :class:`GS1Data` or :class:`DrugCode`.

    See the module docstring for the dispatch rules. Raises :class:`IdentifierError`.
    """
    if not isinstance(text, str):
        raise TypeError(f"expected a string, got {type(text).__name__}")
    raw = text.strip()
    if not raw:
        raise unrecognised(text)
    symbology, body = split_symbology(raw)
    if _URI.match(body):
        return parse_digital_link(raw)
    squeezed = _SPACING.sub("", body)
    twenty_digits = len(squeezed) == 20 and squeezed.isascii() and squeezed.isdigit()
    if (
        symbology == "]C0"
        or (twenty_digits and symbology is None and not squeezed.startswith("00"))
        or (twenty_digits and symbology == "]C1" and squeezed[0] in DRUG_CODE_LEADING_DIGITS)
    ):
        return parse_drug_code(raw)
    if symbology in _GTIN_SYMBOLOGIES:
        return GS1Data(gtin=normalize_gtin(body), symbology=symbology)
    if symbology is None and body.isascii() and body.isdigit():
        if len(body) in (8, 12, 13, 14):
            return GS1Data(gtin=normalize_gtin(body))
        if len(body) == 18:
            return GS1Data(sscc=validate_sscc(body))
    explicit = (
        symbology in GS1_MESSAGE_SYMBOLOGIES
        or body.startswith("(")
        or GS in normalise_separators(body)
        or body[:2] in ("00", "01")
        or symbology is not None
    )
    try:
        return parse_element_string(raw)
    except IdentifierError as exc:
        if explicit:
            raise
        raise unrecognised(raw, gs1_error=exc.as_dict()) from None
