"""A tiny HTTP/1.1-aware TCP proxy for the failure tests (a thread, real sockets).

It reads each request from the client in full (headers + ``Content-Length`` body),
asks :attr:`Proxy.before` whether to answer it itself (an injected 503, ...), otherwise
forwards it to the server, reads the server's full response and asks :attr:`Proxy.after`
what to do with it: ``"forward"`` it, ``"drop"`` the connection without answering (a
network failure after the server did the work), or answer with other bytes (an
injected 500).  ``after`` may also kill the client process first - between the server's
commit and the client's acknowledgement.  Every exchange is logged in :attr:`log`.
"""

from __future__ import annotations

import json
import socket
import threading
from dataclasses import dataclass


@dataclass
class Exchange:
    method: str
    path: str
    scans: int  # scans in a batch upload body (0 for other requests)
    status: int | None  # the server's status, None when not forwarded
    action: str  # forward, drop, injected


def response(status: int, body: dict, headers: dict | None = None) -> bytes:
    data = json.dumps(body).encode()
    head = [f"HTTP/1.1 {status} X", "Content-Type: application/json",
            f"Content-Length: {len(data)}"]
    head += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + data


def error_response(status: int, code: str, message: str, **details) -> bytes:
    error = {"status": status, "code": code, "message": message}
    if details:
        error["details"] = details
    return response(status, {"error": error}, {"Retry-After": "0"} if status == 503 else None)


def _read_message(sock: socket.socket, buf: bytearray) -> tuple[bytes, bytes] | None:
    """(head, body) of the next HTTP message on ``sock``; None at a clean EOF."""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            if buf:
                raise ConnectionError("connection closed inside a message head")
            return None
        buf += chunk
    end = buf.index(b"\r\n\r\n") + 4
    head = bytes(buf[:end])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
        elif name.strip().lower() == b"transfer-encoding":
            raise ConnectionError("chunked messages are not supported by this proxy")
    del buf[:end]
    while len(buf) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("connection closed inside a message body")
        buf += chunk
    body = bytes(buf[:length])
    del buf[:length]
    return head, body


class Proxy:
    """Listens on ``port`` (0: any free port) and forwards to ``127.0.0.1:upstream``."""

    def __init__(self, upstream: int, port: int = 0):
        self.upstream = upstream
        self.before = lambda ex, body: None  # -> bytes to answer without forwarding
        self.after = lambda ex, body, resp: "forward"  # -> "forward" | "drop" | bytes
        self.log: list[Exchange] = []
        self.lock = threading.Lock()
        self.listener = socket.create_server(("127.0.0.1", port))
        self.port = self.listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.closed = False
        self.conns: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def batches(self) -> list[Exchange]:
        with self.lock:
            return [e for e in self.log if e.path.endswith("/scans/batch")]

    def close(self) -> None:
        self.closed = True
        self.listener.close()
        with self.lock:
            for c in self.conns:
                try:
                    c.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                c.close()

    def _accept(self) -> None:
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        upstream = None
        with self.lock:
            self.conns.append(client)
        try:
            cbuf, ubuf = bytearray(), bytearray()
            while True:
                msg = _read_message(client, cbuf)
                if msg is None:
                    return
                head, body = msg
                method, path = head.split(b" ", 2)[:2]
                ex = Exchange(method.decode(), path.decode(), _count_scans(body), None, "forward")
                with self.lock:
                    self.log.append(ex)
                injected = self.before(ex, body)
                if injected is not None:
                    ex.action = "injected"
                    client.sendall(injected)
                    continue
                if upstream is None:
                    upstream = socket.create_connection(("127.0.0.1", self.upstream))
                upstream.sendall(head + body)
                resp = _read_message(upstream, ubuf)
                if resp is None:
                    return
                ex.status = int(resp[0].split(b" ", 2)[1])
                decision = self.after(ex, body, resp)
                if decision == "drop":
                    ex.action = "drop"
                    return
                if isinstance(decision, bytes):
                    ex.action = "injected"
                    client.sendall(decision)
                else:
                    client.sendall(resp[0] + resp[1])
        except (OSError, ConnectionError, ValueError):
            return
        finally:
            client.close()
            if upstream is not None:
                upstream.close()


def _count_scans(body: bytes) -> int:
    try:
        return len(json.loads(body)["scans"])
    except (ValueError, KeyError, TypeError):
        return 0
