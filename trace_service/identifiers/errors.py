"""The one exception every identifier parser raises.

``IdentifierError`` carries a stable snake_case ``code`` (for machines and tests), a
``message`` (one sentence a person can act on: which AI, which check digit, expected vs
found) and ``details`` (a JSON-serialisable dict). It subclasses ``ValueError`` so callers
that only care about "bad input" can catch that.
"""

from __future__ import annotations

__all__ = ["IdentifierError", "shorten"]

#: Longest piece of user input echoed back in messages and details.
MAX_ECHO = 120


def shorten(value: str, limit: int = MAX_ECHO) -> str:
    """Return ``value`` cut to ``limit`` characters (with an ellipsis) for safe echoing."""
    value = str(value)
    return value if len(value) <= limit else value[: limit - 1] + "…"


class IdentifierError(ValueError):
    """A rejected identifier.

    Attributes:
        code: stable snake_case machine code, e.g. ``"gtin_check_digit"``.
        message: one sentence a person understands; ``str(err) == err.message``.
        details: JSON-serialisable dict, e.g. ``{"ai": "01", "value": "...",
            "expected": "2", "found": "3"}``.
    """

    def __init__(self, code: str, message: str, **details):
        """Create the error; ``details`` values should be str, int, bool, list or dict."""
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details

    def __str__(self) -> str:
        """Return the human message."""
        return self.message

    def __repr__(self) -> str:
        """Return a debugging representation with code and message."""
        return f"IdentifierError({self.code!r}, {self.message!r})"

    def __reduce__(self):
        """Support pickling (the keyword-only ``details`` would otherwise be lost)."""
        return (_rebuild, (self.code, self.message, self.details))

    def as_dict(self) -> dict:
        """Return ``{"code", "message", "details"}`` for an API error envelope."""
        return {"code": self.code, "message": self.message, "details": dict(self.details)}


def _rebuild(code: str, message: str, details: dict) -> IdentifierError:
    """Unpickle helper for :class:`IdentifierError`."""
    return IdentifierError(code, message, **details)
