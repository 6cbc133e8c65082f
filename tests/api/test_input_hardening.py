"""Input hardening: inputs that once reached the database (and gave a 500) are refused
with the error envelope, a stable code and the field's name, and store nothing.

In process (Flask's test client) for the rules themselves; over real HTTP against
``trace-service serve`` (gunicorn) for what only a real server sees: chunked bodies,
gunicorn's own rejections, the server's log.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import re
import socket
import time
import uuid
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select, text

from tests.api.test_bad_input import (
    MILK_LOT, NothingStored, allowed_caller, assert_envelope, concrete_path, field_errors,
    has_path, order_body, raw,
)
from tests.conftest import drop_pg_database, make_pg_database
from tests.e2e.harness import Server, engine_for
from tests.helpers import Caller, error_of, sscc
from tests.inspect.conftest import csrf_of
from tests.world import MILK, bootstrap_admin, build_world
from trace_service import create_app, migrate
from trace_service.http import PUBLIC
from trace_service.parties.models import Party

UTC = dt.timezone.utc
LONE = b'"\\ud800"'  # a lone surrogate, as the JSON escape a client sends


@pytest.fixture
def world(app, client):
    return build_world(app, client)


def now(**delta) -> dt.datetime:
    return dt.datetime.now(UTC) + dt.timedelta(**delta)


def batch_scan(when: str, key: str = "(00)" + sscc(9)) -> dict:
    return {"id": str(uuid.uuid4()), "key": key, "step": "arrive", "seq": 1,
            "device_time": when}


def json_bytes(value) -> bytes:
    return json.dumps(value).encode()


def spec_of(client) -> dict:
    return client.get("/api/v1/openapi.json").get_json()


_RULE_VARIABLE = re.compile(r"<(?:\w+(?:\([^)]*\))?:)?(\w+)>")


def permission_of(app, path: str) -> str:
    rule = next(r for r in app.url_map.iter_rules() if _RULE_VARIABLE.sub(r"{\1}", r.rule) == path)
    return app.view_functions[rule.endpoint].__trace_permission__


def write_routes_with_a_body(app, client) -> list[tuple[str, str, str]]:
    """(method, concrete path, permission) of every route the OpenAPI document gives a JSON
    request body."""
    spec = spec_of(client)["paths"]
    out = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.endpoint.startswith("api-docs"):
            continue
        operations = spec.get(_RULE_VARIABLE.sub(r"{\1}", rule.rule), {})
        for method in sorted(rule.methods & {"POST", "PATCH", "PUT"}):
            if "requestBody" in operations.get(method.lower(), {}):
                out.append((method, concrete_path(rule),
                            app.view_functions[rule.endpoint].__trace_permission__))
    return out


def integer_query_parameters(app, client) -> list[tuple[str, str, str]]:
    """(concrete path, parameter, permission) of every integer query parameter."""
    out = []
    for path, operations in spec_of(client)["paths"].items():
        get = operations.get("get")
        if not get:
            continue
        for parameter in get.get("parameters", []):
            if parameter["in"] == "query" and parameter["schema"].get("type") == "integer":
                concrete = re.sub(r"\{symbology\}", "qr", path)
                out.append((re.sub(r"\{\w+\}", "x", concrete), parameter["name"],
                            permission_of(app, path)))
    return out


# --- people ---------------------------------------------------------------------------------


def test_a_person_with_no_field_is_a_422_naming_it(app, world):
    staff = {"carrier_id": world.ids["carrier"], "staff_no": "W-1", "person": {}}
    with NothingStored(app):
        buyer = world.merchant.post("/api/v1/orders", order_body(world, buyer={}))
        consignee = world.merchant.post("/api/v1/orders", order_body(world, consignee={}))
        person = world.carrier.post("/api/v1/staff", staff)
        signer = world.device.post("/api/v1/receipts", {"parcel": sscc(5), "signer": {}})
    for response, field in ((buyer, "buyer"), (consignee, "consignee"), (person, "person"),
                            (signer, "signer")):
        fields = field_errors(response)
        assert has_path(fields, f"{field}._schema"), (field, fields)
        assert "at least one of" in error_of(response)["message"]


# --- text -----------------------------------------------------------------------------------


def test_a_lone_surrogate_in_any_string_is_a_422(app, client, world):
    body = json.dumps(order_body(world)).encode()
    cases = {
        "buyer.name": body.replace(b'"Li Lei"', LONE),
        "order_no": body.replace(b'"A-1"', b'"A-1\\udfff"'),
        "lines.0.key": body.replace(json.dumps(MILK_LOT).encode(), LONE),
    }
    with NothingStored(app):
        for field, data in cases.items():
            error = assert_envelope(raw(client, world.merchant, "/api/v1/orders", data), 422,
                                    "invalid_text")
            assert error["details"]["field"] == field and field in error["message"]
        key = raw(client, world.merchant, "/api/v1/orders", b'{"\\ud800": 1}')
        assert assert_envelope(key, 422, "invalid_text")["details"]["field"] == "\ud800"
        party = raw(client, world.admin, "/api/v1/parties",
                    b'{"kind": "merchant", "name": "\\udc00Shop", '
                    b'"credit_code": "91440300MA5G2R8K12"}')
        assert_envelope(party, 422, "invalid_text")
        batch = raw(client, world.device, "/api/v1/scans/batch", json_bytes(
            {"scans": [batch_scan(now().isoformat())]}).replace(b"(00)", b"\\ud800"))
        assert assert_envelope(batch, 422, "invalid_text")["details"]["field"] == "scans.0.key"
    # A pair of surrogate escapes is one character (an emoji), which is text like any other.
    paired = raw(client, world.admin, "/api/v1/parties",
                 b'{"kind": "merchant", "name": "Shop \\ud83d\\ude00", '
                 b'"credit_code": "91440300MA5G2R8K12"}')
    assert paired.status_code == 201, paired.get_json()
    assert paired.get_json()["name"] == "Shop \U0001F600"


def test_a_nul_in_a_query_string_or_a_body_is_a_422_nul_character(app, client, world):
    with NothingStored(app):
        for caller, path in ((world.inspector, "/api/v1/inspect/search?q=L%00"),
                             (world.merchant, "/api/v1/orders?status=placed%00"),
                             (world.inspector, "/api/v1/trail?key=%00")):
            response = caller.client.get(path, headers={"Authorization": f"Bearer {caller.key}"})
            error = assert_envelope(response, 422, "nul_character")
            assert error["details"]["field"].startswith("query")
        body = raw(client, world.admin, "/api/v1/parties",
                   b'{"kind": "merchant", "name": "Nul\\u0000Shop", '
                   b'"credit_code": "91440300MA5G2R8K12"}')
        assert assert_envelope(body, 422, "nul_character")["details"]["field"] == "name"


def test_a_query_string_that_is_not_utf8_is_a_400(app, client, world):
    response = client.get("/api/v1/inspect/search", headers={
        "Authorization": f"Bearer {world.inspector.key}"},
        environ_overrides={"QUERY_STRING": "q=\xed\xa0\x80"})
    assert_envelope(response, 400, "malformed_query")


# --- JSON ---------------------------------------------------------------------------------


def test_a_duplicate_json_key_is_a_400_duplicate_key_on_every_write_route(app, client, world):
    with_body = write_routes_with_a_body(app, client)
    assert len(with_body) >= 20
    failures = []
    with NothingStored(app):
        for method, path, permission in with_body:
            response = raw(client, allowed_caller(world, permission), path,
                           b'{"kind": "merchant", "kind": "carrier"}', method=method)
            error = (response.get_json(silent=True) or {}).get("error") or {}
            if (response.status_code, error.get("code")) != (400, "duplicate_key"):
                failures.append((method, path, response.status_code, error.get("code")))
        nested = json.dumps(order_body(world)).encode().replace(
            b'"name": "Li Lei"', b'"name": "Li Lei", "name": "Han Meimei"')
        error = assert_envelope(raw(client, world.merchant, "/api/v1/orders", nested), 400,
                                "duplicate_key")
    assert not failures, failures
    assert error["details"]["field"] == "name" and "twice" in error["message"]


def test_numbers_and_booleans_sent_as_strings_are_422s_naming_the_field(app, world):
    sheet = {"symbology": "qr", "gtin": MILK, "lot": "L1", "copies": 2}
    cases = [
        (world.merchant, "/api/v1/listings",
         {"gtin": MILK, "title": "Milk", "price_cents": "6990"}, "price_cents"),
        (world.merchant, "/api/v1/orders", order_body(world, lines=[
            {"listing_id": world.ids["milk_listing"], "key": MILK_LOT, "quantity": 2.0}]),
         "lines.0.quantity"),
        (world.merchant, "/api/v1/lots", {"gtin": MILK, "lot": "L9", "quantity": "5"},
         "quantity"),
        (world.admin, "/api/v1/parties", {"kind": "merchant", "name": "X", "verified": "true",
                                          "credit_code": "91440300MA5G2R8K12"}, "verified"),
        (world.admin, "/api/v1/parties", {"kind": "merchant", "name": "X", "verified": 1,
                                          "credit_code": "91440300MA5G2R8K12"}, "verified"),
        (world.admin, "/api/v1/points", {"name": "D", "city": "C", "latitude": "30.2"},
         "latitude"),
        (world.admin, "/api/v1/labels/sheets", dict(sheet, copies="2"), "copies"),
        (world.admin, "/api/v1/labels/sheets", dict(sheet, copies=2.0), "copies"),
        (world.admin, "/api/v1/labels/sheets", dict(sheet, expiry="true"), "expiry"),
        (world.admin, "/api/v1/labels/sheets",
         {"symbology": "qr", "gtin": MILK, "lot": "L1",
          "serials": {"start": "1", "end": 3}}, "serials.start"),
        (world.inspector, "/api/v1/inspect/spot-checks",
         {"population": "lots", "n": "2"}, "n"),
    ]
    with NothingStored(app):
        for caller, path, body, field in cases:
            response = caller.post(path, body)
            assert has_path(field_errors(response), field), (path, field, response.get_json())
        for value in ("٣", "²", " 5", "1_0", "5.0", "0x10"):
            fields = field_errors(world.merchant.get("/api/v1/orders", limit=value))
            assert "limit" in fields, (value, fields)
        symbol = world.admin.get("/api/v1/labels/symbols/qr", gtin=MILK, expiry="yes")
        assert "expiry" in field_errors(symbol)
        for value in ("١.٥", "nan", "inf", "1,5"):
            anomalies = world.inspector.get("/api/v1/inspect/anomalies", gap_hours=value)
            assert "gap_hours" in field_errors(anomalies), value
    # Numbers as numbers, and query strings in ASCII digits, still work.
    assert world.merchant.get("/api/v1/orders", limit="5").status_code == 200
    assert world.inspector.get("/api/v1/inspect/anomalies", gap_hours="1.5",
                               max_speed_kmh="1e2").status_code == 200


# --- integers -------------------------------------------------------------------------------


def test_integers_beyond_64_bits_are_a_422_on_every_integer_query_parameter(app, client,
                                                                            world):
    params = integer_query_parameters(app, client)
    assert {("/api/v1/log/proofs/consistency", "first"),
            ("/api/v1/log/proofs/inclusion", "size")} <= {(p, n) for p, n, _ in params}
    failures = []
    companions = {"/api/v1/log/proofs/consistency": {"first": 0, "second": 1},
                  "/api/v1/log/proofs/inclusion": {"event_id": "e"}}
    for path, name, permission in params:
        for value in (2**63, 10**30, -(2**63)):
            query = {k: v for k, v in companions.get(path, {}).items() if k != name}
            response = allowed_caller(world, permission).get(path, **{name: value}, **query)
            error = (response.get_json(silent=True) or {}).get("error") or {}
            if response.status_code != 422 or name not in error.get("details", {}).get(
                    "fields", {}):
                failures.append((path, name, value, response.status_code))
    assert not failures, failures
    assert len(params) >= 20


def test_integers_beyond_64_bits_in_public_proof_paths_and_bodies_are_refused(app, world):
    anonymous = Caller(world.admin.client, None)
    for path in ("/api/v1/log/checkpoints/9223372036854775808",
                 "/api/v1/log/checkpoints/" + "9" * 40):
        assert_envelope(anonymous.get(path), 404, "not_found")
    consistency = anonymous.get("/api/v1/log/proofs/consistency", first=0, second=2**63)
    assert "second" in field_errors(consistency)
    with NothingStored(app):
        seed = world.inspector.post("/api/v1/inspect/spot-checks",
                                    {"population": "lots", "n": 1, "seed": 2**64})
        assert "seed" in field_errors(seed)
        point = world.admin.post("/api/v1/points", {"name": "D", "city": "C",
                                                    "latitude": 10**400})
        assert "latitude" in field_errors(point)


# --- digits -------------------------------------------------------------------------------


def cursor_of(value) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def test_unicode_digits_are_refused_in_cursors_integer_paths_and_parameters(app, world):
    inspector = world.inspector
    cases = [
        ("/api/v1/inspect/trace", {"key": MILK_LOT, "cursor": cursor_of("²:x")}),
        ("/api/v1/inspect/trace", {"key": MILK_LOT, "cursor": cursor_of("٣:x")}),
        ("/api/v1/inspect/anomalies", {"cursor": cursor_of("²|x")}),
        ("/api/v1/inspect/anomalies", {"cursor": cursor_of("٣|x")}),
        ("/api/v1/inspect/search", {"q": "L1", "cursor": "eyJ²"}),
        ("/api/v1/inspect/search", {"q": "L1", "cursor": "٣"}),
    ]
    for path, params in cases:
        assert_envelope(inspector.get(path, **params), 422, "bad_cursor")
    assert "hops" in field_errors(inspector.get("/api/v1/inspect/trace", key=MILK_LOT,
                                                hops="٣"))
    for digits in ("٣", "²", "３"):
        assert_envelope(inspector.get(f"/api/v1/log/checkpoints/{digits}"), 404, "not_found")


def sign_in(client, key: str):
    form = client.get("/inspect/sign-in")
    signed = client.post("/inspect/sign-in", data={
        "csrf_token": csrf_of(form.get_data(as_text=True)), "api_key": key})
    assert signed.status_code == 302, signed.status_code
    return client


def test_unicode_digits_and_implausible_dates_in_console_fields_are_refused(app, world):
    browser = sign_in(app.test_client(), world.inspector.key)
    for hops in ("²", "٣", "３"):
        page = browser.get("/inspect/trace", query_string={"key": MILK_LOT, "hops": hops})
        assert page.status_code == 400, (hops, page.status_code)
        assert "hops" in page.get_data(as_text=True)
    for since in ("0001-01-01", "9999-12-31"):
        page = browser.get("/inspect/", query_string={"q": "L1", "since": since})
        assert page.status_code == 422 and "date_out_of_range" in page.get_data(as_text=True)
    token = csrf_of(browser.get("/inspect/spot-checks").get_data(as_text=True))
    for field, value in (("n", "²"), ("n", "٣"), ("seed", "²"), ("seed", "٣")):
        form = {"csrf_token": token, "population": "lots", "n": "1", field: value}
        page = browser.post("/inspect/spot-checks", data=form)
        assert page.status_code == 400, (field, value, page.status_code)
        assert field in page.get_data(as_text=True)
    nul = browser.post("/inspect/spot-checks", data={"csrf_token": token, "population": "lots",
                                                     "n": "1", "merchant_id": "x\x00"})
    assert nul.status_code == 422 and "nul_character" in nul.get_data(as_text=True)


# --- times and dates --------------------------------------------------------------------------


def test_aware_times_outside_years_1_to_9999_in_utc_are_422s(app, world):
    low, high = "0001-01-01T00:00:00+01:00", "9999-12-31T23:55:00-01:00"
    with NothingStored(app):
        order = world.merchant.post("/api/v1/orders", order_body(world, event_time=low))
        assert_envelope(order, 422, "event_time_out_of_range")
        assert error_of(order)["details"]["field"] == "event_time"
        scan = world.device.post("/api/v1/scans", {"key": sscc(5), "step": "arrive",
                                                   "event_time": high})
        assert_envelope(scan, 422, "event_time_in_future")
        for when in (low, "9999-12-31T23:55:00Z", high):
            batch = world.device.post("/api/v1/scans/batch", {"scans": [
                batch_scan(now().isoformat()), batch_scan(when)]})
            error = assert_envelope(batch, 422, "event_time_out_of_range")
            assert error["details"]["field"] == "device_time" and when in error["message"]
    for path, extra in (("/api/v1/inspect/search", {"q": "L1"}),
                        ("/api/v1/inspect/trace", {"key": MILK_LOT}),
                        ("/api/v1/inspect/anomalies", {}),
                        ("/api/v1/access-log", {}),
                        ("/api/v1/inspect/exports/trace.json", {"key": MILK_LOT})):
        for name, value in (("since", low), ("until", high), ("since", high)):
            caller = world.admin if path == "/api/v1/access-log" else world.inspector
            response = caller.get(path, **extra, **{name: value})
            error = assert_envelope(response, 422, "time_out_of_range")
            assert error["details"]["field"] == name, (path, name, error)


def test_an_event_time_before_2000_is_a_422_event_time_out_of_range(app, world):
    with NothingStored(app):
        for when in ("1999-12-31T23:59:59Z", "1970-01-01T08:00:00+08:00"):
            order = world.merchant.post("/api/v1/orders", order_body(world, event_time=when))
            error = assert_envelope(order, 422, "event_time_out_of_range")
            assert "2000-01-01" in error["message"] and error["details"]["field"] == "event_time"


def test_a_scanner_clock_keeps_its_skew_within_a_year_but_no_implausible_time(app, world):
    ahead = now(days=300).isoformat()
    kept = world.device.post("/api/v1/scans/batch", {"scans": [batch_scan(ahead)]})
    assert kept.status_code == 200, kept.get_json()
    assert kept.get_json()["receipts"][0]["code"] == "unknown_parcel"  # read, then judged
    with NothingStored(app):
        for when in (now(days=400).isoformat(), "1970-01-01T00:00:00Z",
                     "1999-12-31T23:59:59+00:00"):
            batch = world.device.post("/api/v1/scans/batch", {"scans": [batch_scan(when)]})
            assert_envelope(batch, 422, "event_time_out_of_range")


def test_implausible_dates_are_a_422_date_out_of_range_naming_the_field(app, world):
    lot = {"gtin": MILK, "lot": "L9"}
    licence = {"kind": "food_business", "number": "JY9", "categories": ["food"],
               "valid_from": "2026-01-01", "valid_until": "2027-01-01"}
    cases = [
        (world.merchant, "/api/v1/lots", dict(lot, production_date="0001-01-01"),
         "production_date"),
        (world.merchant, "/api/v1/lots", dict(lot, expiry_date="9999-12-31"), "expiry_date"),
        (world.merchant, "/api/v1/lots", dict(lot, expiry_date="2201-01-01"), "expiry_date"),
        (world.admin, f"/api/v1/parties/{world.ids['foods']}/licences",
         dict(licence, valid_until="9999-12-31"), "valid_until"),
        (world.admin, f"/api/v1/parties/{world.ids['foods']}/licences",
         dict(licence, valid_from="1899-12-31"), "valid_from"),
    ]
    with NothingStored(app):
        for caller, path, body, field in cases:
            error = assert_envelope(caller.post(path, body), 422, "date_out_of_range")
            assert error["details"]["field"] == field and field in error["message"]
            assert (error["details"]["earliest"], error["details"]["latest"]) == (
                "1900-01-01", "2200-12-31")


def test_every_time_a_client_sends_has_a_window(app):
    """Every date-time field of every request schema is a ``BoundedTime``: a new field
    without a window fails here, before a client finds the 500."""
    from marshmallow import fields

    from trace_service.schemas import BoundedTime

    unbounded = []

    def walk(schema, where, seen):
        if type(schema) in seen:
            return
        seen = seen | {type(schema)}
        for name, field in schema.fields.items():
            for f in (field, getattr(field, "inner", None), getattr(field, "value_field", None)):
                if isinstance(f, fields.Nested):
                    walk(f.schema, f"{where}.{name}", seen)
                elif isinstance(f, fields.DateTime) and not isinstance(f, BoundedTime):
                    unbounded.append(f"{where}.{name}")

    checked = 0
    for endpoint, view in app.view_functions.items():
        for parameter in getattr(view, "_apidoc", {}).get("arguments", {}).get("parameters",
                                                                                   []):
            schema = parameter["schema"]
            walk(schema() if isinstance(schema, type) else schema, endpoint, frozenset())
            checked += 1
    assert checked >= 30 and not unbounded, unbounded


# --- label sheets -------------------------------------------------------------------------


def pdf_pages(data: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page\b", data))


def test_a_label_sheet_over_the_cap_is_a_422_and_a_long_run_is_drawn_a_few_pages_a_time(
        app, world):
    run = {"symbology": "qr", "gtin": MILK, "lot": "L1", "copies": 1000, "format": "pdf"}
    started = time.monotonic()
    whole = world.admin.post("/api/v1/labels/sheets", run)
    error = assert_envelope(whole, 422, "too_many_labels")
    assert error["details"] == {"field": "pages", "max_labels": 200, "labels": 1000,
                                "pages": 42, "per_page": 24}
    over = world.admin.post("/api/v1/labels/sheets", dict(run, copies=1001))
    assert "copies" in field_errors(over)
    serials = world.admin.post("/api/v1/labels/sheets", {
        "symbology": "qr", "gtin": MILK, "lot": "L1", "serials": {"start": 0, "end": 1000}})
    assert has_path(field_errors(serials), "serials.end")
    assert time.monotonic() - started < 10  # refused before anything is drawn
    first = world.admin.post("/api/v1/labels/sheets", dict(run, page=3, pages=2))
    assert first.status_code == 200 and first.mimetype == "application/pdf"
    assert first.headers["X-Sheet-Pages"] == "42" and pdf_pages(first.data) == 2
    last = world.admin.post("/api/v1/labels/sheets", dict(run, format="png", page=42))
    assert last.status_code == 200 and last.mimetype == "image/png"
    assert_envelope(world.admin.post("/api/v1/labels/sheets", dict(run, page=43, pages=1)),
                    422, "no_such_page")
    assert_envelope(world.admin.post("/api/v1/labels/sheets", dict(run, format="png",
                                                                   pages=2)),
                    422, "one_page_per_png")
    assert time.monotonic() - started < 60


# --- the log ----------------------------------------------------------------------------------


def test_a_logged_database_error_holds_no_bound_values(app, client, caplog):
    """A statement's parameters are personal data as often as not: the engine hides them
    from every log line (``hide_parameters``), whatever the error."""
    from trace_service import db as dbmod

    secret = "Wang Fang 13912345678 Hangzhou Xihu 88"

    def fail():
        dbmod.session().execute(text("INSERT INTO no_such_table (name) VALUES (:name)"),
                                {"name": secret})

    app.add_url_rule("/api/v1/test/database-error", "database_error", fail, methods=["POST"])
    setattr(fail, "__trace_permission__", PUBLIC)
    with caplog.at_level(logging.INFO):
        response = client.post("/api/v1/test/database-error")
    assert response.status_code >= 500 and error_of(response)["code"] in (
        "internal_error", "database_unavailable")
    assert "no_such_table" in caplog.text  # the error was logged, with its statement
    assert secret not in caplog.text and "13912345678" not in caplog.text
    assert "parameters hidden" in caplog.text


# --- over real HTTP ------------------------------------------------------------------------


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def served(request, tmp_path_factory):
    """``trace-service serve`` (sync workers, as in production) on a migrated database
    with one admin key."""
    base = tmp_path_factory.mktemp(f"served-{request.param}")
    if request.param == "sqlite":
        url = f"sqlite:///{base / 'trace.sqlite3'}"
    else:
        admin = request.getfixturevalue("pg_admin_url")
        name = f"trace_hardening_{uuid.uuid4().hex[:8]}"
        url = make_pg_database(admin, name)
        request.addfinalizer(lambda: drop_pg_database(admin, name))
    migrate.upgrade(url)
    app = create_app({"ENV": "testing", "DATABASE_URL": url, "SECRET_KEY": "test-secret"},
                     instance_path=str(base / "instance"))
    key = bootstrap_admin(app)
    app.extensions["trace_db"].dispose()
    place = SimpleNamespace(database_url=url, instance=base / "instance")
    server = Server(place, base, workers=1, threads=1).start()
    yield SimpleNamespace(server=server, place=place, key=key, url=url, logs=base)
    server.stop()


def exchange(port: int, request: bytes, timeout: float = 20) -> tuple[int, dict, bytes]:
    """Send raw bytes; the response's status, headers and body (the server closes)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    if headers.get("transfer-encoding") == "chunked":
        body = _unchunk(body)
    return int(lines[0].split()[1]), headers, body


def _unchunk(data: bytes) -> bytes:
    out = b""
    while data:
        size, _, rest = data.partition(b"\r\n")
        n = int(size.split(b";")[0], 16)
        if n == 0:
            break
        out, data = out + rest[:n], rest[n + 2:]
    return out


def chunked_post(served, path: str, body: bytes, content_type="application/json") -> bytes:
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(part), part)
                      for part in (body[:10], body[10:]) if part)
    return (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {served.key}\r\n"
            f"Content-Type: {content_type}\r\nTransfer-Encoding: chunked\r\n"
            "Connection: close\r\n\r\n").encode() + chunks + b"0\r\n\r\n"


def party_count(url: str) -> int:
    engine = engine_for(url)
    try:
        with engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(Party.__table__)).scalar_one()
    finally:
        engine.dispose()


def server_log(served) -> str:
    return "".join(p.read_text(errors="replace") for p in served.logs.glob("server-*.log"))


def test_a_chunked_body_is_checked_like_any_other_and_a_nul_stores_nothing(served):
    port = served.server.port
    party = {"kind": "merchant", "name": "Chunked Shop", "credit_code": "91440300MA5G2R8K12"}
    status, _, body = exchange(port, chunked_post(served, "/api/v1/parties", json_bytes(party)))
    assert status == 201, body  # a chunked body is read: no Content-Length needed
    before = party_count(served.url)
    refused = {
        "nul_character": json_bytes(dict(party, name="Zhao Lei\u0000 13800000000")),
        "invalid_text": json_bytes(party).replace(b'"Chunked Shop"', LONE),
        "duplicate_key": json_bytes(party).replace(b'"kind"', b'"kind": "carrier", "kind"'),
        "validation_error": json_bytes(dict(party, verified="yes")),
    }
    for code, data in refused.items():
        status, headers, body = exchange(port, chunked_post(served, "/api/v1/parties", data))
        error = json.loads(body)["error"]
        assert (status, error["code"]) == (400 if code == "duplicate_key" else 422, code), body
        assert headers["content-type"] == "application/json"
    status, _, body = exchange(port, chunked_post(served, "/api/v1/parties", json_bytes(party),
                                                  content_type="text/plain"))
    assert (status, json.loads(body)["error"]["code"]) == (415, "unsupported_media_type")
    assert party_count(served.url) == before
    log = server_log(served)
    assert "Traceback" not in log and "Zhao Lei" not in log and "13800000000" not in log


GUNICORN_REJECTS = {
    "request line too long": (b"GET /api/v1/" + b"a" * 5000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
                              414, "uri_too_long"),
    "header too large": (b"GET /api/v1/log/public-key HTTP/1.1\r\nHost: x\r\nX-Big: "
                         + b"a" * 9000 + b"\r\n\r\n", 431, "headers_too_large"),
    "too many headers": (b"GET /api/v1/log/public-key HTTP/1.1\r\nHost: x\r\n"
                         + b"".join(b"X-%d: 1\r\n" % i for i in range(120)) + b"\r\n",
                         431, "headers_too_large"),
    "bad request line": (b"THIS IS NOT HTTP\r\n\r\n", 400, "bad_request"),
    "bad header name": (b"GET / HTTP/1.1\r\nHost: x\r\nBad Header: 1\r\n\r\n", 400,
                        "bad_request"),
}


@pytest.mark.parametrize("threads", [1, 2], ids=["sync", "gthread"])
def test_gunicorns_own_rejections_are_answered_in_the_json_envelope(served, tmp_path, threads):
    server = served.server
    if threads > 1:
        server = Server(served.place, tmp_path, workers=1, threads=threads).start()
    try:
        for name, (request, status, code) in GUNICORN_REJECTS.items():
            got, headers, body = exchange(server.port, request)
            assert got == status, (name, got, body[:200])
            assert headers["content-type"] == "application/json", (name, headers)
            error = json.loads(body)["error"]
            assert (error["status"], error["code"]) == (status, code), (name, error)
            assert error["message"], name
    finally:
        if server is not served.server:
            server.stop()


def test_a_chunked_body_with_a_broken_chunk_is_a_400_not_a_500(served):
    port = served.server.port
    request = (f"POST /api/v1/parties HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {served.key}"
               "\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
               "zz\r\n{}\r\n0\r\n\r\n").encode()
    status, headers, body = exchange(port, request)
    assert status == 400, (status, body[:300])
    assert json.loads(body)["error"]["status"] == 400
