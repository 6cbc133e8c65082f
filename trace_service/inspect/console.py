"""The inspector's console: server-rendered HTML pages under /inspect.

People sign in with their inspector API key on a form; the service checks the key once and
opens a session kept by the server (``inspect.sessions``); the cookie (signed with the app's
SECRET_KEY, HttpOnly, SameSite=Lax, Secure in production) holds only the session's random
token. Signing out ends the session on the server, so a copy of the cookie is refused from
then on; a session lasts at most ``CONSOLE_SESSION_HOURS`` (default 8). Every request also
re-reads the key, so revoking it ends its sessions at once.

Every form carries a CSRF token bound to the session (compared in constant time); a
POST without the right one is refused with 400. Pages are sent with a strict Content
Security Policy (no scripts at all, styles from this origin only), ``no-store`` caching
and no framing. Every page view is logged in the access log like an API request.
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
from urllib.parse import urlsplit

from flask import (
    Blueprint, Response, abort, current_app, g, redirect, render_template, request, session,
    url_for,
)

from trace_service import db as dbmod
from trace_service.auth.models import ApiKey
from trace_service.auth.permissions import Actor
from trace_service.auth.services import authenticate
from trace_service.context import Ctx
from trace_service.errors import DomainError
from trace_service.inputs import check_date, is_ascii_digits
from trace_service.inspect import (
    access, anomalies, exports, integrity, search, sessions, spotchecks,
)
from trace_service.inspect import trace as tracing
from trace_service.parties.models import CATEGORIES
from trace_service.recalls import services as recalls
from trace_service.recalls.models import SEVERITIES
from trace_service.schemas import decode_cursor, encode_cursor

bp = Blueprint("inspect_console", __name__, url_prefix="/inspect")

OPEN_ENDPOINTS = ("inspect_console.sign_in", "inspect_console.sign_in_form")
CSP = ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")


def init_app(app) -> None:
    if app.config.get("SESSION_COOKIE_SAMESITE") is None:
        app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    if app.config.get("ENV") == "production":
        app.config["SESSION_COOKIE_SECURE"] = True
    app.config.setdefault("CONSOLE_SESSION_HOURS", 8)
    app.register_blueprint(bp)


# --- sessions and CSRF ------------------------------------------------------------------------


def csrf_token() -> str:
    token = session.get("csrf")
    if not token:
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


def _check_csrf() -> None:
    expected = session.get("csrf")
    given = request.form.get("csrf_token", "")
    if not expected or not hmac.compare_digest(expected.encode(), given.encode()):
        abort(400, description="The form has expired or did not come from this console. "
                               "Reload the page and try again.")


@bp.context_processor
def _template_helpers():
    from trace_service.inspect.integrity import witnesses_of

    return {"csrf_token": csrf_token, "local_time": _local, "categories": CATEGORIES,
            "severities": SEVERITIES, "anomaly_kinds": anomalies.KINDS,
            "witnesses_of": witnesses_of}


def _local(value) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    offset = current_app.config["DEFAULT_TZ_OFFSET"]
    return search.local_time(value, offset)


@bp.before_request
def _require_inspector():
    if request.endpoint in OPEN_ENDPOINTS:
        return None
    actor = _session_actor()
    if actor is None:
        return redirect(url_for("inspect_console.sign_in_form", next=_safe_next(request.full_path)))
    access.begin(actor, access.CONSOLE)
    if request.method == "POST":
        _check_csrf()
    return None


def _session_actor() -> Actor | None:
    """The inspector signed in on this cookie, or None: its token must name a session the
    server holds open (not signed out, not expired), of a key still valid for the console."""
    token = session.get("sid")
    if not token:
        return None
    db = dbmod.session()
    row = sessions.active(db, token, dbmod.utcnow())
    if row is None:
        session.clear()
        return None
    key = db.get(ApiKey, row.key_id)
    if key is None or key.revoked_at is not None or key.role != "inspector":
        session.clear()
        return None
    return Actor(key_id=key.id, role=key.role, party_id=key.party_id)


def _safe_next(target: str | None) -> str | None:
    """Only a path of this console: never another site (open redirect)."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/inspect"):
        return None
    return target.rstrip("?")


@bp.after_request
def _headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.errorhandler(DomainError)
def _domain_error(error: DomainError):
    return render_template("inspect/error.html", status=error.status, code=error.code,
                           message=error.message), error.status


@bp.errorhandler(400)
def _bad_request(error):
    return render_template("inspect/error.html", status=400, code="bad_request",
                           message=error.description), 400


def _ctx() -> Ctx:
    return Ctx(db=dbmod.session(), actor=g.actor,
               tz_offset=current_app.config["DEFAULT_TZ_OFFSET"])


# --- sign in and out --------------------------------------------------------------------------


@bp.get("/sign-in")
def sign_in_form():
    return render_template("inspect/sign_in.html", next=_safe_next(request.args.get("next")),
                           error=None)


@bp.post("/sign-in")
def sign_in():
    _check_csrf()
    target = _safe_next(request.form.get("next"))
    try:
        actor = authenticate(dbmod.session(), request.form.get("api_key", "").strip())
    except DomainError as exc:
        return render_template("inspect/sign_in.html", next=target, error=exc.message), 401
    if actor.role != "inspector":
        return render_template("inspect/sign_in.html", next=target,
                               error="This console is for inspector keys."), 403
    access.begin(actor, access.CONSOLE)  # first: on SQLite it opens the write session
    access.note_subject("sign-in")
    db, now = dbmod.session(), dbmod.utcnow()
    sessions.end(db, session.get("sid"), now)  # a session planted before sign-in dies here
    session.clear()
    session["sid"] = sessions.start(db, actor.key_id, now, dt.timedelta(
        hours=current_app.config["CONSOLE_SESSION_HOURS"]))
    session["csrf"] = secrets.token_urlsafe(32)
    return redirect(target or url_for("inspect_console.home"))


@bp.post("/sign-out")
def sign_out():
    """End the session on the server: the cookie, or any copy of it, no longer signs in."""
    sessions.end(dbmod.session(), session.get("sid"), dbmod.utcnow())
    session.clear()
    return redirect(url_for("inspect_console.sign_in_form"))


# --- search, trail, trace ---------------------------------------------------------------------


def _date(name: str):
    raw = request.args.get(name)
    if not raw:
        return None
    try:
        day = dt.date.fromisoformat(raw)
    except ValueError:
        abort(400, description=f"{name}: give a date as YYYY-MM-DD")
    return dt.datetime.combine(check_date(day, name), dt.time(), tzinfo=_ctx().tz)


@bp.get("/")
def home():
    args = {k: request.args.get(k) or None for k in ("q", "kind", "merchant_id", "carrier_id",
                                                     "category")}
    since, until = _date("since"), _date("until")
    if until is not None:
        until += dt.timedelta(days=1)
    result = None
    if any(args.values()) or since or until:
        access.note_subject(args["q"])
        result = search.search(_ctx(), **args, since=since, until=until, limit=50,
                               after=decode_cursor(request.args.get("cursor"), int))
        cursor = encode_cursor(result.pop("next_cursor_id"))
        result["next_url"] = _with(cursor=cursor) if cursor else None
    return render_template("inspect/search.html", args=request.args, result=result)


def _with(**changes) -> str:
    """This page's URL with some query parameters changed."""
    return url_for(request.endpoint, **{**request.view_args, **request.args.to_dict(),
                                        **changes})


@bp.get("/trail")
def trail():
    key = request.args.get("key", "")
    access.note_subject(key)
    out = search.trail(_ctx(), key, limit=100,
                       after=decode_cursor(request.args.get("cursor"), int))
    cursor = encode_cursor(out.pop("next_cursor_id"))
    out["next_url"] = _with(cursor=cursor) if cursor else None
    return render_template("inspect/trail.html", trail=out, key=out["trace_key"]["key"])


@bp.get("/trace")
def trace():
    key = request.args.get("key", "")
    direction = request.args.get("direction", "both")
    hops = request.args.get("hops", str(tracing.DEFAULT_HOPS))
    if not is_ascii_digits(hops, 2):
        abort(400, description="hops: a whole number")
    access.note_subject(key)
    out = tracing.trace(_ctx(), key, direction=direction, hops=int(hops), limit=100,
                        after=tracing.parse_cursor(request.args.get("cursor")))
    out["next_url"] = _with(cursor=out["next_cursor"]) if out["next_cursor"] else None
    return render_template("inspect/trace.html", trace=out, direction=direction, hops=hops)


@bp.get("/download/<what>")
def download(what: str):
    """The exports of the API, for a signed-in person."""
    key = request.args.get("key", "")
    access.note_subject(key)
    ctx = _ctx()
    if what == "evidence.zip":
        name, data = exports.evidence_bundle(ctx, key, integrity.log_key())
        mimetype = "application/zip"
    elif what == "trail.csv":
        tk, _h, _e, steps, _c = exports.full_trail(ctx, key, integrity.log_key())
        data = exports.csv_bytes(exports.TRAIL_COLUMNS, ([r[c] for c in exports.TRAIL_COLUMNS]
                                                          for r in exports.trail_rows(steps)))
        name, mimetype = f"{exports._slug(tk.key)}-trail.csv", "text/csv"
    elif what == "trace.csv":
        out = tracing.trace(ctx, key, direction="forward", limit=None)
        rows = out["forward"]["movements"].dicts()
        data = exports.csv_bytes(tracing.FORWARD_COLUMNS,
                                 ([r[c] for c in tracing.FORWARD_COLUMNS] for r in rows))
        name, mimetype = f"{exports._slug(out['origin']['key'])}-trace.csv", "text/csv"
    else:
        abort(404)
    response = Response(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


# --- recalls ----------------------------------------------------------------------------------


@bp.get("/recalls")
def recall_list():
    rows, _last = recalls.list_recalls(_ctx().db, status=None, limit=200, after=None)
    views = [dict(id=r.id, status=r.status, severity=r.severity, authority=r.authority,
                  opened_at=r.opened_at, lots=recalls.lot_views(_ctx().db, r)) for r in rows]
    return render_template("inspect/recalls.html", recalls=views)


@bp.post("/recalls")
def recall_open():
    lots = [line.strip() for line in request.form.get("lots", "").splitlines() if line.strip()]
    recall = recalls.open_recall(_ctx(), lots=lots, reason=_field("reason", 2000),
                                 severity=request.form.get("severity", ""),
                                 authority=_field("authority", 200),
                                 reference=request.form.get("reference", "").strip()[:100] or None)
    access.note_subject(recall.id)
    return redirect(url_for("inspect_console.recall_page", recall_id=recall.id))


def _field(name: str, max_len: int) -> str:
    value = request.form.get(name, "").strip()
    if not value or len(value) > max_len:
        abort(400, description=f"{name}: required, at most {max_len} characters")
    return value


@bp.get("/recalls/<recall_id>")
def recall_page(recall_id):
    db = _ctx().db
    access.note_subject(recall_id)
    recall = recalls.get_recall(db, recall_id)
    buyers, _last = recalls.buyers(db, recall, limit=100, after=None)
    return render_template("inspect/recall.html", recall=recall,
                           lots=recalls.lot_views(db, recall),
                           progress=recalls.progress(db, recall),
                           parcels=recalls.stopped_parcels(db, recall), buyers=buyers)


@bp.post("/recalls/<recall_id>/close")
def recall_close(recall_id):
    access.note_subject(recall_id)
    recalls.close_recall(_ctx(), recall_id, note=_field("note", 4000))
    return redirect(url_for("inspect_console.recall_page", recall_id=recall_id))


# --- anomalies and spot checks ----------------------------------------------------------------


@bp.get("/anomalies")
def anomaly_page():
    until = dt.datetime.now(dt.timezone.utc)
    since = until - anomalies.DEFAULT_WINDOW
    settings = anomalies.Settings()
    found = {kind: anomalies.find(_ctx().db, kind, since, until, settings)
             for kind in anomalies.KINDS}
    return render_template("inspect/anomalies.html", found=found, since=since, until=until)


@bp.get("/spot-checks")
def spot_check_list():
    from sqlalchemy import select

    from trace_service.inspect.models import SpotCheck

    rows = _ctx().db.scalars(select(SpotCheck).order_by(SpotCheck.id.desc()).limit(200)).all()
    return render_template("inspect/spot_checks.html", checks=rows)


@bp.post("/spot-checks")
def spot_check_create():
    n = request.form.get("n", "")
    seed = request.form.get("seed", "").strip()
    if not is_ascii_digits(n) or not 1 <= int(n) <= spotchecks.MAX_SAMPLE:
        abort(400, description=f"n: a number from 1 to {spotchecks.MAX_SAMPLE}")
    if seed and (not is_ascii_digits(seed) or int(seed) >= 2**63):
        abort(400, description="seed: a whole number below 2^63, or empty for a random one")
    check = spotchecks.create(_ctx(), kind=request.form.get("population", "listings"),
                              n=int(n), seed=int(seed) if seed else None,
                              categories=request.form.getlist("categories"),
                              merchant_id=request.form.get("merchant_id") or None, weights={})
    access.note_subject(check.id)
    return redirect(url_for("inspect_console.spot_check_page", check_id=check.id))


@bp.get("/spot-checks/<check_id>")
def spot_check_page(check_id):
    db = _ctx().db
    access.note_subject(check_id)
    check = spotchecks.get(db, check_id)
    return render_template("inspect/spot_check.html", check=check,
                           tasks=spotchecks.task_views(db, check))


@bp.post("/spot-checks/<check_id>/tasks/<task_id>/result")
def spot_check_result(check_id, task_id):
    access.note_subject(task_id)
    result = request.form.get("result", "")
    if result not in spotchecks.RESULTS:
        abort(400, description="result: passed or failed")
    recall = None
    if result == "failed" and request.form.get("open_recall"):
        recall = {"reason": _field("reason", 2000), "authority": _field("authority", 200),
                  "severity": request.form.get("severity", "")}
    spotchecks.record(_ctx(), check_id, task_id, result=result, notes=_field("notes", 4000),
                      recall=recall)
    return redirect(url_for("inspect_console.spot_check_page", check_id=check_id))
