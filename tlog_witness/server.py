"""``POST /add-checkpoint`` over the standard library's threading HTTP server.

Small on purpose: one route, bodies capped at 64 KiB, refusals as plain text with the
spec's status (and a ``Trace-Witness-Error`` header holding the stable code). Serve it
behind a TLS-terminating proxy when it is reachable from outside.
"""

from __future__ import annotations

import logging
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tlog_witness.witness import MAX_BODY, Witness, WitnessError

log = logging.getLogger("tlog_witness")


def make_server(witness: Witness, host: str, port: int) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the spec recommends
        server_version = "trace-witness/0.1"

        def _send(self, status: int, body: str, content_type: str, code: str | None = None):
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            if code:
                self.send_header("Trace-Witness-Error", code)
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self):  # noqa: N802 (http.server's naming)
            if self.path.rstrip("/") != "/add-checkpoint":
                return self._send(404, "not found\n", "text/plain; charset=utf-8", "not_found")
            try:
                length = int(self.headers.get("Content-Length", ""))
            except ValueError:
                return self._send(411, "a Content-Length is required\n",
                                  "text/plain; charset=utf-8", "length_required")
            if not 0 <= length <= MAX_BODY:
                self.close_connection = True
                return self._send(413, "the body is over 64 KiB\n", "text/plain; charset=utf-8",
                                  "too_large")
            raw = self.rfile.read(length)
            try:
                line = witness.add_checkpoint(raw)
            except WitnessError as exc:
                log.info("refused (%s): %s", exc.code, exc)
                return self._send(exc.status, exc.body or f"{exc}\n", exc.content_type, exc.code)
            return self._send(200, line, "text/plain; charset=utf-8")

        def do_GET(self):  # noqa: N802
            if self.path == "/verifier-key":
                return self._send(200, witness.verifier_key + "\n", "text/plain; charset=utf-8")
            return self._send(404, "not found\n", "text/plain; charset=utf-8", "not_found")

        def log_message(self, format, *args):  # noqa: A002 (the base class's signature)
            log.info("%s %s", self.address_string(), format % args)

    return ThreadingHTTPServer((host, port), Handler)
