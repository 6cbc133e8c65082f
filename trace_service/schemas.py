"""Schemas shared by several domains: paging, people, event times."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import re

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from trace_service.errors import Unprocessable
from trace_service.inputs import EARLIEST_DATE, LATEST_DATE

Str = fields.String


def text(max_len: int, **kw):
    """A required, non-blank string of at most ``max_len`` characters."""
    kw.setdefault("required", True)
    return fields.String(validate=validate.Length(min=1, max=max_len), **kw)


class PageArgs(Schema):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = fields.String(load_default=None, validate=validate.Length(max=200))


# What encode_cursor writes: unpadded URL-safe base64 (base64 would skip other characters).
_CURSOR_TEXT = re.compile(r"[A-Za-z0-9_-]+")


def encode_cursor(value) -> str | None:
    if value is None:
        return None
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None, kind: type = str):
    """The position a cursor encodes: a ``str`` id or an ``int`` (0 <= n < 2**63)."""
    if not cursor:
        return None
    if not _CURSOR_TEXT.fullmatch(cursor):
        raise Unprocessable("bad_cursor", "cursor: not a cursor this API handed out",
                            field="cursor")
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

    @validates_schema
    def _someone(self, data, **_kwargs):
        """An empty object names nobody: a person is stored only with something to know
        them by."""
        if not data:
            raise ValidationError("give at least one of external_ref, name, phone, address",
                                  "_schema")


class PersonRef(Schema):
    """Who: a pseudonymous id (``psn_...``) or the platform's account reference."""

    id = fields.String(validate=validate.Regexp(r"^psn_[0-9a-f]{32}$"))
    external_ref = fields.String(validate=validate.Length(min=1, max=100))


class MaskedPerson(Schema):
    id = fields.String()
    name = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    address = fields.String(allow_none=True)


UTC = dt.timezone.utc
#: No event of this service happened before this instant (nor a scanner's clock reading).
EARLIEST_EVENT = dt.datetime(2000, 1, 1, tzinfo=UTC)
#: How far ahead of the server's clock an event may be (client clocks run a little fast).
EVENT_AHEAD = dt.timedelta(minutes=10)
#: How far ahead a scanner's clock may be: its time is kept with the skew, never corrected.
DEVICE_AHEAD = dt.timedelta(days=366)
#: The span of ``since``/``until`` and other query times (the dates' span).
EARLIEST_QUERY = dt.datetime.combine(EARLIEST_DATE, dt.time(), tzinfo=UTC)
LATEST_QUERY = dt.datetime.combine(LATEST_DATE, dt.time.max, tzinfo=UTC)


class BoundedTime(fields.AwareDateTime):
    """An aware time whose instant lies in a window: from ``earliest`` to ``latest`` or to
    the server's clock plus ``ahead``. Outside it the request is refused with ``code``,
    422, before anything is stored (an instant outside years 1..9999 in UTC would
    otherwise fail in the database driver)."""

    def __init__(self, *, earliest: dt.datetime, code: str, latest: dt.datetime | None = None,
                 ahead: dt.timedelta | None = None, future_code: str | None = None, **kw):
        super().__init__(**kw)
        self.earliest, self.latest, self.ahead = earliest, latest, ahead
        self.code, self.future_code = code, future_code or code

    def _deserialize(self, value, attr, data, **kwargs):
        when = super()._deserialize(value, attr, data, **kwargs)
        name = self.data_key or attr or "time"
        latest = self.latest or dt.datetime.now(UTC) + self.ahead
        if when < self.earliest:
            raise Unprocessable(self.code, f"{name}: {value} is before {self.earliest:%Y-%m-%d}",
                                field=name, earliest=self.earliest.isoformat(),
                                latest=latest.isoformat())
        if when > latest:
            ahead = (f"more than {_span(self.ahead)} ahead of the server's clock"
                     if self.latest is None else f"after {latest:%Y-%m-%d}")
            raise Unprocessable(self.future_code, f"{name}: {value} is {ahead}", field=name,
                                earliest=self.earliest.isoformat(), latest=latest.isoformat())
        return when


def _span(delta: dt.timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    return f"{minutes} minutes" if minutes < 1440 else f"{minutes // 1440} days"


def event_time(**kw) -> BoundedTime:
    """When a step happened: from 2000-01-01 to 10 minutes after the server's clock."""
    kw.setdefault("metadata", {"description": "When it happened, with its UTC offset; "
                                              "default: now. From 2000-01-01 to 10 minutes "
                                              "after the server's clock"})
    return BoundedTime(earliest=EARLIEST_EVENT, ahead=EVENT_AHEAD,
                       code="event_time_out_of_range", future_code="event_time_in_future",
                       **kw)


def device_time(**kw) -> BoundedTime:
    """A scanner's clock reading: from 2000-01-01 to a year after the server's clock (a
    drifting clock is kept as it is, with its skew; a clock reset to 1970 or set to
    9999 is no reading)."""
    return BoundedTime(earliest=EARLIEST_EVENT, ahead=DEVICE_AHEAD,
                       code="event_time_out_of_range", **kw)


def query_time(**kw) -> BoundedTime:
    """A bound of a query's time range: from 1900-01-01 to 2200-12-31."""
    return BoundedTime(earliest=EARLIEST_QUERY, latest=LATEST_QUERY, code="time_out_of_range",
                       **kw)


EventTime = event_time(load_default=None)


class PersonId(fields.String):
    """A ``psn_`` id in a response: shown only to the party that wrote that person (and to
    administrators and inspectors), null for anyone else (trace_service.visibility)."""

    def _serialize(self, value, attr, obj, **kwargs):
        from flask import g

        from trace_service import db as dbmod
        from trace_service.visibility import shown_person_id

        return super()._serialize(shown_person_id(dbmod.session(), g.actor, value), attr, obj,
                                  **kwargs)
