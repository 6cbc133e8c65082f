"""What goes into a label: the data of each symbology for a unit, lot, product or parcel.

=============  =====================================================================
symbology      data
=============  =====================================================================
qr             the consumer page: a GS1 Digital Link ``{base}/01/{gtin}[/10/{lot}]
               [/21/{serial}][?17=YYMMDD]`` or ``{base}/00/{sscc}``; a waybill or a
               drug code (not GS1 keys) get ``{base}/waybill/{no}`` / ``{base}/drug/{code}``
datamatrix     GS1 DataMatrix ``(01)gtin(17)expiry(10)lot(21)serial`` or ``(00)sscc``
gs1-128        the same element string as GS1-128 (logistics labels: ``(00)sscc``)
ean13          the GTIN-13 of a product (retail point-of-sale symbol; no lot or serial)
code128        plain Code 128 of a drug traceability code or a waybill number
=============  =====================================================================

Fixed-length AIs come first (01, 17), then lot and serial, so only one FNC1 separator is
needed. Every value is validated by ``trace_service.identifiers`` before it is drawn.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from urllib.parse import quote

from trace_service.identifiers import (
    build_digital_link, drug_unit_key, lot_key, normalize_gtin, unit_key, validate_sscc,
    waybill_key,
)
from trace_service.labels.symbols import Symbol, SymbolError


@dataclass(frozen=True)
class Subject:
    """The identifiers a label carries."""

    gtin: str | None = None
    lot: str | None = None
    serial: str | None = None
    sscc: str | None = None
    waybill: str | None = None
    drug_code: str | None = None
    expiry: dt.date | None = None

    def validated(self) -> Subject:
        gtin = normalize_gtin(self.gtin) if self.gtin else None
        if gtin and self.serial:
            unit_key(gtin, self.serial)
        if gtin and self.lot:
            lot_key(gtin, self.lot)
        return Subject(
            gtin=gtin, lot=self.lot, serial=self.serial,
            sscc=validate_sscc(self.sscc) if self.sscc else None,
            waybill=waybill_key(self.waybill).waybill if self.waybill else None,
            drug_code=drug_unit_key(self.drug_code).drug_code if self.drug_code else None,
            expiry=self.expiry)


def symbol_for(subject: Subject, symbology: str, base_url: str,
               with_expiry: bool = False) -> Symbol:
    s = subject.validated()
    expiry = s.expiry if with_expiry else None
    if symbology == "qr":
        return Symbol("qr", page_url(s, base_url, expiry), _caption(s, expiry))
    if symbology in ("datamatrix", "gs1-128"):
        return Symbol(symbology, element_string(s, expiry), _caption(s, expiry))
    if symbology == "ean13":
        if not s.gtin:
            raise SymbolError("an EAN-13 carries a product's GTIN: give a GTIN")
        if not s.gtin.startswith("0"):
            raise SymbolError(f"GTIN {s.gtin} has 14 significant digits; EAN-13 carries "
                              "GTIN-8/12/13 only (use ITF-14 or GS1-128 for cases)")
        return Symbol("ean13", s.gtin[1:], (s.gtin[1:],))
    if symbology == "code128":
        text = s.drug_code or s.waybill
        if not text:
            raise SymbolError("plain Code 128 is for drug traceability codes and waybill "
                              "numbers; GS1 data goes into GS1-128")
        return Symbol("code128", text, (text,))
    raise SymbolError(f"unknown symbology {symbology!r}")


def page_url(s: Subject, base_url: str, expiry: dt.date | None = None) -> str:
    base = base_url.rstrip("/")
    if s.gtin:
        query = {"17": expiry.strftime("%y%m%d")} if expiry else None
        return build_digital_link(base, s.gtin, lot=s.lot, serial=s.serial, query=query)
    if s.sscc:
        return build_digital_link(base, sscc=s.sscc)
    if s.waybill:
        return f"{base}/waybill/{quote(s.waybill, safe='')}"
    if s.drug_code:
        return f"{base}/drug/{s.drug_code}"
    raise SymbolError("nothing to put on the label: give a GTIN, SSCC, waybill or drug code")


def element_string(s: Subject, expiry: dt.date | None = None) -> str:
    if s.sscc:
        return f"(00){s.sscc}"
    if not s.gtin:
        raise SymbolError("GS1 symbols carry a GTIN or an SSCC; a drug code or waybill "
                          "number goes into plain Code 128")
    out = f"(01){s.gtin}"
    if expiry:
        out += f"(17){expiry.strftime('%y%m%d')}"
    if s.lot:
        out += f"(10){s.lot}"
    if s.serial:
        out += f"(21){s.serial}"
    return out


def _caption(s: Subject, expiry: dt.date | None) -> tuple[str, ...]:
    if s.sscc:
        return (f"(00) {s.sscc}",)
    if s.waybill:
        return (s.waybill,)
    if s.drug_code:
        return (s.drug_code,)
    lines = [f"(01) {s.gtin}"]
    second = []
    if expiry:
        second.append(f"(17) {expiry.strftime('%y%m%d')}")
    if s.lot:
        second.append(f"(10) {s.lot}")
    if second:
        lines.append("  ".join(second))
    if s.serial:
        lines.append(f"(21) {s.serial}")
    return tuple(lines)


def serial_range(prefix: str, start: int, end: int, width: int) -> list[str]:
    """``prefix`` + the numbers ``start..end`` zero-padded to ``width`` digits."""
    if end < start:
        raise SymbolError("the serial range ends before it starts")
    return [f"{prefix}{n:0{width}d}" for n in range(start, end + 1)]
