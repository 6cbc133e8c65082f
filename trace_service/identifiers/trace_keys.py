"""Trace keys: the canonical, stable strings the service stores and looks things up by.

=========  ==========================  ======================================
kind       key                          built by
=========  ==========================  ======================================
unit       ``01/{gtin14}/21/{serial}``  :func:`unit_key` (GTIN + serial)
unit       ``drug/{code20}``            :func:`drug_unit_key` (drug traceability code)
lot        ``01/{gtin14}/10/{lot}``     :func:`lot_key` (GTIN + lot)
parcel     ``00/{sscc18}``              :func:`sscc_key` (logistic unit)
parcel     ``waybill/{NUMBER}``         :func:`waybill_key` (carrier waybill)
=========  ==========================  ======================================

Serial and lot are stored raw (not percent-encoded); they follow AI 21 / AI 10 rules (1-20
characters of GS1 character set 82, which includes ``/``: a key is split at its first three
slashes only, so ``01/…/10/A/B`` is lot ``A/B``). Waybill numbers are 6-40 characters of
``A-Z 0-9 -``, beginning and ending with a letter or digit, upper-cased, blanks removed.

:func:`parse_trace_key` reads what a user or scanner typed:

* a canonical key as above (re-validated; a GTIN in it may be 8-14 digits and is padded);
  ``waybill:NUMBER`` is accepted as well as ``waybill/NUMBER``;
* anything :func:`parse_scan` reads — GS1 element strings in every form, Digital Link
  URIs, drug codes, bare SSCCs. GS1 data becomes, in this order of precedence: a parcel if
  it has an SSCC (00) — a label carrying an SSCC is a logistics label, whatever else it
  carries; a unit if it has GTIN + serial (serial wins over lot); a lot if GTIN + lot.
  A GTIN alone names a product, not a traceable item: ``gtin_without_serial_or_lot``.
  Other GS1 data (e.g. only a GLN) gives ``gs1_no_trace_key``.
* Bare digit strings are told apart by length: 8/12/13/14 digits are a GTIN (refused as
  above), 18 digits an SSCC, 20 digits a drug code (which must begin with 8) unless they
  begin with ``00`` (then they are AI 00 + SSCC, the raw GS1-128 logistics label scan);
  other lengths are tried as an unbracketed GS1 element string.

Anything else is ``unrecognised_identifier`` with a message listing the accepted forms.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields, replace

from .ai import check_element
from .drug_code import DrugCode, parse_drug_code
from .errors import IdentifierError, shorten
from .gs1 import clean_typed, normalize_gtin, validate_sscc
from .scan import parse_scan, unrecognised

__all__ = [
    "TraceKeyRef",
    "drug_unit_key",
    "lot_key",
    "parse_trace_key",
    "sscc_key",
    "unit_key",
    "waybill_key",
]

TRACE_KEY_FORMS = (
    "a trace key (01/{GTIN}/21/{serial}, 01/{GTIN}/10/{lot}, 00/{SSCC}, drug/{20 digits}, "
    "waybill/{number}), a GS1 element string such as (01)09506000134352(21)123, a GS1 "
    "Digital Link URI, a 20-digit drug traceability code, an 18-digit SSCC or "
    "waybill:{number}"
)
_WAYBILL = re.compile(r"[A-Z0-9][A-Z0-9-]{4,38}[A-Z0-9]")


@dataclass(frozen=True)
class TraceKeyRef:
    """A traceable thing: ``kind`` ("unit" | "lot" | "parcel") and its canonical ``key``."""

    kind: str
    key: str
    gtin: str | None = None
    serial: str | None = None
    lot: str | None = None
    sscc: str | None = None
    drug_code: str | None = None
    waybill: str | None = None

    def as_dict(self) -> dict:
        """Return a JSON-friendly dict without the ``None`` fields."""
        return {f.name: getattr(self, f.name) for f in fields(self)
                if getattr(self, f.name) is not None}


def unit_key(gtin14: str, serial: str) -> TraceKeyRef:
    """Unit identified by GTIN + serial: key ``01/{gtin14}/21/{serial}``."""
    gtin = normalize_gtin(gtin14)
    serial = check_element("21", serial).value
    return TraceKeyRef("unit", f"01/{gtin}/21/{serial}", gtin=gtin, serial=serial)


def lot_key(gtin14: str, lot: str) -> TraceKeyRef:
    """Lot identified by GTIN + lot/batch: key ``01/{gtin14}/10/{lot}``."""
    gtin = normalize_gtin(gtin14)
    lot = check_element("10", lot).value
    return TraceKeyRef("lot", f"01/{gtin}/10/{lot}", gtin=gtin, lot=lot)


def drug_unit_key(code20: str) -> TraceKeyRef:
    """Drug pack identified by its 20-digit traceability code: key ``drug/{code20}``."""
    code = parse_drug_code(code20).code
    return TraceKeyRef("unit", f"drug/{code}", drug_code=code)


def sscc_key(sscc18: str) -> TraceKeyRef:
    """Logistic unit identified by its SSCC: key ``00/{sscc18}``."""
    sscc = validate_sscc(sscc18)
    return TraceKeyRef("parcel", f"00/{sscc}", sscc=sscc)


def waybill_key(number: str) -> TraceKeyRef:
    """Parcel identified by a carrier waybill number: key ``waybill/{NUMBER}``."""
    text = re.sub(r"\s+", "", clean_typed(number)).upper()
    if not _WAYBILL.fullmatch(text):
        bad = next((c for c in text if not (c.isascii() and (c.isalnum() or c == "-"))), None)
        reason = (
            f"character {bad!r} is not allowed" if bad is not None
            else f"it has {len(text)} characters" if not 6 <= len(text) <= 40
            else "it must begin and end with a letter or digit"
        )
        raise IdentifierError(
            "waybill_invalid",
            f"Waybill number {shorten(text)!r} is not valid: {reason}; expected 6 to 40 "
            "characters of A-Z, 0-9 and '-'.",
            value=shorten(text),
        )
    return TraceKeyRef("parcel", f"waybill/{text}", waybill=text)


def parse_trace_key(text: str) -> TraceKeyRef:
    """Turn what a user or scanner typed into a :class:`TraceKeyRef` (see module docstring)."""
    if not isinstance(text, str):
        raise TypeError(f"expected a string, got {type(text).__name__}")
    s = text.strip()
    prefix = s[:8].lower()
    if prefix in ("waybill/", "waybill:"):
        return waybill_key(s[8:])
    if s[:5].lower() == "drug/":
        return drug_unit_key(s[5:])
    if s.startswith("00/"):
        return sscc_key(s[3:])
    if s.startswith("01/"):
        return _canonical_gtin_key(s)
    try:
        data = parse_scan(s)
    except IdentifierError as exc:
        if exc.code == "unrecognised_identifier":
            raise unrecognised(s, TRACE_KEY_FORMS, **{
                k: v for k, v in exc.details.items() if k != "value"}) from None
        raise
    if isinstance(data, DrugCode):
        return drug_unit_key(data.code)
    extra = {"gtin": data.gtin, "lot": data.lot, "serial": data.serial}
    if data.sscc is not None:
        return replace(sscc_key(data.sscc), **extra)
    if data.gtin is not None and data.serial is not None:
        return replace(unit_key(data.gtin, data.serial), lot=data.lot)
    if data.gtin is not None and data.lot is not None:
        return lot_key(data.gtin, data.lot)
    if data.gtin is not None:
        raise _gtin_alone(data.gtin)
    raise IdentifierError(
        "gs1_no_trace_key",
        "This GS1 data names no traceable item: it needs a GTIN with a serial (21) or lot "
        "(10), or an SSCC (00).",
        found=sorted(k for k in data.as_dict() if k not in ("other", "symbology"))
        + sorted(data.other),
    )


def _canonical_gtin_key(s: str) -> TraceKeyRef:
    """Parse ``01/{gtin}/21/{serial}`` or ``01/{gtin}/10/{lot}``."""
    parts = s.split("/", 3)
    if len(parts) == 2:
        raise _gtin_alone(normalize_gtin(parts[1]))
    if len(parts) == 4 and parts[2] == "21":
        return unit_key(parts[1], parts[3])
    if len(parts) == 4 and parts[2] == "10":
        return lot_key(parts[1], parts[3])
    raise unrecognised(s, TRACE_KEY_FORMS)


def _gtin_alone(gtin: str) -> IdentifierError:
    """Build the ``gtin_without_serial_or_lot`` refusal."""
    return IdentifierError(
        "gtin_without_serial_or_lot",
        f"GTIN {gtin} names a product, not a traceable item: give its serial (21) or lot "
        f"(10) too, e.g. (01){gtin}(21){{serial}}.",
        gtin=gtin,
    )
