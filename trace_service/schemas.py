"""Schemas shared by several domains: paging, people, event times."""

from __future__ import annotations

import base64
import binascii
import json

from marshmallow import Schema, fields, validate

from trace_service.errors import Unprocessable

Str = fields.String


def text(max_len: int, **kw):
    """A required, non-blank string of at most ``max_len`` characters."""
    kw.setdefault("required", True)
    return fields.String(validate=validate.Length(min=1, max=max_len), **kw)


class PageArgs(Schema):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = fields.String(load_default=None, validate=validate.Length(max=200))


def encode_cursor(value) -> str | None:
    if value is None:
        return None
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None, kind: type = str):
    """The position a cursor encodes: a ``str`` id or an ``int`` (0 <= n < 2**63)."""
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError):
        value = None
    valid = (isinstance(value, str) and 0 < len(value) <= 64 if kind is str else
             type(value) is int and 0 <= value < 2**63)
    if not valid:
        raise Unprocessable("bad_cursor", "cursor: not a cursor this API handed out",
                            field="cursor")
    return value


def page_of(item_schema, name: str):
    """A ``{"items": [...], "next_cursor": ...}`` schema class for list responses."""
    return type(name, (Schema,), {
        "items": fields.List(fields.Nested(item_schema)),
        "next_cursor": fields.String(allow_none=True),
    })


class PersonIn(Schema):
    """Personal data: stored apart under a pseudonymous id; never in events or logs."""

    external_ref = fields.String(validate=validate.Length(min=1, max=100))
    name = fields.String(validate=validate.Length(min=1, max=200))
    phone = fields.String(validate=validate.Regexp(r"^\+?[0-9 \-]{5,20}$"))
    address = fields.String(validate=validate.Length(min=1, max=500))


class PersonRef(Schema):
    """Who: a pseudonymous id (``psn_...``) or the platform's account reference."""

    id = fields.String(validate=validate.Regexp(r"^psn_[0-9a-f]{32}$"))
    external_ref = fields.String(validate=validate.Length(min=1, max=100))


class MaskedPerson(Schema):
    id = fields.String()
    name = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    address = fields.String(allow_none=True)


EventTime = fields.AwareDateTime(
    load_default=None,
    metadata={"description": "When it happened, with its UTC offset; default: now"},
)


class PersonId(fields.String):
    """A ``psn_`` id in a response: shown only to the party that wrote that person (and to
    administrators and inspectors), null for anyone else (trace_service.visibility)."""

    def _serialize(self, value, attr, obj, **kwargs):
        from flask import g

        from trace_service import db as dbmod
        from trace_service.visibility import shown_person_id

        return super()._serialize(shown_person_id(dbmod.session(), g.actor, value), attr, obj,
                                  **kwargs)
