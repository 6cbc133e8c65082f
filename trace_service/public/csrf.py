"""CSRF protection for the report form: a signed double-submit token.

(The place form of a unit page needs no cookie: its signed check token names the
visitor's own check and can only be read from the page the visitor was served, which makes
it a synchronizer token; see ``routes._check_token``.)

A GET that shows a form sets a random ``trace_csrf`` cookie (HttpOnly, SameSite=Lax) and
puts ``sign(nonce)`` in a hidden field. A POST is accepted only if the field's signature is
valid, not older than ``MAX_AGE``, and names the nonce of the cookie the same browser sent;
a cross-site page can neither read the cookie nor forge the signature. A present
``Origin`` header must also be this site.
"""

from __future__ import annotations

import secrets

from itsdangerous import BadSignature, URLSafeTimedSerializer

COOKIE = "trace_csrf"
FIELD = "csrf"
MAX_AGE = 2 * 3600


def _serializer(secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt="trace-public-csrf")


def new_nonce() -> str:
    return secrets.token_urlsafe(18)


def token_for(secret: str, nonce: str) -> str:
    return _serializer(secret).dumps(nonce)


def valid(secret: str, token: str | None, cookie_nonce: str | None) -> bool:
    if not token or not cookie_nonce:
        return False
    try:
        nonce = _serializer(secret).loads(token, max_age=MAX_AGE)
    except BadSignature:
        return False
    return secrets.compare_digest(str(nonce), cookie_nonce)


def same_origin(origin: str | None, host_url: str) -> bool:
    """No ``Origin`` (old browsers) is allowed; a present one must be this site. The pages
    send ``Referrer-Policy: same-origin`` so browsers send a real ``Origin`` with our own
    form posts (``no-referrer`` would make it ``null``, which is refused)."""
    if not origin:
        return True
    return origin.rstrip("/") == host_url.rstrip("/")
