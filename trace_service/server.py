"""Running the app under gunicorn from Python (``trace-service serve``).

gunicorn answers some requests itself, before the app sees them: a request line over
4094 bytes (414), headers over 8190 bytes or more than 100 of them (431), a request line
or header it cannot parse (400), a transfer coding it does not know (501). Its workers
here answer those in the service's JSON error envelope instead of gunicorn's HTML page,
with the same status and gunicorn's own message.
"""

from __future__ import annotations

import html
import json
import re

from gunicorn import util
from gunicorn.app.base import BaseApplication
from gunicorn.workers.gthread import ThreadWorker
from gunicorn.workers.sync import SyncWorker

from trace_service.errors import envelope

# Stable codes of the errors gunicorn answers itself.
_CODES = {400: "bad_request", 403: "forbidden", 414: "uri_too_long", 417: "expectation_failed",
          431: "headers_too_large", 500: "internal_error", 501: "not_implemented"}
_STATUS_LINE = re.compile(rb"HTTP/1\.[01] (\d{3}) ")
_MESSAGE = re.compile(rb"</h1>\s*(.*?)\s*</body>", re.S)


class _Captured:
    """A stand-in for the client socket while gunicorn writes its error page: it keeps
    the bytes, so the page can be answered as an envelope instead."""

    def __init__(self, sock):
        self.sock, self.data = sock, b""

    def gettimeout(self):
        return self.sock.gettimeout()

    def setblocking(self, flag):
        self.sock.setblocking(flag)

    def sendall(self, data):
        self.data += data

    def __getattr__(self, name):
        return getattr(self.sock, name)


def envelope_of(page: bytes) -> bytes:
    """gunicorn's HTML error response rewritten as a JSON envelope response."""
    status = _STATUS_LINE.match(page)
    code = int(status.group(1)) if status else 400
    found = _MESSAGE.search(page)
    message = html.unescape(found.group(1).decode("latin-1")) if found else ""
    reason = page.split(b"\r\n", 1)[0].decode("latin-1").split(" ", 2)[-1] if status else ""
    body = json.dumps(envelope(code, _CODES.get(code, "http_error"),
                               message or reason or "the request could not be read")).encode()
    head = (f"HTTP/1.1 {code} {reason or 'Error'}\r\nConnection: close\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n")
    return head.encode("latin-1") + body


class EnvelopeErrors:
    """Worker mixin: gunicorn's own error responses in the JSON envelope. gunicorn picks
    the status and logs as usual; only the page it writes is replaced."""

    def handle_error(self, req, client, addr, exc):
        captured = _Captured(client)
        super().handle_error(req, captured, addr, exc)
        if captured.data:
            try:
                util.write_nonblock(client, envelope_of(captured.data))
            except Exception:  # noqa: BLE001 - the client is gone; as gunicorn does
                self.log.debug("Failed to send error message.")


class Sync(EnvelopeErrors, SyncWorker):
    """gunicorn's sync worker, with errors in the envelope."""


class Threads(EnvelopeErrors, ThreadWorker):
    """gunicorn's threaded worker, with errors in the envelope."""


class _Gunicorn(BaseApplication):
    def __init__(self, app, options):
        self.application = app
        self.options = options
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        return self.application


def run(app, *, host: str, port: int, workers: int, threads: int) -> None:
    # The app is built before forking; each worker must open its own connections.
    app.extensions["trace_db"].dispose()
    _Gunicorn(app, {
        "bind": f"{host}:{port}",
        "workers": workers,
        "threads": threads,
        "worker_class": f"{__name__}.{'Threads' if threads > 1 else 'Sync'}",
        "accesslog": "-",
        # No client address in the log: IP addresses are personal data.
        "access_log_format": '"%(r)s" %(s)s %(b)s %(L)ss',
        "graceful_timeout": 10,
        "timeout": 60,
    }).run()
