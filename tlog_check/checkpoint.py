"""Checkpoint bodies (C2SP ``tlog-checkpoint``).

    <origin>\\n
    <tree size, decimal, no leading zeros>\\n
    <root hash, standard base64>\\n
    [extension lines]\\n...

A checkpoint is the body of a signed note; :func:`open_checkpoint` checks the log's
signature first, so nothing unsigned is ever parsed into a trusted value.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from tlog_check.errors import Malformed, NotVerified
from tlog_check.note import VerifierKey, verify_note


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()
    body: str = ""

    @property
    def time(self) -> str | None:
        """The service's ``time`` extension line, when present."""
        for line in self.extensions:
            if line.startswith("time "):
                return line[5:]
        return None


def parse_checkpoint(body: str) -> Checkpoint:
    """Parse a checkpoint body (the signed text, ending in a newline)."""
    if not isinstance(body, str) or not body.endswith("\n"):
        raise Malformed("a checkpoint body ends with a newline", "malformed_checkpoint")
    lines = body[:-1].split("\n")
    if len(lines) < 3 or not lines[0] or any(not line for line in lines):
        raise Malformed("a checkpoint has an origin, a size and a root hash, no empty line",
                        "malformed_checkpoint")
    origin, size_text, root_text = lines[:3]
    if not size_text.isascii() or not size_text.isdigit() or str(int(size_text)) != size_text:
        raise Malformed("the checkpoint's size is not a decimal number", "malformed_checkpoint")
    try:
        root = base64.b64decode(root_text, validate=True)
    except (ValueError, binascii.Error):
        raise Malformed("the checkpoint's root hash is not base64", "malformed_checkpoint") \
            from None
    if len(root) != 32:
        raise Malformed("the checkpoint's root hash is not 32 bytes", "malformed_checkpoint")
    return Checkpoint(origin, int(size_text), root, tuple(lines[3:]), body)


def open_checkpoint(note: str, key: VerifierKey) -> Checkpoint:
    """Verify the log's signature on ``note`` and return the checkpoint it signs.

    The key's name must be the origin: one key name per log, as the service signs.
    """
    body = verify_note(note, key)
    checkpoint = parse_checkpoint(body)
    if checkpoint.origin != key.name:
        raise NotVerified(f"the checkpoint is of log {checkpoint.origin!r}, the key of log "
                          f"{key.name!r}", "wrong_origin")
    return checkpoint
