"""Public routes (no API key): the GS1 Digital Link resolver pages and report-a-problem.

=========================================  =============================================
``GET /01/{gtin}[/10/{lot}][/21/{serial}]``  product, lot or unit page (``?17=`` etc. ok)
``GET /00/{sscc}``, ``GET /waybill/{no}``    parcel tracking page
``GET /drug/{20-digit code}``                a drug pack's page
``GET /report?key=…``, ``POST /report``      report a problem (CSRF, rate-limited)
``POST /checks/place``                       add a coarse place to one's own check
``GET /healthz``                             liveness (no database)
=========================================  =============================================

HTML by default; JSON with ``Accept: application/json`` (or ``?format=json``). Errors on
these routes are HTML pages for browsers and the JSON envelope otherwise
(``trace_service.http.wants_html``). Views only wire things: facts come from ``pages``,
checks from ``checks``, signals from ``signals``, reports from ``reports``.
"""

from __future__ import annotations

import json
from dataclasses import replace
from urllib.parse import quote, urlencode

from flask import Blueprint, Response, current_app, make_response, redirect, render_template
from flask import request, url_for
from itsdangerous import BadSignature
from markupsafe import Markup
from sqlalchemy import select

from trace_service import db as dbmod
from trace_service.chain.models import TraceKey
from trace_service.errors import BadRequest, DomainError, NotFound
from trace_service.http import HTML_ERRORS
from trace_service.identifiers import IdentifierError
from trace_service.public import checks, csrf, integrity, links, pages, reports, signals, web
from trace_service.public.errors import render_error
from trace_service.public.resolve import (
    Target, from_digital_link, from_drug_code, from_trace_key, from_waybill, page_path,
)
from trace_service.public.views import checks_view, json_document, signal_message, static_json

bp = Blueprint("public", __name__)


def init_app(app) -> None:
    """Register the public pages, their settings and the HTML error renderer."""
    app.extensions[web.STATE] = web.make_state(app)
    app.extensions[HTML_ERRORS] = render_error
    app.register_blueprint(bp)


# --- the resolver ---------------------------------------------------------------------------


def _raw_path_and_query() -> str:
    """The request target as the client sent it (percent-encoding intact)."""
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI")
    if raw and raw.startswith("/"):
        return raw
    query = request.query_string.decode("latin-1")
    return quote(request.path, safe="/") + (f"?{query}" if query else "")


def _identifier_not_found(exc: IdentifierError) -> NotFound:
    return NotFound(exc.code, exc.message, **exc.details)


@bp.route("/01/<path:_rest>", methods=["GET"])
@bp.route("/00/<path:_rest>", methods=["GET"])
@web.limited("pages")
def digital_link(_rest):
    """A GS1 Digital Link: product, lot, unit or (``/00/``) parcel page."""
    try:
        target = from_digital_link(_raw_path_and_query())
    except IdentifierError as exc:
        raise _identifier_not_found(exc) from None
    return _page(target)


@bp.route("/waybill/<path:number>", methods=["GET"])
@web.limited("pages")
def waybill(number):
    """A parcel by its carrier waybill number."""
    try:
        target = from_waybill(number)
    except IdentifierError as exc:
        raise _identifier_not_found(exc) from None
    return _page(target)


@bp.route("/drug/<code>", methods=["GET"])
@web.limited("pages")
def drug(code):
    """A drug pack by its 20-digit traceability code."""
    try:
        target = from_drug_code(code)
    except IdentifierError as exc:
        raise _identifier_not_found(exc) from None
    return _page(target)


def _facts(target: Target) -> dict:
    """Page facts and the integrity badge, cached per process for a few seconds."""
    app = current_app._get_current_object()
    database = dbmod.get_db()

    def make():
        state = web.state()
        with database.read_session() as db:
            facts = pages.build(db, target, web.today(), state.directory)
            events = facts.pop("_events", None)
            if events is not None:
                facts["integrity"] = integrity.badge(app, database, db, events, state.cache)
        return facts

    cache_key = (target.kind, target.key or target.gtin, target.lot)
    return web.state().cache.get_or_make(cache_key, make)


#: Stand-ins for the per-request tokens in a cached page (never valid tokens themselves).
_CHECK_SLOT = "\x00check\x00"


def _page(target: Target):
    facts = _facts(target)
    mine = _unit_checks(facts) if facts["kind"] == "unit" else None
    summary, mine_id, mine_is_first = mine or (None, None, False)
    day = web.today()
    if facts["kind"] == "unit":
        found = signals.unit_signals(facts, summary, target.expiry, day)
    else:
        found = signals.lot_signals(facts, target.expiry, day) if facts.get("lot") else []
    t, c = web.translator(), web.clock()
    path = page_path(target)
    links = {"page": path}
    if facts["kind"] != "product":
        links["report"] = "/report?" + urlencode({"key": facts["key"]})
    placed = request.args.get("placed") == "1"
    # Whole pages are cached too, per what can differ between visitors (the checks and
    # signals, the query string); a visitor's own token is put in afterwards.
    variant = (id(facts), target.kind, target.key or target.gtin, target.lot, t.lang,
               request.full_path, summary.count if summary else None,
               summary.not_counted if summary else None, mine_is_first,
               mine_id is not None, placed, repr([(s["code"], s["params"]) for s in found]))
    if web.wants_json():
        body = web.state().pages_cache.get_or_make(("json",) + variant, lambda: json.dumps(
            json_document(_json_facts(target, facts), summary, mine_is_first, found, t, c,
                          links), ensure_ascii=False))
        return web.finish(Response(body, mimetype="application/json"))

    def render():
        place_form = None if mine_id is None else {
            "check": _CHECK_SLOT, "cities": _cities()}
        return render_template(
            "public/page.html", page=facts, t=t, clock=c, lang=t.lang,
            fragments=_fragments(target, facts, t, c),
            checks=checks_view(summary, mine_is_first, t, c),
            warnings=[dict(s, message=signal_message(s, t, c)) for s in found
                      if s["level"] == "warning"],
            infos=[dict(s, message=signal_message(s, t, c)) for s in found
                   if s["level"] == "info"],
            links=dict(links, json=path + "?format=json", **web.lang_links(path)),
            place_form=place_form, placed=placed)

    html = web.state().pages_cache.get_or_make(("html",) + variant, render)
    if mine_id is not None:
        html = html.replace(_CHECK_SLOT, _check_token(mine_id, facts["trace_key_id"], path))
    return web.finish(Response(html, mimetype="text/html"))


def _check_token(check_id: int, key_id: int, path: str) -> str:
    """The signed token of the place form: it names the visitor's own check and can only be
    read from the page the visitor got, so it is also the form's CSRF token. Made once per
    check and page (tokens are valid for a day)."""
    state = web.state()
    cache_key = ("token", check_id, path)
    token = state.seen.get(cache_key)
    if token is None:
        token = web.checks_serializer().dumps({"c": check_id, "k": key_id, "u": path})
        state.seen.put(cache_key, token)
    return token


def _fragments(target: Target, facts: dict, t, c) -> dict:
    """The parts of a page that are the same for every visitor (in one language), rendered
    once per cache period: the facts cards and the integrity badge."""

    def make():
        return {"facts": Markup(render_template(f"public/_facts_{facts['kind']}.html",
                                                page=facts, t=t, clock=c)),
                "integrity": Markup(render_template("public/_integrity.html", page=facts,
                                                    t=t, clock=c))}

    key = ("html", target.kind, target.key or target.gtin, target.lot, t.lang)
    return web.state().cache.get_or_make(key, make)


def _json_facts(target: Target, facts: dict) -> dict:
    key = ("json", target.kind, target.key or target.gtin, target.lot)
    return web.state().cache.get_or_make(key, lambda: static_json(facts))


def _unit_checks(facts: dict) -> tuple[checks.ChecksSummary, int | None, bool]:
    """This unit's checks, counting this one (once per visitor per day): the summary, the
    visitor's own check id, and whether the visitor's check is the first one."""
    state = web.state()
    database = dbmod.get_db()
    day = web.today()
    key_id = facts["trace_key_id"]
    salt = state.salts.get(database, day)
    # A device is its address (IPv6: its /64), whatever its user agent says (checks.py).
    device, network = checks.device_and_network(web.client_address())
    visitor = checks.visitor_hash(salt, device)
    since = {"recall": facts["recall"]["recalled_at"]} if facts.get("recall") else {}
    cache_key = ("checks", key_id, tuple(since.items()))
    seen = (key_id, day, visitor)
    known = state.seen.get(seen)  # this device's check id; 0 if its check was not counted
    kind = checks.classify(request.method, request.headers)
    if known is None and kind is not None:
        mine, summary = checks.record(
            database, key_id, day, visitor, dbmod.utcnow(), since,
            network=checks.visitor_hash(salt, "network", network),
            counted=kind == checks.PERSON)
        state.cache.put(cache_key, summary)
        state.seen.put(seen, mine or 0)
    else:
        mine = known or None
        summary = state.cache.get(cache_key)
        if summary is None:
            with database.read_session() as db:
                summary = checks.summarise(db, key_id, since)
            state.cache.put(cache_key, summary)
    return summary, mine, summary.first_visitor == (day, visitor)


def _cities() -> list[dict]:
    database = dbmod.get_db()

    def make():
        with database.read_session() as db:
            return checks.known_cities(db)

    return web.state().cache.get_or_make(("cities",), make)


# --- places ---------------------------------------------------------------------------------


@bp.route("/checks/place", methods=["POST"])
@web.limited("reports")
def check_place():
    """Add a coarse place (a city, or lat/lon from the phone) to one's own check.

    The signed check token is the CSRF protection here (see ``_check_token``); the
    ``Origin``, when sent, must be this site."""
    if not csrf.same_origin(request.headers.get("Origin"), request.host_url):
        raise DomainError("cross_site_request", "this form was sent from another site")
    try:
        token = web.checks_serializer().loads(request.form.get("check", ""), max_age=86400)
    except BadSignature:
        raise BadRequest("bad_check_token", "this form has expired; reload the page") from None
    lat, lon = _coordinate(request.form.get("latitude"), 90), _coordinate(
        request.form.get("longitude"), 180)
    place = checks.coarse_place(_cities(), request.form.get("city"), lat, lon)
    if checks.set_place(dbmod.get_db(), token["c"], token["k"], place):
        web.state().cache.drop(lambda key: key[0] == "checks" and key[1] == token["k"])
        web.state().pages_cache.clear()  # the first check's place is on the pages
    path = token["u"] if str(token.get("u", "")).startswith("/") else "/"
    return redirect(path + "?placed=1", code=303)


def _coordinate(text: str | None, limit: float) -> float | None:
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if -limit <= value <= limit else None


def _require_csrf() -> None:
    secret = current_app.config["SECRET_KEY"]
    if not csrf.same_origin(request.headers.get("Origin"), request.host_url):
        raise DomainError("cross_site_request", "this form was sent from another site")
    if not csrf.valid(secret, request.form.get(csrf.FIELD), request.cookies.get(csrf.COOKIE)):
        raise _CsrfFailed("csrf_failed",
                          "this form has expired or was not sent from this site; reload the "
                          "page and try again")


class _CsrfFailed(DomainError):
    status = 403


# --- report a problem -----------------------------------------------------------------------


def _report_key(text: str | None) -> tuple[Target, TraceKey]:
    try:
        target = from_trace_key(text or "")
    except IdentifierError as exc:
        raise _identifier_not_found(exc) from None
    key = dbmod.session().scalar(select(TraceKey).where(TraceKey.key == target.key))
    if key is None:
        raise NotFound("unknown_code", f"{target.key} is not registered", key=target.key)
    return target, key


@bp.route("/report", methods=["GET"])
@web.limited("pages")
def report_form():
    """The complaint form, prefilled with the identifiers of the page it came from."""
    target, key = _report_key(request.args.get("key"))
    return _report_page(target, key, {}, {}, 200)


def _facts_page_path(facts: dict, target: Target) -> str:
    """The page of a target as its label links it (a unit's Digital Link with its lot)."""
    lot = facts.get("identifiers", {}).get("lot")
    if target.kind == "unit" and target.gtin and lot:
        target = replace(target, lot=lot)
    return page_path(target)


def _report_page(target: Target, key: TraceKey, values: dict, errors: dict, status: int):
    t = web.translator()
    nonce = web.csrf_nonce()
    facts = _facts(target)
    html = render_template(
        "public/report.html", t=t, lang=t.lang, page=facts, target=target,
        categories=reports.CATEGORIES[key.kind], values=values, errors=errors,
        csrf_token=csrf.token_for(current_app.config["SECRET_KEY"], nonce),
        links=dict(page=_facts_page_path(facts, target), **web.lang_links(request.path)),
        key=key.key, limits={"text_min": reports.TEXT_MIN, "text_max": reports.TEXT_MAX})
    response = make_response(html, status)
    return web.finish(response, nonce=nonce)


@bp.route("/report", methods=["POST"])
@web.limited("reports")
def report_submit():
    """Validate, store, put in the chain, then show the reference (303 to a GET)."""
    _require_csrf()
    target, key = _report_key(request.form.get("key"))
    try:
        clean = reports.validate(key.kind, request.form)
    except reports.ReportInvalid as exc:
        values = {k: request.form.get(k, "") for k in ("category", "text", "name", "phone")}
        return _report_page(target, key, values, exc.errors, 422)
    report = reports.file_report(dbmod.session(), key, **clean,
                                 tz_offset=current_app.config["DEFAULT_TZ_OFFSET"])
    return redirect(url_for("public.report_received", ref=report.id,
                            page=_facts_page_path(_facts(target), target)), code=303)


@bp.route("/report/received", methods=["GET"])
@web.limited("pages")
def report_received():
    """The reference of a stored report (another reference is a 404), with a link back to
    the page it came from: ``page`` if it is a path of this site (``links.local_path``),
    else the page of the reported key."""
    t = web.translator()
    report = reports.find(dbmod.session(), request.args.get("ref", ""))
    if report is None:
        raise NotFound("unknown_report", "no report has this reference")
    page = links.local_path(request.args.get("page"))
    if page is None:
        key = dbmod.session().get(TraceKey, report.trace_key_id)
        target = from_trace_key(key.key)
        page = _facts_page_path(_facts(target), target)
    html = render_template("public/received.html", t=t, lang=t.lang, ref=report.id,
                           links=dict(page=page, **web.lang_links(request.path)))
    return web.finish(make_response(html))


# --- liveness -------------------------------------------------------------------------------


@bp.route("/healthz", methods=["GET"])
def healthz():
    """Liveness for load balancers: answers without touching the database. Also the
    baseline route of benchmarks/bench_public.py."""
    return Response("ok\n", mimetype="text/plain")

