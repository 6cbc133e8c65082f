"""``GS1Data``: the one result type of GS1 element-string and Digital Link parsing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from .ai import Element
from .errors import IdentifierError, shorten

__all__ = ["GS1Data", "gs1data_from_elements"]

#: AI -> GS1Data attribute for the AIs that get their own field.
_FIELDS = {
    "01": "gtin",
    "10": "lot",
    "21": "serial",
    "17": "expiry",
    "11": "production_date",
    "15": "best_before",
    "00": "sscc",
    "414": "gln",
}
_DATE_FIELDS = {"expiry", "production_date", "best_before"}


@dataclass(frozen=True)
class GS1Data:
    """What a GS1 barcode or Digital Link says, validated.

    ``gtin`` is always a GTIN-14; dates are ``datetime.date`` (AI 17 with ``DD=00`` is
    the last day of that month); AIs without a field of their own are kept in ``other``
    as raw strings (``{"3103": "000500"}``); ``symbology`` is the symbology identifier
    (``"]C1"``, ``"]d2"``, ``"]Q3"``, ``"]e0"`` …) if the scan started with one.
    """

    gtin: str | None = None
    lot: str | None = None
    serial: str | None = None
    expiry: dt.date | None = None
    production_date: dt.date | None = None
    best_before: dt.date | None = None
    sscc: str | None = None
    gln: str | None = None
    other: dict[str, str] = field(default_factory=dict)
    symbology: str | None = None

    def as_dict(self) -> dict:
        """Return a JSON-friendly dict: dates as ISO strings, ``None`` fields left out.

        ``other`` is always present (possibly empty) so consumers can rely on it.
        """
        out: dict = {}
        for name in ("gtin", "lot", "serial", "expiry", "production_date", "best_before",
                     "sscc", "gln"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value.isoformat() if isinstance(value, dt.date) else value
        out["other"] = dict(self.other)
        if self.symbology is not None:
            out["symbology"] = self.symbology
        return out


def gs1data_from_elements(
    elements: Iterable[Element], *, symbology: str | None = None, strict_repeat: bool = False
) -> GS1Data:
    """Fold validated elements into a :class:`GS1Data`.

    The same AI twice with the same value is accepted once (the GS1 General
    Specifications only forbid repeating an AI with a *different* value); otherwise it raises
    ``ai_duplicate``. With ``strict_repeat=True`` (Digital Link, where each AI may appear
    only once) any repeat raises ``dl_duplicate_ai``.
    """
    seen: dict[str, str] = {}
    kwargs: dict = {}
    other: dict[str, str] = {}
    for el in elements:
        if el.ai in seen:
            if strict_repeat:
                raise IdentifierError(
                    "dl_duplicate_ai",
                    f"AI ({el.ai}) appears more than once in the Digital Link "
                    "(path and query together may carry each AI only once).",
                    ai=el.ai,
                    values=[shorten(seen[el.ai]), shorten(el.value)],
                )
            if seen[el.ai] != el.value:
                raise IdentifierError(
                    "ai_duplicate",
                    f"AI ({el.ai}) appears twice with different values: "
                    f"{shorten(seen[el.ai])!r} and {shorten(el.value)!r}.",
                    ai=el.ai,
                    values=[shorten(seen[el.ai]), shorten(el.value)],
                )
            continue
        seen[el.ai] = el.value
        name = _FIELDS.get(el.ai)
        if name is None:
            other[el.ai] = el.value
        else:
            kwargs[name] = el.date if name in _DATE_FIELDS else el.value
    return GS1Data(other=other, symbology=symbology, **kwargs)
