"""Local parsing of a decoded barcode text into trace identifiers.

This runs on the scanner client, offline, so that a bad code is rejected at the
point of scan with a message that says what is wrong.  GS1 structures are parsed
with `biip` (AI tables, element strings, Digital Link URIs, date rules); this
module only decides *which* kind of code a text is and maps the result onto the
identifier keys the trace service uses.

Input forms accepted by :func:`parse_code`:

* a text with an AIM symbology identifier prefix, as a keyboard-wedge scanner
  sends it (``]C1`` GS1-128, ``]d2`` GS1 DataMatrix, ``]Q3`` GS1 QR, ``]e0``
  GS1 DataBar, ``]E0`` EAN/UPC, ``]C0`` plain Code 128, ...);
* a GS1 element string with GS (ASCII 29) separators, optionally starting with
  a GS that stands for FNC1 (the literal ``<GS>`` escape is accepted too);
* a GS1 element string in human readable form, ``(01)09506000134352(10)ABC``;
* a GS1 Digital Link URI, ``https://example.com/01/{gtin}/10/{lot}/21/{serial}``;
* plain digits: GTIN-8/12/13/14 (EAN/UPC), UPC-E, SSCC (18 digits), the Chinese
  20-digit drug traceability code;
* any other alphanumeric text of 6-40 characters from a non-GS1 linear or 2D
  symbol: a waybill number.

Result: :class:`ParsedCode` with ``ids`` (keys ``gtin`` (always 14 digits),
``lot``, ``serial``, ``expiry`` and ``production_date`` (ISO dates), ``sscc``,
``gln``, ``drug_code``, ``waybill`` -- only those present -- plus always
``trace_key``), ``valid`` and ``error``.  A value that fails its check digit is
never valid; the error names the check digit and gives expected vs found.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from biip import ParseConfig, ParseError
from biip.gs1_digital_link_uris import GS1DigitalLinkURI
from biip.gs1_messages import GS1Message
from biip.upc import Upc

__all__ = [
    "ParsedCode",
    "parse_code",
    "gs1_check_digit",
    "GS1_SYMBOLOGY_IDENTIFIERS",
    "raw_element_string_to_hri",
]

GS = "\x1d"

#: AIM symbology identifiers whose data is a GS1 element string (FNC1 in first position).
GS1_SYMBOLOGY_IDENTIFIERS = frozenset(
    {
        "]C1",  # GS1-128
        "]d2",  # GS1 DataMatrix
        "]Q3",  # GS1 QR Code
        "]e0",  # GS1 DataBar
        "]J1",  # GS1 DotCode
    }
)

# Symbology names (as produced by scanner_client.decode) that carry a GTIN as plain digits.
_EAN_UPC = {"EAN-13", "EAN-8", "UPC-A", "UPC-E", "ITF-14"}

_AIM_PREFIX = re.compile(r"^\][A-Za-z][0-9A-Za-z]")
_DIGITS = re.compile(r"^[0-9]+$")
_WAYBILL = re.compile(r"^[A-Za-z0-9]{6,40}$")
_TYPED_WAYBILL = re.compile(r"^waybill[/:](.+)$", re.IGNORECASE)
DRUG_CODE_LEADING_DIGITS = frozenset("8")
_HRI = re.compile(r"^\(\d{2,4}\)")

# GS1 AIs -> ids keys.
_AI_KEYS = {
    "00": "sscc",
    "01": "gtin",
    "10": "lot",
    "11": "production_date",
    "17": "expiry",
    "21": "serial",
    "414": "gln",
}
_AI_CHECKED = {"00": "SSCC", "01": "GTIN", "02": "GTIN", "414": "GLN"}

_BIIP_CONFIG = ParseConfig(separator_chars=(GS,))


@dataclass(frozen=True)
class ParsedCode:
    """What a decoded text means.

    ``ids`` is None when the text could not be turned into identifiers; when it
    is a dict it always holds ``trace_key`` (None for a bare GTIN, which names a
    product, not a traceable unit).
    """

    ids: dict | None
    valid: bool
    error: str | None = None
    kind: str | None = field(default=None, compare=False)

    def as_dict(self) -> dict:
        return {"ids": self.ids, "valid": self.valid, "error": self.error}


def _ok(ids: dict, kind: str) -> ParsedCode:
    return ParsedCode(ids=ids, valid=True, error=None, kind=kind)


def _bad(error: str, kind: str | None = None) -> ParsedCode:
    # Bad identifiers are never handed on half-parsed: ids stay None.
    return ParsedCode(ids=None, valid=False, error=error, kind=kind)


def gs1_check_digit(payload: str) -> int:
    """GS1 mod-10 check digit of ``payload`` (all digits before the check digit)."""
    total = 0
    for i, ch in enumerate(reversed(payload)):
        total += int(ch) * (3 if i % 2 == 0 else 1)
    return (10 - total % 10) % 10


def _check_digit_error(label: str, value: str) -> str | None:
    expected = gs1_check_digit(value[:-1])
    found = int(value[-1])
    if expected == found:
        return None
    return f"{label} check digit is wrong in {value}: expected {expected}, found {found}"


def _trace_key(ids: dict) -> str | None:
    # Same precedence as the server: a label with an SSCC is a logistics label.
    if ids.get("sscc"):
        return f"00/{ids['sscc']}"
    gtin = ids.get("gtin")
    if gtin and ids.get("serial"):
        return f"01/{gtin}/21/{ids['serial']}"
    if gtin and ids.get("lot"):
        return f"01/{gtin}/10/{ids['lot']}"
    if ids.get("drug_code"):
        return f"drug/{ids['drug_code']}"
    if ids.get("waybill"):
        return f"waybill/{ids['waybill']}"
    return None


def _finish(ids: dict, kind: str) -> ParsedCode:
    ids["trace_key"] = _trace_key(ids)
    return _ok(ids, kind)


# --------------------------------------------------------------------------- GS1


def _element_strings_to_ids(element_strings, what: str) -> ParsedCode:
    ids: dict = {}
    for es in element_strings:
        ai = es.ai.ai
        value = es.value
        if ai in _AI_CHECKED:
            label = f"AI ({ai}) {_AI_CHECKED[ai]}"
            err = _check_digit_error(label, value)
            if err is None:
                # biip checks too; trust whichever complains.
                biip_err = es.gtin_error or es.sscc_error or es.gln_error
                if biip_err:
                    err = f"{label}: {biip_err}"
            if err:
                return _bad(err, what)
        if ai in ("11", "17"):
            if es.date is None:
                return _bad(f"AI ({ai}) is not a valid date: {value!r}", what)
            value = es.date.isoformat()
        key = _AI_KEYS.get(ai)
        if key:
            if key in ids and ids[key] != value:
                return _bad(f"AI ({ai}) appears twice with different values", what)
            ids[key] = value
    if not ids:
        ais = ", ".join(f"({es.ai.ai})" for es in element_strings) or "none"
        return _bad(f"{what} carries no trace identifier (AIs: {ais})", what)
    return _finish(ids, what)


def raw_element_string_to_hri(raw: str) -> str | None:
    """``0109506000134352\\x1d10ABC`` -> ``(01)09506000134352(10)ABC``; None if unparsable."""
    raw = raw.lstrip(GS)
    try:
        return GS1Message.parse(raw, config=_BIIP_CONFIG).as_hri()
    except ParseError:
        return None


def _parse_gs1_message(text: str) -> ParsedCode:
    what = "GS1 element string"
    try:
        if _HRI.match(text):
            msg = GS1Message.parse_hri(text, config=_BIIP_CONFIG)
        else:
            msg = GS1Message.parse(text.lstrip(GS), config=_BIIP_CONFIG)
    except ParseError as exc:
        return _bad(f"not a valid {what}: {exc}", what)
    return _element_strings_to_ids(msg.element_strings, what)


def _parse_digital_link(text: str) -> ParsedCode:
    what = "GS1 Digital Link URI"
    try:
        dl = GS1DigitalLinkURI.parse(text, config=_BIIP_CONFIG)
    except ParseError as exc:
        return _bad(f"not a GS1 Digital Link URI: {exc}", what)
    return _element_strings_to_ids(dl.element_strings, what)


# ------------------------------------------------------------------------ digits


def _parse_gtin(digits: str, symbology: str | None) -> ParsedCode:
    n = len(digits)
    if symbology == "UPC-E":
        return _parse_upce(digits)
    if n not in (8, 12, 13, 14):
        return _bad(f"a GTIN has 8, 12, 13 or 14 digits, got {n}", "GTIN")
    label = {8: "GTIN-8", 12: "GTIN-12 (UPC-A)", 13: "GTIN-13", 14: "GTIN-14"}[n]
    err = _check_digit_error(label, digits)
    if err:
        return _bad(err, "GTIN")
    return _finish({"gtin": digits.zfill(14)}, "GTIN")


def _parse_upce(digits: str) -> ParsedCode:
    if len(digits) != 8:
        return _bad(f"a UPC-E number has 8 digits, got {len(digits)}", "UPC-E")
    if digits[0] not in "01":
        return _bad(f"UPC-E number system must be 0 or 1, got {digits[0]}", "UPC-E")
    try:
        upc = Upc.parse(digits)
    except ParseError as exc:
        msg = str(exc)
        m = re.search(r"Expected (\d), got (\d)", msg)
        if m and "check digit" in msg:
            return _bad(
                f"UPC-E check digit is wrong in {digits}: expected {m.group(1)}, "
                f"found {m.group(2)}",
                "UPC-E",
            )
        return _bad(f"not a valid UPC-E number: {msg}", "UPC-E")
    return _finish({"gtin": upc.as_gtin_14()}, "UPC-E")


def _parse_sscc(digits: str) -> ParsedCode:
    err = _check_digit_error("SSCC", digits)
    if err:
        return _bad(err, "SSCC")
    return _finish({"sscc": digits}, "SSCC")


def _parse_drug_code(digits: str) -> ParsedCode:
    # Chinese drug traceability code (药品追溯码): 7-digit product code + 9-digit
    # serial + 4-digit check code.  No public algorithm for the 4-digit check code
    # is known (it is verified against the NMPA / code issuer's records), so only
    # the structure -- exactly 20 decimal digits, led by 8 like every issued code --
    # is validated here (the server applies the same rule).
    if digits[0] not in DRUG_CODE_LEADING_DIGITS:
        return _bad(f"20 digits starting with {digits[0]} are not a drug traceability code "
                    "(those start with 8)", "drug code")
    return _finish({"drug_code": digits}, "drug code")


def _looks_like_sscc_ai(digits: str) -> bool:
    return (
        len(digits) == 20
        and digits.startswith("00")
        and _check_digit_error("SSCC", digits[2:]) is None
    )


# -------------------------------------------------------------------------- main


def parse_code(
    text: str | None,
    symbology: str | None = None,
    symbology_identifier: str | None = None,
) -> ParsedCode:
    """Turn a decoded barcode text into trace identifiers.

    ``symbology`` is a normalised name from :mod:`scanner_client.decode`
    ("EAN-13", "GS1-128", "Code128", "QRCode", ...); ``symbology_identifier`` an
    AIM identifier such as ``]C1``.  Both are optional (a keyboard-wedge scanner
    may send neither); a text may also start with its AIM identifier.
    """
    if text is None:
        return _bad("no text")
    text = text.strip("\r\n\t ")
    if not text:
        return _bad("empty code")

    sid = symbology_identifier
    m = _AIM_PREFIX.match(text)
    if m:
        sid = sid or m.group(0)
        text = text[3:]
        if not text:
            return _bad("empty code")
    text = text.replace("<GS>", GS)
    typed = _TYPED_WAYBILL.match(text)
    if typed:  # a waybill keyed in the service's own form, "waybill/NUMBER"
        number = typed.group(1).upper()
        if _WAYBILL.match(number):
            return _finish({"waybill": number}, "waybill")
        return _bad(f"not a waybill number: {number!r}", "waybill")

    gs1 = (
        (sid in GS1_SYMBOLOGY_IDENTIFIERS)
        or (symbology or "").startswith("GS1-")
        or text.startswith(GS)
        or bool(_HRI.match(text))
    )
    ean = bool(sid and sid[:2] in ("]E", "]I")) or symbology in _EAN_UPC

    if re.match(r"^https?://", text, re.IGNORECASE):
        return _parse_digital_link(text)
    if gs1:
        return _parse_gs1_message(text)

    if _DIGITS.match(text):
        n = len(text)
        if ean:
            return _parse_gtin(text, symbology)
        known_non_gs1 = symbology is not None or sid is not None
        if n == 20:
            if not known_non_gs1 and _looks_like_sscc_ai(text):
                # A wedge scanner without AIM prefix sends GS1-128 "(00)SSCC" as 20
                # digits; a drug code never starts with "00" + a valid SSCC.
                return _parse_sscc(text[2:])
            return _parse_drug_code(text)
        if not known_non_gs1:
            if n in (8, 12, 13, 14):
                return _parse_gtin(text, None)
            if n == 18:
                return _parse_sscc(text)
        # A plain (non-GS1) Code 128 / Code 39 / QR with digits only: a carrier's
        # waybill number (GTINs are not carried in plain Code 128).
    elif ean:
        return _bad(f"{symbology or sid} content is not numeric: {text!r}", "GTIN")

    if _WAYBILL.match(text):
        return _finish({"waybill": text}, "waybill")
    shown = text if len(text) <= 60 else text[:57] + "..."
    return _bad(f"not a recognised identifier: {shown!r}")
