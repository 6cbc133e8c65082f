"""GS1 Digital Link URIs (GS1 Digital Link standard 1.x, uncompressed form): parse and build.

``https://id.example.com/any/prefix/01/09506000134352/10/ABC/21/123?17=261231&linkType=all``

Parsing rules (all enforced, each with its own error code):

* ``http``/``https`` with a host (``dl_not_uri``); ``%``-escapes must be well formed
  (``dl_percent_encoding``); path segments are split on ``/`` first and percent-decoded
  afterwards, so ``%2F`` is part of a value; query values are decoded per RFC 3986, so
  ``+`` stays a plus (it is a legal GS1 character), a space must be ``%20`` (and is then
  rejected: GS1 values have no spaces).
* The path ends with exactly one primary key and its key qualifiers; anything before it is
  the resolver's own prefix and ignored. The primary key is found from the right, as the
  last primary-key AI that is followed by an even number of segments
  (``dl_no_primary_key`` if none). Supported primary keys and their qualifiers, in the
  order the standard prescribes: 01 (22, 10, 21, 235), 8006 (22, 10, 21), 8013, 8010
  (8011), 414 (254, 7040), 415 (8020), 417 (7040), 8017 (8019), 8018 (8019), 255, 00,
  253, 401, 402, 8003, 8004 (7040).
* Qualifiers only in that order (``dl_qualifier_order``, also for a qualifier placed
  before the primary key), only ones that belong to the key (``dl_qualifier_invalid``),
  and no second key or stray segment (``dl_path_invalid``).
* Every AI at most once, path and query together (``dl_duplicate_ai``); a key qualifier of
  the primary key, or another primary key, in the query is refused (``dl_key_in_query``).
* Numeric query keys that are known AIs are data attributes (17, 11, 15, 3103 …) and are
  validated like element strings; unknown 2-4 digit keys give ``ai_unknown``; other query
  parameters (``linkType``, ``s``, ``context`` …) are ignored.
* A GTIN-8/12/13 in the path is zero-padded to 14 digits; every value is validated like an
  element string (check digits, dates, lengths, character set 82).
* The "convenience alphas" of Digital Link 1.0/1.1 (``/gtin/…/lot/…/ser/…``) are accepted
  in the *path* and read as their numeric AIs: they were standard in 1.0/1.1 and were
  deprecated, not banned, later. They are never produced. No query-string alphas are
  recognised (``?exp=…`` is ignored like any non-AI parameter).
* Compressed Digital Link URIs are not supported (they yield ``dl_no_primary_key``).

Building is in :mod:`.digital_link_builder`.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

from .ai import Element, ai_info, check_element
from .element_strings import split_symbology
from .errors import IdentifierError, shorten
from .gs1 import verify_key
from .gs1_data import GS1Data, gs1data_from_elements

__all__ = ["PRIMARY_KEYS", "parse_digital_link"]

#: Primary key AI -> its key qualifiers in the prescribed order.
PRIMARY_KEYS: dict[str, tuple[str, ...]] = {
    "01": ("22", "10", "21", "235"),
    "8006": ("22", "10", "21"),
    "8013": (),
    "8010": ("8011",),
    "414": ("254", "7040"),
    "415": ("8020",),
    "417": ("7040",),
    "8017": ("8019",),
    "8018": ("8019",),
    "255": (),
    "00": (),
    "253": (),
    "401": (),
    "402": (),
    "8003": (),
    "8004": ("7040",),
}
_QUALIFIERS = frozenset(q for qs in PRIMARY_KEYS.values() for q in qs)
#: Digital Link 1.0/1.1 convenience alphas for path keys (accepted, never produced).
CONVENIENCE_ALPHAS = {
    "gtin": "01", "itip": "8006", "gmn": "8013", "cpid": "8010", "gln": "414",
    "payTo": "415", "partyGln": "417", "gsrnp": "8017", "gsrn": "8018", "gcn": "255",
    "sscc": "00", "gdti": "253", "ginc": "401", "gsin": "402", "grai": "8003",
    "giai": "8004", "cpv": "22", "lot": "10", "ser": "21", "cpsn": "8011",
    "glnx": "254", "refNo": "8020", "srin": "8019",
}
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


def _path_key(segment: str) -> str | None:
    """Return the AI a path segment names as a key or qualifier, else ``None``."""
    code = CONVENIENCE_ALPHAS.get(segment, segment)
    return code if code in PRIMARY_KEYS or code in _QUALIFIERS else None


def _split_uri(uri: str):
    """Check the URI shape and return ``(symbology, urlsplit result)`` or raise."""
    if not isinstance(uri, str):
        raise TypeError(f"expected a string, got {type(uri).__name__}")
    symbology, text = split_symbology(uri.strip())
    try:
        parts = urlsplit(text)
    except ValueError:
        parts = None
    if (
        parts is None
        or parts.scheme not in ("http", "https")
        or not parts.hostname
        or re.search(r"\s", text)
    ):
        raise IdentifierError(
            "dl_not_uri",
            f"{shorten(text)!r} is not a GS1 Digital Link URI: expected "
            "https://host/…/01/{GTIN}… without spaces.",
            value=shorten(text),
        )
    bad = _BAD_ESCAPE.search(parts.path + "?" + parts.query)
    if bad:
        raise IdentifierError(
            "dl_percent_encoding",
            f"The Digital Link has a malformed percent-escape near "
            f"{shorten((parts.path + '?' + parts.query)[bad.start():bad.start() + 3])!r}; "
            "'%' must be followed by two hex digits (write a literal % as %25).",
            value=shorten(text),
        )
    return symbology, parts


def _primary_index(keys: list[str | None]) -> int:
    """Find the primary key from the right: last key AI followed by an even segment count."""
    for i in range(len(keys) - 2, -1, -2):
        if keys[i] in PRIMARY_KEYS:
            return i
    if any(k in PRIMARY_KEYS for k in keys):
        raise IdentifierError(
            "dl_path_invalid",
            "The Digital Link path has a key without a value: after the primary key, "
            "segments must come in AI/value pairs.",
        )
    raise IdentifierError(
        "dl_no_primary_key",
        "The Digital Link path has no GS1 primary key such as /01/{GTIN} or /00/{SSCC}.",
    )


def parse_digital_link(uri: str) -> GS1Data:
    """Parse a GS1 Digital Link URI strictly into :class:`GS1Data` (see module docstring)."""
    symbology, parts = _split_uri(uri)
    segments = parts.path.split("/")[1:]
    if segments and segments[-1] == "":
        segments.pop()  # one trailing slash is tolerated
    keys = [_path_key(s) for s in segments]
    p = _primary_index(keys)
    primary = keys[p]
    qualifiers = PRIMARY_KEYS[primary]
    if p >= 2 and keys[p - 2] is not None:
        before = keys[p - 2]
        if before in qualifiers:
            raise _order_error(before, primary, f"must come after the primary key ({primary})")
        raise IdentifierError(
            "dl_path_invalid",
            f"The Digital Link path has ({before}) before the primary key ({primary}); "
            "a Digital Link carries exactly one primary key.",
            ai=before,
            primary=primary,
        )
    elements = [_path_element(primary, unquote(segments[p + 1]))]
    seen, nxt = {primary}, 0
    for j in range(p + 2, len(segments), 2):
        key = CONVENIENCE_ALPHAS.get(segments[j], segments[j])
        if key in seen:
            raise _duplicate(key)
        if key not in qualifiers:
            if ai_info(key) is None:
                raise IdentifierError(
                    "dl_path_invalid",
                    f"Path segment {shorten(segments[j])!r} after the primary key "
                    f"({primary}) is not a GS1 key qualifier.",
                    segment=shorten(segments[j]),
                    primary=primary,
                )
            raise IdentifierError(
                "dl_qualifier_invalid",
                f"AI ({key}) is not a key qualifier of ({primary}); allowed in the path: "
                f"{', '.join(f'({q})' for q in qualifiers) or 'none'}.",
                ai=key,
                primary=primary,
            )
        index = qualifiers.index(key)
        if index < nxt:
            raise _order_error(key, primary, f"must come before ({qualifiers[nxt - 1]})")
        nxt = index + 1
        seen.add(key)
        elements.append(check_element(key, unquote(segments[j + 1])))
    elements.extend(query_elements(parts.query, primary, seen))
    return gs1data_from_elements(elements, symbology=symbology, strict_repeat=True)


def _path_element(primary: str, value: str) -> Element:
    """Validate the primary key value; a GTIN-8/12/13 is zero-padded to 14 digits."""
    if primary == "01":
        verify_key(value, kind="GTIN", code="gtin", lengths=(8, 12, 13, 14), ai="01")
        value = value.zfill(14)
    return check_element(primary, value)


def query_elements(query: str, primary: str, seen: set[str]) -> list[Element]:
    """Validate the AI parameters of a query string; ignore non-AI parameters."""
    elements = []
    for pair in query.split("&"):
        if not pair:
            continue
        raw_key, _, raw_value = pair.partition("=")
        key, value = unquote(raw_key), unquote(raw_value)
        if ai_info(key) is None:
            if looks_like_ai(key):
                raise IdentifierError(
                    "ai_unknown",
                    f"Unknown GS1 Application Identifier ({key}) in the query string.",
                    ai=key,
                )
            continue
        if key in seen:
            raise _duplicate(key)
        if key in PRIMARY_KEYS[primary] or key in PRIMARY_KEYS:
            what = "a key qualifier" if key in PRIMARY_KEYS[primary] else "a primary key"
            raise IdentifierError(
                "dl_key_in_query",
                f"AI ({key}) is {what} and belongs in the path, not the query string.",
                ai=key,
                primary=primary,
            )
        seen.add(key)
        elements.append(check_element(key, value))
    return elements


def looks_like_ai(key: str) -> bool:
    """True for 2-4 ASCII digits: a query key meant as an AI, known or not."""
    return key.isascii() and key.isdigit() and 2 <= len(key) <= 4


def _order_error(ai: str, primary: str, rule: str) -> IdentifierError:
    """Build a ``dl_qualifier_order`` error."""
    order = " → ".join(f"({a})" for a in (primary, *PRIMARY_KEYS[primary]))
    return IdentifierError(
        "dl_qualifier_order",
        f"Key qualifier ({ai}) is out of order: it {rule}; the order is {order}.",
        ai=ai,
        primary=primary,
    )


def _duplicate(ai: str) -> IdentifierError:
    """Build a ``dl_duplicate_ai`` error."""
    return IdentifierError(
        "dl_duplicate_ai",
        f"AI ({ai}) appears more than once in the Digital Link (path and query together "
        "may carry each AI only once).",
        ai=ai,
    )
