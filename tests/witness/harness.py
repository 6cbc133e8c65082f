"""Real witness processes for tests, and a tiny in-memory log that signs checkpoints."""

from __future__ import annotations

import base64
import datetime as dt
import os
import re
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from trace_service.ledger import merkle
from trace_service.ledger.notes import LogKey, checkpoint_body, signed_note

BIN = Path(sys.executable).parent
WITNESS = str(BIN / "trace-witness")


def init_witness(home: Path, name: str, log_key: str) -> str:
    """``trace-witness init``; returns the witness's verifier key."""
    proc = subprocess.run([WITNESS, "--home", str(home), "init", "--name", name,
                           "--log-key", log_key], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running_witness(home: Path, port: int = 0):
    """``trace-witness serve --port PORT`` (0: any free one) in its own process; yields its
    base URL."""
    proc = subprocess.Popen([WITNESS, "--home", str(home), "serve", "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        deadline = time.monotonic() + 30
        line = proc.stdout.readline()
        match = re.search(r"listening on (http://\S+)", line)
        assert match and time.monotonic() < deadline, f"witness did not start: {line!r}"
        yield match.group(1)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stdout.close()


class MemoryLog:
    """A log of byte strings, signing checkpoints with its own key (tests only)."""

    def __init__(self, name: str = "log.test/log", key: Ed25519PrivateKey | None = None):
        self.key = LogKey(name, key or Ed25519PrivateKey.generate())
        self.leaves: list[bytes] = []

    def append(self, *items: bytes) -> None:
        self.leaves.extend(items)

    def _node(self, node):
        level, index = node
        return merkle.root_of(self.leaves[index << level:(index + 1) << level])

    def root(self, size: int) -> bytes:
        return merkle.root_of(self.leaves[:size])

    def checkpoint(self, size: int | None = None, signer: LogKey | None = None) -> str:
        size = len(self.leaves) if size is None else size
        body = checkpoint_body(self.key.name, size, self.root(size),
                               dt.datetime.now(dt.timezone.utc))
        signer = signer or self.key
        return signed_note(body, self.key.name, signer, signer.sign(body))

    def proof(self, first: int, second: int) -> list[bytes]:
        return merkle.hashes_for(merkle.consistency_ranges(first, second), self._node)


def submission(old: int, proof: list[bytes], note: str) -> bytes:
    lines = [f"old {old}"] + [base64.b64encode(h).decode() for h in proof]
    return ("\n".join(lines) + "\n\n" + note).encode()
