"""HTTP calls to the trace service: the one module that knows URLs and the error envelope.

Every call returns a :class:`Reply` (any HTTP status, with the error envelope
``{"error": {"status", "code", "message", "details"}}`` unpacked) or raises
:class:`TransportError` when no complete HTTP response arrived (connection refused or
reset, DNS failure, timeout, a body cut short).  What to do with either is decided by
:func:`scanner_client.upload.classify`.  The device key goes only into the
``Authorization`` header; it is never part of a message.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import requests
import requests.auth

from scanner_client import __version__

BATCH = "/api/v1/scans/batch"
LIMITS = "/api/v1/scans/limits"
BLOCKLIST = "/api/v1/blocklist"


class TransportError(Exception):
    """No complete HTTP response: the request may or may not have reached the server."""


@dataclass
class Reply:
    """An HTTP response, decoded."""

    status: int
    body: object = None  # the decoded JSON, or None when the body is not JSON
    code: str | None = None  # error envelope: code
    message: str | None = None  # error envelope: message (or a short text body)
    details: dict = field(default_factory=dict)
    retry_after: float | None = None

    def describe(self) -> str:
        """``HTTP 503 database_unavailable: the database is busy; retry``."""
        text = f"HTTP {self.status}"
        if self.code:
            text += f" {self.code}"
        if self.message:
            text += f": {self.message}"
        return text


def _reply(response: requests.Response) -> Reply:
    try:
        body = response.json()
    except ValueError:
        body = None
    reply = Reply(status=response.status_code, body=body)
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        reply.code = str(error.get("code") or "") or None
        reply.message = str(error.get("message") or "") or None
        reply.details = error.get("details") if isinstance(error.get("details"), dict) else {}
    elif body is None and response.status_code >= 400:
        reply.message = " ".join(response.text.split())[:200] or response.reason
    try:
        reply.retry_after = float(response.headers.get("Retry-After", ""))
    except ValueError:
        reply.retry_after = None
    return reply


class _Bearer(requests.auth.AuthBase):
    """``Authorization: Bearer <key>``; the key stays out of ``repr``."""

    def __init__(self, key: str):
        self._key = key

    def __call__(self, request):
        request.headers["Authorization"] = f"Bearer {self._key}"
        return request

    def __repr__(self) -> str:
        return "_Bearer(***)"


class Api:
    """The trace service at ``server``, called with one device key."""

    def __init__(self, server: str, key: str, *, timeout: float = 60.0,
                 connect_timeout: float = 5.0):
        self.server = server.rstrip("/")
        self.timeout = (connect_timeout, timeout)
        self.session = requests.Session()  # HTTPS_PROXY / NO_PROXY are honoured
        self.session.auth = _Bearer(key)  # (an auth object also keeps ~/.netrc out of it)
        self.session.headers.update({
            "Accept": "application/json",
            "User-Agent": f"trace-scan/{__version__}",
        })

    def __repr__(self) -> str:  # never the key
        return f"Api({self.server!r})"

    def close(self) -> None:
        self.session.close()

    def _call(self, method: str, path: str, payload: object = None) -> Reply:
        data = None
        headers = {}
        if payload is not None:
            data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
            headers["Content-Type"] = "application/json"
        try:
            response = self.session.request(method, self.server + path, data=data,
                                            headers=headers, timeout=self.timeout)
            return _reply(response)
        except requests.Timeout:
            raise TransportError(f"no answer within {self.timeout[1]:g} s") from None
        except requests.ConnectionError as exc:
            raise TransportError(_short(exc)) from None
        except requests.RequestException as exc:  # a response cut short, a bad chunk, ...
            raise TransportError(_short(exc)) from None

    def post_batch(self, scans: list[dict]) -> Reply:
        """``POST /api/v1/scans/batch``."""
        return self._call("POST", BATCH, {"scans": scans})

    def limits(self) -> Reply:
        """``GET /api/v1/scans/limits``."""
        return self._call("GET", LIMITS)

    def blocklist(self) -> Reply:
        """``GET /api/v1/blocklist``."""
        return self._call("GET", BLOCKLIST)

    def log_public_key(self) -> Reply:
        """``GET /api/v1/log/public-key``."""
        return self._call("GET", "/api/v1/log/public-key")

    def latest_checkpoint(self) -> Reply:
        """``GET /api/v1/log/checkpoints/latest``."""
        return self._call("GET", "/api/v1/log/checkpoints/latest")

    def consistency(self, first: int, second: int) -> Reply:
        """``GET /api/v1/log/proofs/consistency?first=&second=``."""
        return self._call("GET", f"/api/v1/log/proofs/consistency?first={first}&second={second}")


def _short(exc: Exception) -> str:
    """A one-line reason from a requests/urllib3 exception chain."""
    text = str(exc)
    for marker in ("Connection refused", "timed out", "Connection reset", "Name or service",
                   "Remote end closed", "Connection aborted", "IncompleteRead",
                   "No route to host", "Network is unreachable"):
        if marker in text:
            return marker
    return f"{type(exc).__name__}: {text[:160]}"
