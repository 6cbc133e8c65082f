"""Errors with stable codes: callers branch on ``code``, never on the message text."""

from __future__ import annotations


class TlogError(ValueError):
    """A check could not be done or failed. ``code`` is stable, ``str()`` is for people."""

    code = "tlog_error"

    def __init__(self, message: str, code: str | None = None):
        super().__init__(message)
        if code is not None:
            self.code = code


class Malformed(TlogError):
    """The input does not parse (a note, a key, a checkpoint body, a proof hash)."""

    code = "malformed"


class NotVerified(TlogError):
    """The input parses but a signature or a proof does not verify."""

    code = "not_verified"
