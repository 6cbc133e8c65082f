"""/api/v1/inspect: the inspector's audit API, and /api/v1/access-log (admins).

Every route reads through the services of this package; every request to it (and every
request an inspector key makes anywhere) is written to the access log in the request's
own transaction (``trace_service.inspect.access``).
"""

from __future__ import annotations

import datetime as dt

from flask import Response
from flask_smorest import Blueprint

from trace_service import http
from trace_service.errors import Unprocessable
from trace_service.http import require
from trace_service.inputs import is_ascii_digits
from trace_service.inspect import access, anomalies, exports, integrity, search, spotchecks
from trace_service.inspect import trace as tracing
from trace_service.inspect.schemas import (
    AccessLogArgs, AccessLogPage, AnomaliesOut, AnomalyArgs, EvidenceArgs, ExportTraceArgs,
    ExportTrailArgs, InspectPageArgs, ResultIn, SearchArgs, SearchOut, SpotCheckIn, SpotCheckOut,
    SpotCheckPage, TaskOut, TraceArgs, TraceOut, InspectTrailArgs, InspectTrailOut,
)
from trace_service.schemas import decode_cursor, encode_cursor

blp = Blueprint("inspect", __name__, url_prefix="/api/v1",
                description="The inspector's desk: search, trails with integrity status, trace "
                            "forward and backward, anomalies, spot checks, exports "
                            "(docs/inspector.md)")

FILE = {"type": "string", "format": "binary"}
# A JSON export is a download, but its body is still a JSON object (not a binary string).
JSON_FILE = {"type": "object"}


@blp.record_once
def _setup(state):
    """Access logging for the whole app, and the console (HTML, session cookies)."""
    from trace_service.inspect import console

    access.init_app(state.app)
    console.init_app(state.app)


def _required_key(args) -> str:
    """Checked after the cursor, so a bad cursor is always answered as one."""
    if not args.get("key"):
        raise Unprocessable("key_required", "key: give the unit, lot or parcel to look at",
                            field="key")
    return args["key"]


def _subject(key_text: str) -> None:
    from trace_service.chain.services import parse_key

    access.note_subject(parse_key(key_text).key)


# --- search, trail, trace ---------------------------------------------------------------------


@blp.route("/inspect/search", methods=["GET"])
@require("inspect:read")
@blp.arguments(SearchArgs, location="query")
@blp.response(200, SearchOut)
def search_keys(args):
    """Search units, lots and parcels by any identifier, merchant, carrier, category and
    date range (steps recorded in it)."""
    after = decode_cursor(args.pop("cursor"), int)
    access.note_subject(args.get("q"))
    out = search.search(http.ctx(), after=after, **args)
    return {"understood": out["understood"], "items": out["items"],
            "next_cursor": encode_cursor(out["next_cursor_id"])}


@blp.route("/inspect/trail", methods=["GET"])
@require("inspect:read")
@blp.arguments(InspectTrailArgs, location="query")
@blp.response(200, InspectTrailOut)
def trail(args):
    """Every step of a unit, lot or parcel with who, where and when, and whether its
    inclusion proof verifies against the newest signed checkpoint."""
    after = decode_cursor(args["cursor"], int)
    key = _required_key(args)
    _subject(key)
    out = search.trail(http.ctx(), key, limit=args["limit"], after=after)
    out["next_cursor"] = encode_cursor(out.pop("next_cursor_id"))
    return exports.jsonable(out)


@blp.route("/inspect/trace", methods=["GET"])
@require("inspect:read")
@blp.arguments(TraceArgs, location="query")
@blp.response(200, TraceOut)
def trace(args):
    """Trace backward (lot, product, maker, listings, merchants) and forward (every sale,
    parcel and current position) in one call, with a hop limit, a time window on sales
    and cursor paging of the forward movements."""
    after = tracing.parse_cursor(args["cursor"])
    key = _required_key(args)
    _subject(key)
    out = tracing.trace(http.ctx(), key, direction=args["direction"], hops=args["hops"],
                        window=tracing.Window(args["since"], args["until"]),
                        limit=args["limit"], after=after)
    if out["backward"] is not None:
        out["backward"] = exports.jsonable(out["backward"])
    out["origin"] = exports.jsonable(out["origin"])
    return out


# --- anomalies --------------------------------------------------------------------------------


@blp.route("/inspect/anomalies", methods=["GET"])
@require("inspect:read")
@blp.arguments(AnomalyArgs, location="query")
@blp.response(200, AnomaliesOut)
def find_anomalies(args):
    """Dispatched but never scanned, receipts without scans, steps out of time order, one
    key in two places too fast, and scans the rules refused; default window: 30 days."""
    kind, after = args["kind"], None
    if args["cursor"]:
        index, _, after = decode_cursor(args["cursor"]).partition("|")
        kind = anomalies.KINDS[int(index)] if is_ascii_digits(index, 2) and int(index) < len(
            anomalies.KINDS) else None
        if kind is None or not after:
            raise Unprocessable("bad_cursor", "cursor: not a cursor this API handed out",
                                field="cursor")
    until = args["until"] or dt.datetime.now(dt.timezone.utc)
    since = args["since"] or until - anomalies.DEFAULT_WINDOW
    settings = anomalies.Settings(args["gap_hours"], args["max_speed_kmh"],
                                  args["min_city_gap_minutes"])
    out = {}
    for name in ([kind] if kind else anomalies.KINDS):
        found = anomalies.find(http.ctx().db, name, since, until, settings)
        rest = [f for f in found if after is None or f["sort"] > after]
        page = rest[:args["limit"]]
        more = len(rest) > len(page)
        items = [dict(f, details=exports.jsonable(f["details"])) for f in page]
        out[name] = {"count": len(found), "items": items,
                     "next_cursor": encode_cursor(
                         f"{anomalies.KINDS.index(name)}|{page[-1]['sort']}") if more else None}
    return {"since": since, "until": until, "settings": settings.__dict__, "kinds": out}


# --- spot checks ------------------------------------------------------------------------------


def _spot_check_view(db, check):
    return {**{c: getattr(check, c) for c in (
        "id", "created_at", "population", "criteria", "seed", "requested", "population_size",
        "population_digest", "algorithm")}, "tasks": spotchecks.task_views(db, check)}


@blp.route("/inspect/spot-checks", methods=["POST"])
@require("spotcheck:write")
@blp.arguments(SpotCheckIn)
@blp.response(201, SpotCheckOut)
def create_spot_check(body):
    """Draw a reproducible, risk-weighted sample of listings or lots (the seed is
    recorded: the same seed and population give the same sample) as inspection tasks."""
    c = http.ctx()
    check = spotchecks.create(c, kind=body["population"], n=body["n"], seed=body["seed"],
                              categories=body["categories"], merchant_id=body["merchant_id"],
                              weights=body["weights"])
    access.note_subject(check.id)
    return _spot_check_view(c.db, check)


@blp.route("/inspect/spot-checks", methods=["GET"])
@require("inspect:read")
@blp.arguments(InspectPageArgs, location="query")
@blp.response(200, SpotCheckPage)
def list_spot_checks(args):
    """Spot checks, oldest first."""
    from sqlalchemy import select

    from trace_service.inspect.models import SpotCheck

    after = decode_cursor(args["cursor"])
    stmt = select(SpotCheck).order_by(SpotCheck.id).limit(args["limit"] + 1)
    if after:
        stmt = stmt.where(SpotCheck.id > after)
    rows = http.ctx().db.scalars(stmt).all()
    more = len(rows) > args["limit"]
    rows = rows[:args["limit"]]
    return {"items": rows, "next_cursor": encode_cursor(rows[-1].id) if more else None}


@blp.route("/inspect/spot-checks/<check_id>", methods=["GET"])
@require("inspect:read")
@blp.response(200, SpotCheckOut)
def get_spot_check(check_id):
    """A spot check with its tasks and their results."""
    c = http.ctx()
    access.note_subject(check_id)
    return _spot_check_view(c.db, spotchecks.get(c.db, check_id))


@blp.route("/inspect/spot-checks/<check_id>/tasks/<task_id>/result", methods=["POST"])
@require("spotcheck:write")
@blp.arguments(ResultIn)
@blp.response(200, TaskOut)
def record_result(body, check_id, task_id):
    """Record a task's result (passed / failed, with notes); a failed one can open a
    recall of its lot in the same step."""
    c = http.ctx()
    access.note_subject(task_id)
    task = spotchecks.record(c, check_id, task_id, result=body["result"], notes=body["notes"],
                             recall=body["recall"])
    return next(t for t in spotchecks.task_views(c.db, spotchecks.get(c.db, check_id))
                if t["id"] == task.id)


# --- exports ----------------------------------------------------------------------------------


def _file(data: bytes, name: str, mimetype: str) -> Response:
    response = Response(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "no-store"
    return response


def _name(key: str, suffix: str) -> str:
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return f"{exports._slug(key)}-{suffix}-{stamp}"


def _trail_rows(args):
    key = _required_key(args)
    _subject(key)
    tk, header, _events, steps, checkpoint = exports.full_trail(http.ctx(), key,
                                                                integrity.log_key())
    rows = exports.sort_rows(exports.trail_rows(steps), args["sort"], args["order"] == "desc",
                             exports.TRAIL_COLUMNS)
    return tk, header, steps, checkpoint, rows


@blp.route("/inspect/exports/trail.csv", methods=["GET"])
@require("inspect:read")
@blp.arguments(ExportTrailArgs, location="query")
@blp.response(200, FILE, content_type="text/csv", description="UTF-8 CSV with BOM")
def export_trail_csv(args):
    """The whole trail as a spreadsheet (UTF-8 with BOM, fixed columns, ISO times, sortable
    by any column with ``sort`` and ``order``)."""
    tk, _h, _s, _c, rows = _trail_rows(args)
    data = exports.csv_bytes(exports.TRAIL_COLUMNS,
                             ([r[c] for c in exports.TRAIL_COLUMNS] for r in rows))
    return _file(data, _name(tk.key, "trail") + ".csv", "text/csv")


@blp.route("/inspect/exports/trail.json", methods=["GET"])
@require("inspect:read")
@blp.arguments(ExportTrailArgs, location="query")
@blp.response(200, JSON_FILE, content_type="application/json", description="The whole trail")
def export_trail_json(args):
    """The whole trail with integrity status, as one JSON document."""
    tk, header, steps, checkpoint, _rows = _trail_rows(args)
    body = {"trace_key": header, "checkpoint": checkpoint.note(integrity.log_key())
            if checkpoint else None, "steps": steps}
    return _file(exports.json_bytes(body), _name(tk.key, "trail") + ".json",
                 "application/json")


def _full_trace(args, direction: str):
    key = _required_key(args)
    _subject(key)
    return tracing.trace(http.ctx(), key, direction=direction, hops=args["hops"],
                         window=tracing.Window(args["since"], args["until"]), limit=None)


@blp.route("/inspect/exports/trace.csv", methods=["GET"])
@require("inspect:read")
@blp.arguments(ExportTraceArgs, location="query")
@blp.response(200, FILE, content_type="text/csv", description="UTF-8 CSV with BOM")
def export_trace_csv(args):
    """Every forward movement (``part=forward``) or backward source (``part=backward``) of
    a trace, as a spreadsheet; no personal data."""
    out = _full_trace(args, args["part"])
    key = out["origin"]["key"]
    if args["part"] == "forward":
        rows = out["forward"]["movements"].dicts()
        columns = tracing.FORWARD_COLUMNS
    else:
        rows = [dict(s, details=s["details"]) for s in out["backward"]["items"]]
        columns = ("hop", "relation", "kind", "ref", "name", "details")
    rows = exports.sort_rows(rows, args["sort"], args["order"] == "desc", columns)
    data = exports.csv_bytes(columns, ([r[c] for c in columns] for r in rows))
    return _file(data, _name(key, f"trace-{args['part']}") + ".csv", "text/csv")


@blp.route("/inspect/exports/trace.json", methods=["GET"])
@require("inspect:read")
@blp.arguments(ExportTraceArgs, location="query")
@blp.response(200, JSON_FILE, content_type="application/json", description="The whole trace")
def export_trace_json(args):
    """The whole trace (every forward movement, every backward source) as one document."""
    out = _full_trace(args, args["direction"])
    if out["forward"] is not None:
        movements = out["forward"].pop("movements")
        out["forward"]["items"] = movements.dicts()
    return _file(exports.json_bytes(out), _name(out["origin"]["key"], "trace") + ".json",
                 "application/json")


@blp.route("/inspect/exports/evidence.zip", methods=["GET"])
@require("inspect:read")
@blp.arguments(EvidenceArgs, location="query")
@blp.response(200, FILE, content_type="application/zip",
              description="trace-evidence-bundle/v1 (docs/inspector.md)")
def export_evidence(args):
    """An evidence bundle of a trail: each event's canonical content and inclusion proof,
    the signed checkpoint, the public key and a signed manifest with the SHA-256 of every
    file; ``python -m scanner_client.evidence`` checks it offline."""
    key = _required_key(args)
    _subject(key)
    name, data = exports.evidence_bundle(http.ctx(), key, integrity.log_key())
    return _file(data, name, "application/zip")


# --- the access log ---------------------------------------------------------------------------


@blp.route("/access-log", methods=["GET"])
@require("accesslog:read")
@blp.arguments(AccessLogArgs, location="query")
@blp.response(200, AccessLogPage)
def access_log(args):
    """Who read what, and when: one row per inspector request, newest first. Read only:
    no route changes it, and the database refuses UPDATE and DELETE on it."""
    before = decode_cursor(args["cursor"], int)
    rows, last = access.entries(http.ctx().db, key_id=args["key_id"], since=args["since"],
                                until=args["until"], limit=args["limit"], before=before)
    return {"items": rows, "next_cursor": encode_cursor(last)}

