"""Bad input is refused with the error envelope, never a 500, and never half-stored.

Every write rejection is checked against the database: the row count of every table is
the same before and after the refused request.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re

import pytest
from sqlalchemy import func, select

from tests.helpers import Caller, error_of, gtin13, sscc
from tests.world import MILK, build_world, drug_code
from trace_service.auth.permissions import GRANTS
from trace_service.http import PUBLIC
from trace_service.models import Base

MILK_LOT = f"01/0{MILK}/10/L1"
MiB = 1024 * 1024

_SAMPLES = {"int": "999999", "float": "1.5", "uuid": "00000000-0000-4000-8000-000000000000"}


def concrete_path(rule) -> str:
    """The rule's path with each variable filled by a value its converter accepts."""
    return re.sub(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>",
                  lambda m: _SAMPLES.get(m.group(1) or "", "nope"), rule.rule)


# --- helpers ---------------------------------------------------------------------------


def row_counts(app) -> dict[str, int]:
    sess = app.extensions["trace_db"].read_session()
    try:
        return {t.name: sess.scalar(select(func.count()).select_from(t))
                for t in Base.metadata.sorted_tables}
    finally:
        sess.close()


class NothingStored:
    """``with NothingStored(app): ...`` asserts no table gained or lost a row."""

    def __init__(self, app):
        self.app = app

    def __enter__(self):
        self.before = row_counts(self.app)
        return self

    def __exit__(self, *exc):
        if exc[0] is None:
            after = row_counts(self.app)
            changed = {t: (self.before[t], after[t]) for t in after if after[t] != self.before[t]}
            assert not changed, f"a refused request changed the database: {changed}"


def raw(client, caller: Caller, path: str, data: bytes | str, method: str = "POST",
        content_type: str = "application/json"):
    return client.open(path, method=method, data=data, headers={
        "Authorization": f"Bearer {caller.key}", "Content-Type": content_type})


def assert_envelope(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, (response.status_code, response.get_data()[:500])
    assert response.mimetype == "application/json"
    error = error_of(response)
    assert error["status"] == status
    assert isinstance(error["message"], str) and error["message"]
    if code is not None:
        assert error["code"] == code, error
    return error


def field_errors(response) -> dict:
    error = assert_envelope(response, 422, "validation_error")
    return error["details"]["fields"]


def has_path(fields: dict, path: str) -> bool:
    node = fields
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def order_body(world, order_no: str = "A-1", **overrides) -> dict:
    body = {
        "order_no": order_no,
        "buyer": {"external_ref": "buyer-1", "name": "Li Lei", "phone": "13800000000",
                  "address": "Hangzhou, Xihu"},
        "payment": {"channel": "alipay", "reference": f"pay-{order_no}"},
        "lines": [{"listing_id": world.ids["milk_listing"], "key": MILK_LOT, "quantity": 2}],
    }
    body.update(overrides)
    return body


def drug_order(world, order_no: str = "D-1", **overrides) -> dict:
    return order_body(world, order_no, lines=[{"listing_id": world.ids["drug_listing"],
                                               "key": f"drug/{drug_code(1)}"}], **overrides)


def callers(world) -> dict[str, Caller]:
    return {"admin": world.admin, "merchant": world.merchant, "carrier": world.carrier,
            "device": world.device, "inspector": world.inspector}


def write_routes(app) -> list[tuple[str, str, str]]:
    """(method, concrete path, permission) of every POST/PATCH route under /api/v1."""
    routes = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.endpoint.startswith("api-docs"):
            continue
        permission = getattr(app.view_functions[rule.endpoint], "__trace_permission__", None)
        for method in sorted(rule.methods & {"POST", "PATCH", "PUT"}):
            routes.append((method, concrete_path(rule), permission))
    return routes


def list_routes(app, client) -> list[tuple[str, str]]:
    """(path, permission) of every GET route the OpenAPI document pages with a cursor."""
    spec = client.get("/api/v1/openapi.json").get_json()
    out = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.arguments or "GET" not in rule.methods:
            continue
        operation = spec["paths"].get(rule.rule, {}).get("get", {})
        if any(p["in"] == "query" and p["name"] == "cursor"
               for p in operation.get("parameters", [])):
            out.append((rule.rule, app.view_functions[rule.endpoint].__trace_permission__))
    return out


def allowed_caller(world, permission: str) -> Caller:
    return next(c for role, c in callers(world).items()
                if permission == PUBLIC or permission in GRANTS[role])


def cursor_of(value) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


@pytest.fixture
def world(app, client):
    return build_world(app, client)


@pytest.fixture
def dispatched(world):
    """A milk order packed into a dispatched parcel; returns the parcel's SSCC."""
    order = world.merchant.ok("POST", "/api/v1/orders", order_body(world, "SHIP-1"))
    parcel = sscc(7)
    world.merchant.ok("POST", "/api/v1/parcels", {"order_id": order["id"], "parcel": parcel,
                                                  "carrier_id": world.ids["carrier"]})
    world.merchant.ok("POST", "/api/v1/dispatches", {"parcel": parcel}, status=200)
    return {"order": order, "parcel": parcel}


# --- malformed bodies ------------------------------------------------------------------

MALFORMED = {
    "unclosed": b'{"order_no": "A-1"',
    "trailing_comma": b'{"order_no": "A-1",}',
    "bare_word": b"{bad}",
    "single_quotes": b"{'order_no': 'A-1'}",
    "not_utf8": b'{"order_no": "\xff\xfe"}',
    "only_whitespace": b" \n ",
}


def test_malformed_json_is_a_400_malformed_json_and_stores_nothing(app, client, world):
    with NothingStored(app):
        for name, body in MALFORMED.items():
            response = raw(client, world.merchant, "/api/v1/orders", body)
            assert response.status_code == 400, (name, response.status_code)
            assert_envelope(response, 400, "malformed_json")


def test_a_json_value_that_is_not_an_object_is_a_422(app, client, world):
    with NothingStored(app):
        for body in ["[]", '"x"', "null", "42", "true", '[{"order_no": "A-1"}]']:
            fields = field_errors(raw(client, world.merchant, "/api/v1/orders", body))
            assert "_schema" in fields, (body, fields)


# --- schema violations -----------------------------------------------------------------

WRONG_TYPES = [
    # (role, path, body maker, the field path named in details.fields)
    ("merchant", "/api/v1/listings",
     lambda w: {"gtin": MILK, "title": "Milk", "price_cents": "sixty"}, "price_cents"),
    ("merchant", "/api/v1/orders", lambda w: order_body(w, order_no=12), "order_no"),
    ("merchant", "/api/v1/orders", lambda w: order_body(w, buyer=["Li Lei"]), "buyer"),
    ("merchant", "/api/v1/orders", lambda w: order_body(w, lines={"0": {}}), "lines"),
    ("merchant", "/api/v1/orders",
     lambda w: order_body(w, lines=[{"listing_id": w.ids["milk_listing"], "key": MILK_LOT,
                                     "quantity": "two"}]), "lines.0.quantity"),
    ("merchant", "/api/v1/orders", lambda w: order_body(w, payment="alipay"), "payment"),
    ("admin", "/api/v1/points",
     lambda w: {"name": "Depot", "city": "Hangzhou", "latitude": "north"}, "latitude"),
    ("admin", "/api/v1/parties",
     lambda w: {"kind": "merchant", "name": "X", "credit_code": 91350100, "verified": False},
     "credit_code"),
    ("admin", "/api/v1/parties",
     lambda w: {"kind": "merchant", "name": "X", "credit_code": "91350100M000100Y43",
                "verified": [True]}, "verified"),
    ("merchant", "/api/v1/units", lambda w: {"gtin": MILK, "serials": "S1"}, "serials"),
    ("admin", "/api/v1/parties/{foods}/licences",
     lambda w: {"kind": "food_business", "number": "JY2", "categories": "food",
                "valid_from": "2026-01-01", "valid_until": "2027-01-01"}, "categories"),
    ("admin", "/api/v1/parties/{foods}/licences",
     lambda w: {"kind": "food_business", "number": "JY2", "categories": ["food"],
                "valid_from": 20260101, "valid_until": "2027-01-01"}, "valid_from"),
]


def test_a_wrong_type_is_a_422_naming_the_field(app, world):
    with NothingStored(app):
        for role, path, make, field in WRONG_TYPES:
            response = callers(world)[role].post(path.format(**world.ids), make(world))
            fields = field_errors(response)
            assert has_path(fields, field), (path, field, fields)


def test_an_unknown_field_is_a_422_naming_it(app, world):
    cases = {
        "discount": lambda b: b.update(discount=5),
        "buyer.nickname": lambda b: b["buyer"].update(nickname="Lei"),
        "lines.0.colour": lambda b: b["lines"][0].update(colour="white"),
        "payment.fee": lambda b: b["payment"].update(fee=1),
    }
    with NothingStored(app):
        for path, add in cases.items():
            body = order_body(world)
            add(body)
            response = world.merchant.post("/api/v1/orders", body)
            assert has_path(field_errors(response), path), (path, response.get_json())
            assert path.rsplit(".", 1)[-1] in error_of(response)["message"]
        device = world.admin.post("/api/v1/devices", {
            "label": "d", "point_id": world.ids["points"][0], "carrier_id": world.ids["carrier"],
            "active": False})
        assert has_path(field_errors(device), "active")


def test_missing_required_fields_are_each_named(app, world):
    with NothingStored(app):
        empty = world.merchant.post("/api/v1/orders", {})
        nested = world.merchant.post("/api/v1/orders", order_body(
            world, payment={}, lines=[{}]))
        scan = world.device.post("/api/v1/scans", {})
    fields = field_errors(empty)
    assert {"order_no", "buyer", "payment", "lines"} <= set(fields), fields
    fields = field_errors(nested)
    for path in ("payment.channel", "payment.reference", "lines.0.listing_id", "lines.0.key"):
        assert has_path(fields, path), (path, fields)
    assert {"key", "step"} <= set(field_errors(scan))


OVER_LONG = [
    ("merchant", "/api/v1/orders", lambda w: order_body(w, order_no="N" * 65), "order_no"),
    ("merchant", "/api/v1/orders",
     lambda w: order_body(w, buyer={"name": "Li", "address": "A" * 501}), "buyer.address"),
    ("merchant", "/api/v1/orders",
     lambda w: order_body(w, lines=[{"listing_id": w.ids["milk_listing"],
                                     "key": "K" * 201}]), "lines.0.key"),
    ("merchant", "/api/v1/listings",
     lambda w: {"gtin": MILK, "title": "T" * 201, "price_cents": 1}, "title"),
    ("admin", "/api/v1/parties",
     lambda w: {"kind": "merchant", "name": "N" * 201, "credit_code": "91350100M000100Y43"},
     "name"),
    ("admin", "/api/v1/keys", lambda w: {"role": "inspector", "label": "L" * 101}, "label"),
    ("merchant", "/api/v1/orders", lambda w: order_body(w, order_no=""), "order_no"),
]


def test_an_over_long_or_empty_string_is_a_422_naming_the_field(app, world):
    with NothingStored(app):
        for role, path, make, field in OVER_LONG:
            response = callers(world)[role].post(path, make(world))
            assert has_path(field_errors(response), field), (path, field, response.get_json())


# --- size and media type ---------------------------------------------------------------


def test_a_body_over_1_mib_is_413_payload_too_large_and_stores_nothing(app, client, world):
    def body_of(size: int) -> bytes:
        payment = {"channel": "alipay", "reference": "pay-big"}
        skeleton = json.dumps(order_body(world, order_no="", payment=payment)).encode()
        return json.dumps(order_body(world, order_no="N" * (size - len(skeleton)),
                                     payment=payment)).encode()

    with NothingStored(app):
        big = body_of(MiB + 1)
        assert len(big) == MiB + 1
        assert_envelope(raw(client, world.merchant, "/api/v1/orders", big), 413,
                        "payload_too_large")
        # At the limit the body is parsed (and refused for what it says).
        limit = body_of(MiB)
        assert len(limit) == MiB
        assert has_path(field_errors(raw(client, world.merchant, "/api/v1/orders", limit)),
                        "order_no")


def test_a_post_that_is_not_json_is_415_and_stores_nothing(app, client, world):
    body = json.dumps(order_body(world))
    with NothingStored(app):
        for content_type in ("text/plain", "application/x-www-form-urlencoded",
                             "application/xml", "multipart/form-data; boundary=x"):
            response = raw(client, world.merchant, "/api/v1/orders", body,
                           content_type=content_type)
            assert response.status_code == 415, (content_type, response.status_code)
            assert_envelope(response, 415, "unsupported_media_type")


# --- cursors ---------------------------------------------------------------------------


def test_a_bad_cursor_is_a_422_bad_cursor_on_every_list(app, client, world):
    routes = list_routes(app, client)
    assert len(routes) >= 8
    for cursor in ("!!!", "abc", "not-a-cursor", "%%", "eyJ"):
        for path, permission in routes:
            params = {"cursor": cursor}
            if path.endswith("/trail"):
                params["key"] = MILK_LOT
            response = allowed_caller(world, permission).get(path, **params)
            error = assert_envelope(response, 422)
            assert error["code"] == "bad_cursor", (path, cursor, error)


def test_a_well_formed_cursor_of_the_wrong_type_is_a_422_bad_cursor(app, client, world):
    failures = []
    for value in ({"a": 1}, 10**30, 5, [1]):
        for path, permission in list_routes(app, client):
            params = {"cursor": cursor_of(value)}
            if path.endswith("/trail"):
                params["key"] = MILK_LOT
            response = allowed_caller(world, permission).get(path, **params)
            if response.status_code >= 500:
                failures.append((path, value, response.status_code))
    assert not failures, failures


# --- identifiers -----------------------------------------------------------------------


def _wrong_check_digit(code: str) -> str:
    return code[:-1] + str((int(code[-1]) + 1) % 10)


def test_a_bad_gtin_check_digit_is_a_422_naming_expected_and_found(app, world):
    good = gtin13("690111222333")
    bad = _wrong_check_digit(good)
    with NothingStored(app):
        response = world.merchant.post("/api/v1/products", {
            "gtin": bad, "name": "Yoghurt", "category": "food", "maker_id": world.ids["dairy"]})
        listing = world.merchant.post("/api/v1/listings", {
            "gtin": _wrong_check_digit(MILK), "title": "Milk", "price_cents": 1})
    error = assert_envelope(response, 422, "gtin_check_digit")
    assert error["details"]["expected"] == good[-1]
    assert error["details"]["found"] == bad[-1]
    assert error["details"]["field"] == "gtin"
    assert f"expected {good[-1]}" in error["message"] and bad[-1] in error["message"]
    assert assert_envelope(listing, 422, "gtin_check_digit")["details"]["expected"] == MILK[-1]


def test_a_bad_credit_code_is_a_422_and_no_party_is_made(app, world):
    with NothingStored(app):
        for code in ("91350100M000100Y44", "91350100M000100Y4", "9135010OM000100Y43",
                     "ABCDEFGHIJKLMNOPQR"):
            response = world.admin.post("/api/v1/parties", {
                "kind": "merchant", "name": "Shady", "credit_code": code})
            error = assert_envelope(response, 422)
            assert error["code"].startswith("credit_code"), (code, error)
            assert error["details"]["field"] == "credit_code"
            if code == "91350100M000100Y44":
                assert error["code"] == "credit_code_check"
                assert (error["details"]["expected"], error["details"]["found"]) == ("3", "4")


def test_a_bad_sscc_is_a_422_naming_the_check_digit_and_nothing_is_packed(app, world):
    order = world.merchant.ok("POST", "/api/v1/orders", order_body(world))
    good = sscc(42)
    bad = _wrong_check_digit(good)
    with NothingStored(app):
        response = world.merchant.post("/api/v1/parcels", {
            "order_id": order["id"], "parcel": bad, "carrier_id": world.ids["carrier"]})
        scan = world.device.post("/api/v1/scans", {"key": f"(00){bad}", "step": "arrive"})
    error = assert_envelope(response, 422, "sscc_check_digit")
    assert (error["details"]["expected"], error["details"]["found"]) == (good[-1], bad[-1])
    assert error["details"]["field"] == "parcel"
    assert assert_envelope(scan, 422, "sscc_check_digit")["details"]["expected"] == good[-1]
    assert world.merchant.ok("GET", f"/api/v1/orders/{order['id']}")["status"] == "placed"


# --- event times -----------------------------------------------------------------------


def test_a_naive_event_time_is_a_422_on_every_route_that_takes_one(app, world, dispatched):
    with NothingStored(app):
        for naive in ("2026-01-01T10:00:00", "2026-01-01 10:00", "2026-01-01"):
            attempts = [
                (world.pharmacy, "/api/v1/orders", drug_order(world, event_time=naive)),
                (world.merchant, "/api/v1/parcels", {"order_id": dispatched["order"]["id"],
                                                     "parcel": sscc(8), "event_time": naive,
                                                     "carrier_id": world.ids["carrier"]}),
                (world.merchant, "/api/v1/dispatches", {"parcel": dispatched["parcel"],
                                                        "event_time": naive}),
                (world.device, "/api/v1/scans", {"key": dispatched["parcel"], "step": "arrive",
                                                 "event_time": naive}),
                (world.device, "/api/v1/receipts", {"parcel": dispatched["parcel"],
                                                    "event_time": naive}),
            ]
            for caller, path, body in attempts:
                fields = field_errors(caller.post(path, body))
                assert "event_time" in fields, (path, naive, fields)


def test_a_far_future_event_time_is_a_422_and_the_change_is_rolled_back(app, world,
                                                                        dispatched):
    future = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=400)).isoformat()
    with NothingStored(app):
        sale = world.pharmacy.post("/api/v1/orders", drug_order(world, event_time=future))
        scan = world.device.post("/api/v1/scans", {"key": dispatched["parcel"],
                                                   "step": "arrive", "event_time": future})
        far = world.device.post("/api/v1/scans", {"key": dispatched["parcel"], "step": "arrive",
                                                  "event_time": "9999-12-31T23:59:59+14:00"})
    for response in (sale, scan, far):
        assert_envelope(response, 422, "event_time_in_future")
    # The unit was not left "sold" and the parcel not "in transit" by the refused requests.
    assert world.pharmacy.ok("POST", "/api/v1/orders", drug_order(world))["status"] == "placed"
    parcel = world.merchant.ok("GET", f"/api/v1/parcels/{dispatched['parcel']}")
    assert (parcel["state"], parcel["last_point_id"]) == ("dispatched", None)


# --- numbers and characters the database cannot hold ---------------------------------


def test_a_huge_lot_quantity_is_a_422_not_a_500(app, client, world):
    body = b'{"gtin": "%s", "lot": "BIG", "quantity": %d}' % (MILK.encode(), 10**30)
    with NothingStored(app):
        response = raw(client, world.merchant, "/api/v1/lots", body)
    assert has_path(field_errors(response), "quantity")


def test_a_fractional_price_is_refused_not_truncated(app, world):
    with NothingStored(app):
        response = world.merchant.post("/api/v1/listings", {"gtin": MILK, "title": "Milk",
                                                            "price_cents": 12.5})
    assert has_path(field_errors(response), "price_cents")


def test_nan_and_infinity_are_refused_as_numbers(app, client, world):
    with NothingStored(app):
        for literal in (b"NaN", b"Infinity", b"-Infinity"):
            point = raw(client, world.admin, "/api/v1/points",
                        b'{"name": "D", "city": "C", "latitude": %s}' % literal)
            assert has_path(field_errors(point), "latitude")
            price = raw(client, world.merchant, "/api/v1/listings",
                        b'{"gtin": "%s", "title": "M", "price_cents": %s}'
                        % (MILK.encode(), literal))
            assert has_path(field_errors(price), "price_cents")


def test_a_nul_character_in_text_is_refused_or_kept_never_a_500(app, world, request):
    before = row_counts(app)
    party = world.admin.post("/api/v1/parties", {"kind": "merchant", "name": "Nul\u0000Shop",
                                                 "credit_code": "91310115MA1K4QWX2J"})
    order = world.merchant.get("/api/v1/orders/%00x")
    assert party.status_code < 500 and order.status_code < 500, (party.status_code,
                                                                 order.status_code)
    error_of(order)
    if party.status_code >= 400:
        error_of(party)
        assert row_counts(app) == before


# --- no 500 anywhere ---------------------------------------------------------------------

GARBAGE = {
    "null": b"null",
    "empty_list": b"[]",
    "string": b'"x"',
    "nested_nulls": json.dumps({"a": {"b": [1, {"c": None}]}}).encode(),
    "huge_integers": b'{"quantity": %d, "price_cents": %d, "limit": %d}' % (10**30, 10**30,
                                                                           -10**30),
    "nan_infinity": b'{"price_cents": NaN, "latitude": Infinity, "longitude": -Infinity}',
    "empty_body": b"",
}


def _garbage_failures(app, client, world, bodies: dict) -> list:
    routes = write_routes(app)
    assert len(routes) >= 20
    failures = []
    with NothingStored(app):
        for name, body in bodies.items():
            for method, path, permission in routes:
                response = raw(client, allowed_caller(world, permission), path, body,
                               method=method)
                envelope = (response.get_json(silent=True) or {}).get("error")
                if response.status_code >= 500 or response.status_code < 400 or not envelope:
                    failures.append((name, method, path, response.status_code))
    return failures


def test_garbage_bodies_never_cause_a_500_on_any_write_route(app, client, world):
    assert not _garbage_failures(app, client, world, GARBAGE)


def test_a_deeply_nested_body_never_causes_a_500_on_any_write_route(app, client, world):
    deep = {"object": b'{"a":' * 2000 + b"1" + b"}" * 2000,
            "list": b"[" * 2000 + b"]" * 2000}
    assert not _garbage_failures(app, client, world, deep)


def test_a_body_of_invalid_utf8_never_causes_a_500_on_any_write_route(app, client, world):
    assert not _garbage_failures(app, client, world, {"invalid_utf8": b'{"name": "\xff\xfe"}'})


def test_an_integer_path_parameter_too_large_for_the_database_is_not_a_500(app, world):
    rules = [rule for rule in app.url_map.iter_rules()
             if rule.rule.startswith("/api/v1/") and re.search(r"<int(\(|:)", rule.rule)]
    if not rules:
        pytest.skip("no route takes an integer path parameter")
    failures = []
    for rule in rules:
        path = re.sub(r"<int(?:\([^)]*\))?:\w+>", str(10**30), rule.rule)
        path = re.sub(r"<[^>]+>", "nope", path)
        permission = app.view_functions[rule.endpoint].__trace_permission__
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            caller = allowed_caller(world, permission)
            response = caller.client.open(path, method=method,
                                          headers={"Authorization": f"Bearer {caller.key}"})
            if response.status_code >= 500:
                failures.append((method, path, response.status_code))
            else:
                error_of(response)
    assert not failures, failures


def test_money_the_schema_accepts_is_stored_on_both_databases_never_a_500(app, world,
                                                                         request):
    gold = world.merchant.post("/api/v1/listings", {"gtin": MILK, "title": "Gold milk",
                                                    "price_cents": 10**10})
    assert gold.status_code < 500, gold.get_json()
    bulk = world.merchant.ok("POST", "/api/v1/listings", {"gtin": MILK, "lot": "L1",
                                                          "title": "Bulk", "price_cents": 10**5})
    order = world.merchant.post("/api/v1/orders", order_body(world, "BULK-1", lines=[
        {"listing_id": bulk["id"], "key": MILK_LOT, "quantity": 10**5}]))
    assert order.status_code < 500, order.get_json()
    if order.status_code == 201:
        assert order.get_json()["total_cents"] == 10**10
