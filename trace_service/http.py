"""The HTTP layer shared by every domain: the flask-smorest Api with one error envelope,
deny-by-default authorisation, and one transaction per request."""

from __future__ import annotations

import functools
import logging

import marshmallow as ma
import swagger_ui_bundle
from flask import Flask, current_app, g, has_request_context, jsonify, request, send_from_directory
from flask_smorest import Api
from flask_smorest.arguments import ArgumentsMixin
from gunicorn.http.errors import NoMoreData, ParseException
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from webargs import core as webargs_core
from webargs.flaskparser import FlaskParser, is_json_request
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter

from trace_service import db as dbmod
from trace_service import inputs
from trace_service.auth.permissions import Actor
from trace_service.auth.services import authenticate
from trace_service.errors import DomainError, Forbidden, envelope

log = logging.getLogger("trace_service.http")

API_PREFIX = "/api/v1"
PUBLIC = "public"
_PERMISSION_ATTR = "__trace_permission__"
#: ``app.extensions`` key of a ``(status, code, message, details) -> Response`` function that
#: renders errors as HTML pages (the public consumer pages register one).
HTML_ERRORS = "trace_html_errors"

# Stable codes for the generic HTTP errors.
_HTTP_CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
    405: "method_not_allowed", 409: "conflict", 413: "payload_too_large",
    415: "unsupported_media_type", 422: "validation_error", 429: "too_many_requests",
    500: "internal_error", 503: "service_unavailable", 507: "storage_full",
}


def require(permission: str):
    """Declare the one permission an API route needs. Routes without it are refused."""

    def decorate(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            return view(*args, **kwargs)

        setattr(wrapper, _PERMISSION_ATTR, permission)
        return wrapper

    return decorate


def actor() -> Actor:
    """The authenticated caller of the current request."""
    return g.actor


def wants_html() -> bool:
    """A browser asking for a page outside the API (``text/html`` preferred to JSON) gets an
    HTML error page; ``/api/v1`` always answers with the JSON envelope."""
    if not has_request_context() or request.path.startswith(API_PREFIX):
        return False
    best = request.accept_mimetypes.best_match(("application/json", "text/html"))
    return best == "text/html"


def error_response(status: int, code: str, message: str, details: dict | None = None,
                   headers: dict | None = None):
    renderer = current_app.extensions.get(HTML_ERRORS) if has_request_context() else None
    if renderer is not None and wants_html():
        response = renderer(status, code, message, details)
    else:
        response = jsonify(envelope(status, code, message, details))
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


class ErrorBody(ma.Schema):
    status = ma.fields.Integer(metadata={"description": "HTTP status"})
    code = ma.fields.String(metadata={"description": "Stable machine code"})
    message = ma.fields.String(metadata={"description": "What was wrong, for a person"})
    details = ma.fields.Dict(metadata={"description": "Fields, expected vs found, ..."})


class ErrorEnvelope(ma.Schema):
    error = ma.fields.Nested(ErrorBody)


class TraceApi(Api):
    """flask-smorest's Api with the service's error envelope."""

    ERROR_SCHEMA = ErrorEnvelope

    def handle_http_exception(self, error: HTTPException):
        status = error.code or 500
        data = getattr(error, "data", None) or {}
        details = None
        message = error.description or error.name
        if "messages" in data:  # webargs/marshmallow schema errors
            fields = _flatten_locations(data["messages"])
            if isinstance(fields, list):  # webargs could not parse the body at all
                return error_response(400, "malformed_json",
                                      "the body is not valid JSON: " + " ".join(map(str, fields)))
            details = {"fields": fields}
            message = "the request did not match the schema: " + _summarise(fields)
        elif "message" in data:
            message = data["message"]
        code = _HTTP_CODES.get(status, "http_error")
        if status == 400 and "JSON" in str(message):
            code = "malformed_json"
        headers = dict(data.get("headers") or {})
        if status == 405 and getattr(error, "valid_methods", None):
            headers["Allow"] = ", ".join(error.valid_methods)
        return error_response(status, code, str(message), details, headers)


def _flatten_locations(messages: dict) -> dict:
    """webargs nests errors under their location ("json", "query"); keep the field errors."""
    if len(messages) == 1 and next(iter(messages)) in ("json", "query", "path", "form"):
        return next(iter(messages.values()))
    return messages


def _summarise(fields: dict, prefix: str = "") -> str:
    parts = []
    for name, value in fields.items():
        path = f"{prefix}{name}"
        if isinstance(value, dict):
            parts.append(_summarise(value, path + "."))
        else:
            parts.append(f"{path}: {' '.join(map(str, value))}")
    return "; ".join(parts)


class TraceParser(FlaskParser):
    """webargs' parser under the input rules of ``trace_service.inputs``: bodies read by
    its strict JSON reader (duplicate keys, NUL, lone surrogates), and every value checked
    against the type its schema field declares, not converted from another (``"5"`` is
    no integer); wrong types are reported with the schema's own errors."""

    def _raw_load_json(self, req):
        if not is_json_request(req):
            return webargs_core.missing
        return inputs.loads(req.get_data(cache=True))

    def _process_location_data(self, location_data, schema, req, location, unknown,
                               validators):
        kind = {"json": "json", "query": "query", "querystring": "query"}.get(location)
        found = (inputs.strict_errors(schema, location_data, kind)
                 if kind and location_data is not webargs_core.missing else None)
        if not found:
            return super()._process_location_data(location_data, schema, req, location,
                                                  unknown, validators)
        # Wrong types are reported together with the schema's own errors (a client fixes
        # them all at once); the values the schema converted are not used.
        try:
            super()._process_location_data(location_data, schema, req, location, unknown,
                                           validators)
        except ma.ValidationError as error:
            found = inputs.merge_errors(found, error.messages)
        except OverflowError:  # a huge integer where a float is declared: ours suffice
            pass
        raise ma.ValidationError(found)


# Every Blueprint's ``arguments`` decorator uses this one parser. Route modules import this
# module before they declare routes, so every route is parsed under the rules.
ArgumentsMixin.ARGUMENTS_PARSER = TraceParser()


class BoundedInt(IntegerConverter):
    """``<int:...>`` path parameters beyond a 64-bit integer, or written with other
    digits than 0-9, do not match (404)."""

    regex = r"[0-9]+"

    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("max", 2**63 - 1)
        super().__init__(url_map, *args, **kwargs)


def init_app(app: Flask) -> TraceApi:
    app.url_map.converters["int"] = BoundedInt
    app.config.update(
        API_TITLE="trace",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX=API_PREFIX,
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs",
        OPENAPI_SWAGGER_UI_URL=f"{API_PREFIX}/docs/static/",
        # The docs page must not send the spec to an outside validator service.
        OPENAPI_SWAGGER_UI_CONFIG={"validatorUrl": None},
    )
    api = TraceApi(app, spec_kwargs={
        "info": {"description": "Product traceability: listing to complaint, per barcode."},
    })
    api.spec.components.security_scheme(
        "apiKey", {"type": "http", "scheme": "bearer", "description": "trk_... API key"}
    )
    api.spec.options["security"] = [{"apiKey": []}]

    @app.route(f"{API_PREFIX}/docs/static/<path:filename>")
    def swagger_static(filename):
        return send_from_directory(swagger_ui_bundle.swagger_ui_path, filename)

    setattr(swagger_static, _PERMISSION_ATTR, PUBLIC)

    app.before_request(_refuse_bad_text)
    app.before_request(_authorise)
    app.after_request(_finish_transaction)
    app.teardown_request(_close_session)
    app.register_error_handler(DomainError, _domain_error)
    app.register_error_handler(Exception, _unexpected_error)
    return api


def _refuse_bad_text():
    """Query strings and forms, on every page and route: no NUL, no lone surrogate (JSON
    bodies are checked as they are parsed, ``inputs.loads``)."""
    try:
        args = request.args
    except UnicodeDecodeError:  # raw bytes that are not UTF-8 (percent-escapes are kept)
        return error_response(400, "malformed_query", "the query string is not UTF-8")
    try:
        inputs.check_pairs(args.items(multi=True), "query")
        if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            inputs.check_pairs(request.form.items(multi=True), "form")
    except DomainError as error:
        return _domain_error(error)
    return None


def _has_body() -> bool:
    """A Content-Length above 0, or a chunked body (whose length is not known)."""
    chunked = "chunked" in request.headers.get("Transfer-Encoding", "").lower()
    return bool(request.content_length) or chunked


def _authorise():
    """Deny by default: every /api/v1 route must declare a permission the caller holds."""
    if "\x00" in request.path:
        return error_response(404, "not_found", "no such resource")
    if not request.path.startswith(API_PREFIX) or request.endpoint is None:
        return None
    if request.blueprint == "api-docs":
        return None
    view = current_app.view_functions.get(request.endpoint)
    permission = getattr(view, _PERMISSION_ATTR, None)
    if permission is None:
        log.error("route %s declares no permission; refusing", request.endpoint)
        raise Forbidden("no_permission_declared", "this route is not open to anyone")
    if permission == PUBLIC:
        return None
    if request.method in ("POST", "PUT", "PATCH") and _has_body() and not request.is_json:
        return error_response(415, "unsupported_media_type",
                              "send the body as JSON with 'Content-Type: application/json'")
    header = request.headers.get("Authorization", "")
    token = header[7:].strip() if header[:7].lower() == "bearer " else None
    token = token or request.headers.get("X-API-Key")
    if request.method in ("POST", "PUT", "PATCH", "DELETE"):
        # A short read transaction of its own, so the request's write transaction (on
        # SQLite: the database's write lock) starts only when the service first needs it,
        # not while the body is still being parsed and validated.
        with dbmod.get_db().read_session() as auth_session:
            g.actor = authenticate(auth_session, token)
    else:
        g.actor = authenticate(dbmod.session(), token)
    if not g.actor.can(permission):
        raise Forbidden(
            "permission_denied",
            f"role {g.actor.role} may not do this (needs {permission})",
            permission=permission,
        )
    return None


def _finish_transaction(response):
    """Commit once if the request succeeded; otherwise roll everything back."""
    sess = g.pop("_trace_session", None)
    if sess is None:
        return response
    try:
        if response.status_code < 400:
            sess.commit()
        else:
            sess.rollback()
    except IntegrityError:
        sess.rollback()
        log.warning("commit refused by a constraint", exc_info=True)
        return error_response(409, "conflict",
                              "the change conflicts with data stored meanwhile; retry")
    except DBAPIError as error:
        if not isinstance(error, OperationalError) and database_problem(error) is None:
            raise
        sess.rollback()
        log.exception("database failure at commit")
        return _database_error(error)
    finally:
        sess.close()
    return response


# What a failed statement or commit means for the caller, by SQLSTATE (PostgreSQL) or by
# SQLite's message (its result codes are not exposed by the sqlite3 module before 3.11's
# ``sqlite_errorname``; the messages are SQLite's fixed texts for those codes).
_PG_STATES = {
    "53100": "storage_full",        # disk_full
    "25006": "storage_read_only",   # read_only_sql_transaction (also a hot standby)
    "55P03": "database_busy",       # lock_not_available (lock_timeout)
    "57014": "database_busy",       # query_canceled (statement_timeout)
    "40P01": "database_busy",       # deadlock_detected
    "40001": "database_busy",       # serialization_failure
}
_SQLITE_MESSAGES = (
    ("database or disk is full", "storage_full"),
    ("attempt to write a readonly database", "storage_read_only"),
    ("database is locked", "database_busy"),
    ("database table is locked", "database_busy"),
)
DATABASE_ERRORS = {
    "storage_full": (507, "the server's storage is full: nothing was stored; retry after "
                          "the operator has freed space", None),
    "storage_read_only": (503, "the server's storage is read-only: nothing was stored; retry "
                               "after the operator has made it writable", "30"),
    "database_busy": (503, "the database is busy (a lock wait or statement timed out): "
                           "nothing was stored; retry", "1"),
    "database_unavailable": (503, "the database cannot be reached: nothing was stored; "
                                  "retry", "5"),
}


def database_problem(error: DBAPIError) -> str | None:
    """The stable code of a storage or lock failure (``DATABASE_ERRORS``), or None."""
    orig = getattr(error, "orig", None)
    state = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if state:
        if state in _PG_STATES:
            return _PG_STATES[state]
        return "database_unavailable" if state.startswith("08") else None
    text = str(orig or error).lower()
    for needle, code in _SQLITE_MESSAGES:
        if needle in text:
            return code
    if isinstance(error, OperationalError):
        return "database_unavailable"  # connection refused, server gone, disk I/O error
    return None


def _database_error(error: DBAPIError):
    """Full disk, read-only storage, lock timeouts and lost connections each get their own
    code (and Retry-After where retrying soon can help), never one "busy" for all: a
    scanner or operator must know whether waiting helps."""
    code = database_problem(error) or "database_unavailable"
    status, message, retry_after = DATABASE_ERRORS[code]
    return error_response(status, code, message,
                          headers={"Retry-After": retry_after} if retry_after else None)


def _close_session(_exc):
    sess = g.pop("_trace_session", None)
    if sess is not None:
        sess.close()


def _domain_error(error: DomainError):
    return error_response(error.status, error.code, error.message, error.details or None)


def _unexpected_error(error: Exception):
    if isinstance(error, HTTPException):
        return current_app.extensions["trace_api"].handle_http_exception(error)
    if isinstance(error, IntegrityError):
        log.warning("integrity error", exc_info=True)
        return error_response(409, "conflict", "the change conflicts with stored data")
    if isinstance(error, RecursionError):
        return error_response(400, "malformed_json", "the body is nested too deeply")
    if isinstance(error, (ParseException, NoMoreData)):
        # Under gunicorn the body is read (and de-chunked) while the app reads it.
        return error_response(400, "malformed_body", f"the body could not be read: {error}")
    if isinstance(error, DBAPIError) and (isinstance(error, OperationalError)
                                          or database_problem(error) is not None):
        log.exception("database error")
        return _database_error(error)
    log.exception("unhandled error on %s %s", request.method, request.path)
    return error_response(500, "internal_error", "an internal error occurred; it was logged")


def ctx():
    """The service context of the current request."""
    from trace_service.context import Ctx

    return Ctx(db=dbmod.session(), actor=g.actor,
               tz_offset=current_app.config["DEFAULT_TZ_OFFSET"])
