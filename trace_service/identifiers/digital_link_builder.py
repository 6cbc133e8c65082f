"""Build GS1 Digital Link URIs that :func:`parse_digital_link` reads back unchanged.

:func:`build_digital_link` produces the canonical-ish form: numeric AIs (never the old
convenience alphas), the GTIN as 14 digits, every character outside ``A-Z a-z 0-9 - . _ ~``
percent-encoded (the Digital Link standard's rule for path and query values), data
attributes in the query sorted by AI, then any non-AI parameters in the order given.
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from .ai import ai_info, check_element
from .digital_link import looks_like_ai, query_elements
from .errors import IdentifierError, shorten
from .gs1 import normalize_gtin, validate_sscc

__all__ = ["build_digital_link"]


def build_digital_link(
    base_url: str,
    gtin: str | None = None,
    *,
    lot: str | None = None,
    serial: str | None = None,
    sscc: str | None = None,
    query: dict[str, str] | None = None,
) -> str:
    """Build a Digital Link URI: ``{base}/01/{gtin14}[/10/{lot}][/21/{serial}][?…]``.

    Give exactly one of ``gtin`` or ``sscc`` (``/00/{sscc}``; lot and serial are GTIN
    qualifiers, so they are refused with an SSCC: pass them in ``query`` instead).
    ``query`` may hold data-attribute AIs (validated, e.g. ``{"17": "261231"}``) and
    non-AI parameters (passed through, e.g. ``{"linkType": "gs1:pip"}``). The result
    round-trips through :func:`parse_digital_link`.
    """
    parts = urlsplit(base_url.strip()) if isinstance(base_url, str) else None
    if (
        parts is None
        or parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.query
        or parts.fragment
    ):
        raise IdentifierError(
            "dl_base_url",
            f"Base URL {shorten(str(base_url))!r} must be http(s)://host[/prefix] "
            "without query or fragment.",
            value=shorten(str(base_url)),
        )
    if gtin is None and sscc is None:
        raise IdentifierError(
            "dl_no_primary_key", "A Digital Link needs a primary key: give a GTIN or an SSCC."
        )
    if gtin is not None and sscc is not None:
        raise IdentifierError(
            "dl_multiple_primary_keys",
            "A Digital Link carries one primary key: give a GTIN or an SSCC, not both.",
        )
    if gtin is not None:
        pairs = [("01", normalize_gtin(gtin)), ("10", lot), ("21", serial)]
    else:
        if lot is not None or serial is not None:
            raise IdentifierError(
                "dl_qualifier_invalid",
                "Lot (10) and serial (21) are GTIN key qualifiers and cannot follow an SSCC "
                "(00) in the path; pass them in query if they are attributes.",
                primary="00",
            )
        pairs = [("00", validate_sscc(sscc))]
    pairs = [(ai, check_element(ai, v).value) for ai, v in pairs if v is not None]
    path = "".join(f"/{ai}/{quote(value, safe='')}" for ai, value in pairs)
    attributes, extra = [], []
    primary = pairs[0][0]
    seen = {ai for ai, _ in pairs}
    for key, value in (query or {}).items():
        if ai_info(key) is None and not looks_like_ai(key):
            extra.append((key, value))
        else:
            attributes.extend((e.ai, e.value) for e in query_elements(
                f"{key}={quote(value, safe='')}", primary, seen))
    params = sorted(attributes) + extra
    tail = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in params)
    return base_url.strip().rstrip("/") + path + (f"?{tail}" if tail else "")
