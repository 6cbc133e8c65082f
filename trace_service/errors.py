"""Domain errors and the one JSON error envelope.

Services raise ``DomainError`` subclasses with a stable machine ``code`` and a sentence a
person understands; the HTTP layer turns every error, including 404/405/500 and schema
errors, into::

    {"error": {"status": 409, "code": "serial_already_sold",
               "message": "...", "details": {...}}}
"""

from __future__ import annotations


class DomainError(Exception):
    """A refusal the client can act on."""

    status = 400

    def __init__(self, code: str, message: str, **details):
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details


class BadRequest(DomainError):
    status = 400


class Unauthorized(DomainError):
    status = 401


class Forbidden(DomainError):
    status = 403


class NotFound(DomainError):
    status = 404


class Conflict(DomainError):
    """The request is well-formed but the chain's current state forbids it."""

    status = 409


class Unprocessable(DomainError):
    """The request is well-formed JSON but names something impossible or inconsistent."""

    status = 422


def envelope(status: int, code: str, message: str, details: dict | None = None) -> dict:
    body = {"status": status, "code": code, "message": message}
    if details:
        body["details"] = details
    return {"error": body}


def check_identifier(parse, value, field: str):
    """Run an identifier parser; turn its rejection into a 422 that names the field."""
    from trace_service.identifiers import IdentifierError

    try:
        return parse(value)
    except IdentifierError as exc:
        raise Unprocessable(exc.code, f"{field}: {exc.message}", field=field,
                            **exc.details) from None
