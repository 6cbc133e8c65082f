"""Links a page may take from its query string: paths of this site only.

``/report/received?page=…`` links back to the page a report came from. Whatever is in
``page`` ends up in an ``href``, so anything a browser could resolve to another site is an
open redirect in all but name: ``//evil.example`` and ``/\\evil.example`` (browsers read a
backslash as a slash), the same percent-encoded once or twice (``/%5Cevil.example``,
``%2F%2Fevil.example``), a scheme (``https:``, ``javascript:``), or tabs and newlines,
which browsers delete from a URL before parsing it (``/<TAB>/evil.example`` is
``//evil.example``). So a link is kept only if, as given and after percent-decoding until
nothing changes, it starts with exactly one ``/``, holds no backslash, whitespace or
control character, and has no scheme or host.
"""

from __future__ import annotations

import unicodedata
from urllib.parse import unquote, urlsplit

#: Longer links are refused (a page path with its query is far shorter).
MAX_LENGTH = 2000
#: Rounds of percent-decoding tried; a link still encoded after them is refused.
DECODE_ROUNDS = 4


def local_path(value: str | None) -> str | None:
    """``value`` if it is a relative path of this site (module docstring), else None."""
    if not value or len(value) > MAX_LENGTH:
        return None
    forms = [value]
    for _ in range(DECODE_ROUNDS):
        decoded = unquote(forms[-1])
        if decoded == forms[-1]:
            break
        forms.append(decoded)
    else:
        return None
    return value if all(_plain_local(form) for form in forms) else None


def _plain_local(text: str) -> bool:
    if not text.startswith("/") or text[1:2] in ("/", "\\") or "\\" in text:
        return False
    if any(ch.isspace() or unicodedata.category(ch).startswith("C") for ch in text):
        return False
    parts = urlsplit(text)
    return not parts.scheme and not parts.netloc
