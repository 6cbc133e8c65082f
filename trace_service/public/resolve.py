"""What a public URL names: a unit, a lot, a product or a parcel.

Digital Link paths are parsed by ``identifiers.parse_digital_link`` from the *raw* request
URI (before the server decoded ``%2F`` and friends), so percent-encoding follows the
standard: a ``%2F`` inside a lot is part of the lot, a GTIN-8/12/13 is padded to 14
digits, data attributes such as ``?17=261231`` are validated and kept, and a wrong check
digit is an ``IdentifierError`` that names it.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from urllib.parse import quote

from trace_service.identifiers import (
    IdentifierError, drug_unit_key, lot_key, parse_digital_link, sscc_key, unit_key, waybill_key,
)


@dataclass(frozen=True)
class Target:
    """The thing a public URL names. ``key`` is the canonical trace key (None: a product)."""

    kind: str  # "unit" | "lot" | "product" | "parcel"
    key: str | None
    gtin: str | None = None
    lot: str | None = None
    serial: str | None = None
    sscc: str | None = None
    waybill: str | None = None
    drug_code: str | None = None
    # Data attributes from the query string, to compare with what is registered.
    expiry: dt.date | None = None

    def identifiers(self) -> dict:
        out = {name: getattr(self, name) for name in
               ("gtin", "lot", "serial", "sscc", "waybill", "drug_code")}
        out = {k: v for k, v in out.items() if v is not None}
        if self.expiry is not None:
            out["expiry"] = self.expiry.isoformat()
        return out


@functools.lru_cache(maxsize=4096)
def from_digital_link(raw_path_and_query: str) -> Target:
    """A Target from ``/01/...`` or ``/00/...`` (path and query exactly as received).

    Pure, so the last few thousand distinct links are remembered (a failed parse is not)."""
    data = parse_digital_link("https://resolver.invalid" + raw_path_and_query)
    expiry = _date(getattr(data, "expiry", None))
    if data.sscc is not None:
        return Target("parcel", sscc_key(data.sscc).key, sscc=data.sscc)
    if data.gtin is None:  # pragma: no cover - our routes only match /01/ and /00/
        raise IdentifierError("dl_no_primary_key", "This link names no product or parcel.")
    if data.serial is not None:
        ref = unit_key(data.gtin, data.serial)
        return Target("unit", ref.key, gtin=ref.gtin, lot=data.lot, serial=ref.serial,
                      expiry=expiry)
    if data.lot is not None:
        ref = lot_key(data.gtin, data.lot)
        return Target("lot", ref.key, gtin=ref.gtin, lot=ref.lot, expiry=expiry)
    return Target("product", None, gtin=data.gtin, expiry=expiry)


def from_waybill(number: str) -> Target:
    ref = waybill_key(number)
    return Target("parcel", ref.key, waybill=ref.waybill)


def from_drug_code(code: str) -> Target:
    ref = drug_unit_key(code)
    return Target("unit", ref.key, drug_code=ref.drug_code)


def from_trace_key(key: str) -> Target:
    """A Target from a canonical trace key (the report form carries one)."""
    if key.startswith("waybill/"):
        return from_waybill(key[8:])
    if key.startswith("drug/"):
        return from_drug_code(key[5:])
    if key.startswith("00/"):
        return Target("parcel", sscc_key(key[3:]).key, sscc=key[3:])
    parts = key.split("/", 3)
    if len(parts) == 4 and parts[0] == "01" and parts[2] == "21":
        ref = unit_key(parts[1], parts[3])
        return Target("unit", ref.key, gtin=ref.gtin, serial=ref.serial)
    if len(parts) == 4 and parts[0] == "01" and parts[2] == "10":
        ref = lot_key(parts[1], parts[3])
        return Target("lot", ref.key, gtin=ref.gtin, lot=ref.lot)
    raise IdentifierError("unrecognised_identifier", f"{key[:120]!r} is not a trace key.")


def page_path(target: Target) -> str:
    """The public page of a target: its GS1 Digital Link path, or ``/waybill/…``,
    ``/drug/…``."""
    if target.waybill:
        return f"/waybill/{quote(target.waybill, safe='')}"
    if target.drug_code:
        return f"/drug/{target.drug_code}"
    if target.sscc:
        return f"/00/{target.sscc}"
    path = f"/01/{target.gtin}"
    if target.lot:
        path += f"/10/{quote(target.lot, safe='')}"
    if target.serial:
        path += f"/21/{quote(target.serial, safe='')}"
    return path


def _date(value) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        return None
