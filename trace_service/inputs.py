"""Input rules every API request meets before a schema or a service sees its values.

The JSON body of every route is read by :func:`loads` (through the argument parser in
``trace_service.http``) and the declared schema's fields are checked by type with
:func:`strict_errors` before the schema loads them, so a route cannot forget a rule:

* a JSON object names each key once (``duplicate_key``, 400);
* text holds neither NUL (U+0000) nor a lone surrogate (U+D800..U+DFFF), which no
  database column can store and no UTF-8 encoder can write (``nul_character``,
  ``invalid_text``, 422), in bodies, query strings and forms alike;
* types are strict: a JSON number where the schema declares a number (never the string
  ``"5"``), ``true``/``false`` where it declares a boolean; a query string's numbers are
  written with ASCII digits only (``²`` and ``٣`` are not numbers here);
* every integer fits the databases' 64-bit integers (|n| < 2**63);
* every date lies in :data:`EARLIEST_DATE` .. :data:`LATEST_DATE` (``date_out_of_range``).

Times have a window per meaning (events, scanner clocks, query ranges): the fields of
``trace_service.schemas`` carry them. docs/architecture.md ("Input rules") lists them all.
"""

from __future__ import annotations

import datetime as dt
import json
import re

from marshmallow import fields

from trace_service.errors import BadRequest, Unprocessable

INT_LIMIT = 2**63 - 1
EARLIEST_DATE = dt.date(1900, 1, 1)
LATEST_DATE = dt.date(2200, 12, 31)

_BAD_TEXT = re.compile("[\x00\ud800-\udfff]")
# Text a JSON body can only carry as an escape: a body without one needs no walk.
_BAD_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")
_ASCII_INT = re.compile(r"-?[0-9]{1,19}")
_ASCII_NUMBER = re.compile(r"[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]{1,3})?")
_QUERY_BOOLEANS = ("true", "false", "1", "0")


# --- text ---------------------------------------------------------------------------------


def text_problem(value: str, where: str) -> Unprocessable | None:
    """The refusal for a string no column can hold, or None."""
    bad = _BAD_TEXT.search(value)
    if bad is None:
        return None
    if bad.group() == "\x00":
        return Unprocessable("nul_character", f"{where}: text may not contain the NUL "
                             "character (U+0000)", field=where)
    return Unprocessable("invalid_text", f"{where}: text may not contain a lone surrogate "
                         f"(U+{ord(bad.group()):04X}); send characters as UTF-8",
                         field=where)


def check_pairs(pairs, where: str) -> None:
    """Refuse NUL or lone surrogates in the keys and values of a query string or form."""
    for key, value in pairs:
        problem = text_problem(key, where) or text_problem(value, f"{where}.{key}")
        if problem is not None:
            raise problem


def _check_strings(value, path: str) -> None:
    kind = type(value)
    if kind is str:
        problem = text_problem(value, path or "body")
        if problem is not None:
            raise problem
    elif kind is dict:
        for key, item in value.items():
            inner = f"{path}.{key}" if path else key
            problem = text_problem(key, inner)
            if problem is not None:
                raise problem
            _check_strings(item, inner)
    elif kind is list:
        for i, item in enumerate(value):
            _check_strings(item, f"{path}.{i}" if path else str(i))


# --- JSON bodies ----------------------------------------------------------------------------


def _object(pairs: list[tuple[str, object]]) -> dict:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen = set()
        for key, _value in pairs:
            if key in seen:
                raise BadRequest("duplicate_key", f"{key}: the key appears twice in one JSON "
                                 "object; send each key once", field=key)
            seen.add(key)
    return out


def loads(raw: bytes):
    """A request body as JSON, under the rules above. Not JSON at all raises what
    ``json.loads`` raises (``JSONDecodeError``, ``UnicodeDecodeError``), so the parser
    answers it as malformed JSON; a duplicate key or bad text is a ``DomainError``.

    The transfer encoding does not matter: this reads the body as it was received,
    with or without a Content-Length."""
    value = json.loads(raw.decode("utf-8"), object_pairs_hook=_object)
    if _BAD_ESCAPE.search(raw):
        _check_strings(value, "")
    return value


# --- strict types, by the schema's declared fields -----------------------------------------

_INT, _NUMBER, _BOOL, _DATE, _NESTED, _LIST, _DICT = range(7)
_plans: dict[type, tuple] = {}


def _kind(field: fields.Field):
    """What to check of one field: (kind, sub-plan), or None for nothing."""
    if isinstance(field, fields.Pluck):
        return None
    if isinstance(field, fields.Nested):
        schema = field.schema
        sub = _plan(type(schema))
        return (_NESTED, (sub, bool(schema.many))) if sub else None
    if isinstance(field, fields.List):
        inner = _kind(field.inner)
        return (_LIST, inner) if inner else None
    if isinstance(field, fields.Dict):
        inner = _kind(field.value_field) if field.value_field is not None else None
        return (_DICT, inner) if inner else None
    if isinstance(field, fields.Integer):
        return (_INT, None)
    if isinstance(field, fields.Number):
        return (_NUMBER, None)
    if isinstance(field, fields.Boolean):
        return (_BOOL, None)
    if isinstance(field, fields.Date):
        return (_DATE, None)
    return None


def _plan(schema_class: type) -> tuple:
    """The fields of a schema class that need a check, with their data keys; computed once.
    A schema none of whose fields (however deep) needs one is skipped in one step."""
    plan = _plans.get(schema_class)
    if plan is None:
        _plans[schema_class] = ()  # a schema nested in itself: no endless descent
        entries = []
        for name, field in schema_class._declared_fields.items():
            if field.dump_only:
                continue
            kind = _kind(field)
            if kind is not None:
                entries.append((field.data_key or name, kind))
        plan = _plans[schema_class] = tuple(entries)
    return plan


def _json_error(kind: int, value, where: str) -> str | None:
    if value is None:
        return None  # allow_none or not: the schema says
    t = type(value)
    if kind == _INT:
        if t is not int:
            return "Not a valid integer."
        if not -INT_LIMIT <= value <= INT_LIMIT:
            return f"Must be a whole number from -{INT_LIMIT} to {INT_LIMIT}."
    elif kind == _NUMBER:
        if t is not int and t is not float:
            return "Not a valid number."
        if t is int and not -INT_LIMIT <= value <= INT_LIMIT:
            return f"Must be a number from -{INT_LIMIT} to {INT_LIMIT}."
    elif kind == _BOOL:
        if t is not bool:
            return "Not a valid boolean: send true or false."
    elif kind == _DATE and t is str:
        check_date_text(value, where)
    return None


def _walk(plan: tuple, data, path: str, errors: dict) -> None:
    for key, (kind, sub) in plan:
        if key not in data:
            continue
        where = f"{path}.{key}" if path else key
        found = _walk_value(kind, sub, data[key], where)
        if found:
            errors[key] = found


def _walk_value(kind: int, sub, value, where: str):
    """The errors of one value, in marshmallow's shape (a list, or a dict by key/index)."""
    if kind == _NESTED:
        plan, many = sub
        if many:
            return _walk_items(_NESTED, (plan, False), value, where)
        if type(value) is not dict:
            return None
        errors: dict = {}
        _walk(plan, value, where, errors)
        return errors or None
    if kind == _LIST:
        return _walk_items(sub[0], sub[1], value, where)
    if kind == _DICT:
        if type(value) is not dict:
            return None
        errors = {}
        for key, item in value.items():
            found = _walk_value(sub[0], sub[1], item, f"{where}.{key}")
            if found:
                errors[key] = {"value": found}
        return errors or None
    message = _json_error(kind, value, where)
    return [message] if message else None


def _walk_items(kind: int, sub, value, where: str):
    if type(value) is not list:
        return None
    errors = {}
    for i, item in enumerate(value):
        found = _walk_value(kind, sub, item, f"{where}.{i}")
        if found:
            errors[i] = found
    return errors or None


def _query_error(kind: int, value, where: str) -> str | None:
    if type(value) is not str:
        return None
    if kind == _INT:
        if not _ASCII_INT.fullmatch(value):
            return "Not a valid integer: write it with the digits 0-9."
        if not -INT_LIMIT <= int(value) <= INT_LIMIT:
            return f"Must be a whole number from -{INT_LIMIT} to {INT_LIMIT}."
    elif kind == _NUMBER:
        if len(value) > 40 or not _ASCII_NUMBER.fullmatch(value):
            return "Not a valid number: write it with the digits 0-9 and a '.'."
    elif kind == _BOOL:
        if value.lower() not in _QUERY_BOOLEANS:
            return "Not a valid boolean: send true or false."
    elif kind == _DATE:
        check_date_text(value, where)
    return None


def strict_errors(schema, data, location: str) -> dict:
    """Type errors of a request's values against ``schema``, keyed like marshmallow's.

    ``location`` is ``json`` (values as JSON parsed them) or ``query`` (strings)."""
    plan = _plan(type(schema))
    errors: dict = {}
    if not plan:
        return errors
    if location == "json":
        if schema.many:
            found = _walk_items(_NESTED, (plan, False), data, "")
            return found or {}
        if type(data) is dict:
            _walk(plan, data, "", errors)
        return errors
    for key, (kind, sub) in plan:
        if key not in data:
            continue
        values = data[key]  # a list for a List field (webargs' MultiDictProxy)
        if kind == _LIST:
            kind = sub[0]
        if type(values) is not list:
            values = [values]
        for value in values:
            message = _query_error(kind, value, key)
            if message:
                errors.setdefault(key, []).append(message)
    return errors


def merge_errors(ours: dict, theirs) -> dict:
    """Two error trees in marshmallow's shape as one (messages of one field side by side)."""
    if not isinstance(theirs, dict):
        return ours
    out = dict(theirs)
    for key, value in ours.items():
        other = out.get(key)
        if isinstance(value, dict) and isinstance(other, dict):
            out[key] = merge_errors(value, other)
        elif isinstance(value, list) and isinstance(other, list):
            out[key] = value + [m for m in other if m not in value]
        else:
            out[key] = value
    return out


# --- dates and digits -----------------------------------------------------------------------


def check_date(value: dt.date, where: str) -> dt.date:
    """A date a client sent: refused outside 1900-01-01 .. 2200-12-31."""
    if not EARLIEST_DATE <= value <= LATEST_DATE:
        raise Unprocessable("date_out_of_range",
                            f"{where}: {value.isoformat()} is not a plausible date; dates "
                            f"run from {EARLIEST_DATE} to {LATEST_DATE}", field=where,
                            earliest=EARLIEST_DATE.isoformat(),
                            latest=LATEST_DATE.isoformat())
    return value


def check_date_text(value: str, where: str) -> None:
    """:func:`check_date` of an ISO date as sent; text that is no date is left to the
    schema, which names it."""
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        return
    check_date(day, where)


def is_ascii_digits(value: str | None, max_len: int = 19) -> bool:
    """``value`` is 1..``max_len`` of the digits 0-9: ``str.isdigit`` would also take
    ``²`` (which ``int`` refuses) and ``٣`` (which ``int`` reads as 3)."""
    return (value is not None and 0 < len(value) <= max_len and value.isascii()
            and value.isdigit())
